"""BM25 arrays loaded into memory against memory-mapped: open time, scoring latency, resident memory.

    python bench/bench_bm25_mmap.py --index-dir /tmp/govqa-bench-query/synth-1m

Each mode runs in a fresh child process (so the peak RSS is its own), loading the `lexical`
folder of the index's current generation with bm25s, then scoring the 40 questions of
bench_query (those with a token in the vocabulary) three times with `get_scores` on govqa's tokens.
Memory at the end: private (RssAnon) is what each worker pays for itself, file-backed (RssFile)
is shared with the page cache and every other process mapping the same files. govqa loads with mmap=True
(lexical.LexicalIndex.load): several server workers then share one copy of the arrays.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, pct, print_table, run_child, write_results  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def child(folder: str, mmap: bool) -> dict:
    sys.path.insert(0, str(REPO / "src"))
    import bm25s

    from bench_query import questions
    from govqa.lexical import Tokenizer

    started = time.perf_counter()
    bm25 = bm25s.BM25.load(folder, mmap=mmap)
    open_s = time.perf_counter() - started
    rss_open = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tokenizer, vocab = Tokenizer(), bm25.vocab_dict
    queries = [[t for t in tokenizer(q) if t in vocab] for q in questions(40)]
    queries = [tokens for tokens in queries if tokens]  # bm25s cannot score an empty query
    times = []
    for _ in range(3):
        for tokens in queries:
            started = time.perf_counter()
            bm25.get_scores(tokens)
            times.append((time.perf_counter() - started) * 1000)
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    kb = lambda key: int(status[key].split()[0]) / 1024  # noqa: E731
    return {"mmap": mmap, "open_s": open_s, "rss_anon_mb": kb("RssAnon"), "rss_file_mb": kb("RssFile"), "rss_after_open_mb": rss_open,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "get_scores_p50_ms": pct(times, 50), "get_scores_p95_ms": pct(times, 95),
            "queries": len(queries), "n": len(times)}


def lexical_folder(index_dir: Path) -> Path:
    generation = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    return index_dir / generation / "lexical"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--child", choices=["load", "mmap"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = lexical_folder(args.index_dir)
    if args.child:
        print(json.dumps(child(str(folder), args.child == "mmap")))
        return
    results: dict = {"machine_before": machine(), "folder": str(folder), "runs": []}
    for mode in ("load", "mmap", "load", "mmap"):  # alternated, so a change of load hits both
        results["runs"].append(run_child([__file__, "--index-dir", str(args.index_dir), "--child", mode]))
    results["machine_after"] = machine()
    path = write_results("bm25-mmap", results)
    columns = ["mode", "open s", "RSS after open MB", "peak RSS MB", "private (anon) MB", "file-backed MB",
               "get_scores p50 ms", "p95 ms"]
    rows = [["mmap" if r["mmap"] else "load", r["open_s"], r["rss_after_open_mb"], r["peak_rss_mb"],
             r["rss_anon_mb"], r["rss_file_mb"],
             r["get_scores_p50_ms"], r["get_scores_p95_ms"]] for r in results["runs"]]
    print_table(f"BM25 {folder} (load avg {results['machine_before']['load_avg_1_5_15']})", columns, rows)
    print(path)


if __name__ == "__main__":
    main()
