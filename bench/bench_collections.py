"""Search latency with and without a collection filter, on one index (relabelled into collections here).

The index's documents are spread round-robin over --collections collections (c0, c1, …) and
one document goes to a collection of its own (`tiny`), in a new generation whose files are
hard links (catalog.py: nothing re-embedded). Then each question is searched once per variant,
the variants interleaved question by question so that a busy machine slows them alike:

    all        no filter (every collection: the baseline)
    half       half of the collections
    one        one collection (1/N of the chunks)
    tiny       the one-document collection (the IVF search falls back to probing every list)
    one-post   for comparison, what govqa does not do: search everything, then drop other collections' hits

Query vectors are remembered after a first warm-up pass, so the times are retrieval only
(FAISS with an ID selector, BM25 with a row mask, fusion, SQLite reads), not the embedder.
Also reported: how often a filtered search returned k hits (it must, when k exist).

    python bench/synth.py --chunks 10000 --out /tmp/synth-10k
    python bench/bench_collections.py --index-dir /tmp/synth-10k --questions QUESTIONS.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from govqa import catalog
from govqa.config import Settings
from govqa.engine import Engine
from govqa.store import current_generation


def relabel(index_dir: Path, n: int) -> dict[str, int]:
    """Spread documents over c0..c{n-1} (and one into `tiny`); returns documents per collection."""
    manifest = catalog._manifest(index_dir)
    counts: dict[str, int] = {}
    for i, doc in enumerate(sorted(manifest.documents, key=lambda d: d.doc_id)):
        doc.collection = "tiny" if i == len(manifest.documents) - 1 else f"c{i % n}"
        counts[doc.collection] = counts.get(doc.collection, 0) + 1
    with catalog.build_lock(index_dir):
        catalog._publish_relabelled(index_dir, manifest)
    return counts


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True, help="JSONL with a 'question' per line")
    parser.add_argument("--collections", type=int, default=10)
    parser.add_argument("--limit", type=int, default=100, help="questions used")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--mode", default="hybrid")
    args = parser.parse_args()

    counts = relabel(args.index_dir, args.collections)
    engine = Engine.open(Settings(index_dir=args.index_dir))
    engine.warm()
    names = sorted(c for c in counts if c != "tiny")
    variants = {"all": None, "half": names[: len(names) // 2], "one": names[:1], "tiny": ["tiny"]}
    rows = {name: engine.reader.row_filter(None if v is None else frozenset(v)) for name, v in variants.items()}
    questions = [json.loads(line)["question"] for line in args.questions.read_text(encoding="utf-8").splitlines()
                 if line.strip()][: args.limit]
    for question in questions:  # warm-up: query vectors remembered, row filters built
        for chosen in variants.values():
            engine.search(question, k=args.k, mode=args.mode, collections=chosen)
    times: dict[str, list[float]] = {name: [] for name in variants}
    full: dict[str, int] = {name: 0 for name in variants}
    for question in questions:
        for name, chosen in variants.items():
            started = time.perf_counter()
            hits = engine.search(question, k=args.k, mode=args.mode, collections=chosen)
            times[name].append((time.perf_counter() - started) * 1000)
            available = engine.reader.size if rows[name] is None else rows[name].count
            full[name] += len(hits) == args.k or len(hits) >= available
            if chosen is not None:
                assert all(engine.document(h.doc_id).collection in chosen for h in hits)
    times["one-post"], full["one-post"] = [], 0
    for question in questions:
        started = time.perf_counter()
        hits = [h for h in engine.search(question, k=args.k, mode=args.mode)
                if engine.document(h.doc_id).collection in variants["one"]]
        times["one-post"].append((time.perf_counter() - started) * 1000)
        full["one-post"] += len(hits) == args.k
    rows["one-post"] = rows["one"]
    base = statistics.median(times["all"])
    result = {"index": str(current_generation(args.index_dir)), "chunks": engine.reader.size,
              "vector_index": type(engine.reader.vectors.index).__name__, "questions": len(questions),
              "mode": args.mode, "k": args.k, "variants": {}}
    for name in times:
        result["variants"][name] = {
            "chunks": engine.reader.size if rows[name] is None else rows[name].count,
            "p50_ms": round(statistics.median(times[name]), 2), "p95_ms": round(percentile(times[name], 0.95), 2),
            "vs_all": round(statistics.median(times[name]) / base, 3),
            "k_hits": f"{full[name]}/{len(questions)}"}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
