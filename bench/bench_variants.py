"""Per-query latency of retrieval variants, interleaved so that machine load hits all alike.

    python bench/bench_variants.py --index-dir /tmp/eval-index --modes hybrid-v1,hybrid [--rounds 3]
        [--lexicon lexicon-en-ja.tsv] [--questions eval/mhlw.jsonl,eval/mhlw-guideline.jsonl]
    python bench/bench_variants.py --index-dir OLD_INDEX --against-index NEW_INDEX --modes hybrid

With --against-index, every mode is also run on a second index (an index-time variant: the
same corpus chunked or indexed another way), and ratios are to the first index's first mode.

Every question is asked in every mode in turn (the order alternating), --rounds times; for
each question the median over rounds is taken. Printed per language: p50/p95 of those
medians, and the median and 90th percentile over questions of the ratio to the first mode
(the "no query slower by more than 20%" check: one ratio per question, not a ratio of means).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "src"), str(Path(__file__).resolve().parents[1])]

import bench.variants  # noqa: E402,F401  (registers the research variants)
from govqa import evaluate as ev
from govqa.config import Settings
from govqa.engine import Engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--modes", default="hybrid-v1,hybrid")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lexicon", type=Path)
    parser.add_argument("--questions", default="eval/mhlw.jsonl,eval/mhlw-guideline.jsonl")
    parser.add_argument("--against-index", type=Path, help="a second index to run every mode on")
    args = parser.parse_args()
    engines = {"": Engine.open(Settings(index_dir=args.index_dir, lexicon=args.lexicon, memo_vectors=0))}  # cold queries
    if args.against_index:
        engines = {"a:": engines[""], "b:": Engine.open(Settings(index_dir=args.against_index, lexicon=args.lexicon,
                                                                 memo_vectors=0))}
    runs = {f"{label}{mode}": (engine, mode) for label, engine in engines.items() for mode in args.modes.split(",")}
    modes = list(runs)
    questions = [q for path in args.questions.split(",") for q in ev.load_questions(Path(path))]
    for engine, mode in runs.values():
        engine.search("warm-up 準備", k=10, mode=mode)
    times: dict[str, list[list[float]]] = {m: [[] for _ in questions] for m in modes}
    for round_ in range(args.rounds):
        for i, question in enumerate(questions):
            for name in modes if (i + round_) % 2 == 0 else modes[::-1]:
                engine, mode = runs[name]
                started = time.perf_counter()
                engine.search(question.question, k=10, mode=mode)
                times[name][i].append((time.perf_counter() - started) * 1000)
    base = modes[0]
    for mode in modes:
        for lang in ("ja", "en"):
            chosen = [i for i, q in enumerate(questions) if q.lang == lang]
            medians = sorted(statistics.median(times[mode][i]) for i in chosen)
            ratios = sorted(statistics.median(times[mode][i]) / statistics.median(times[base][i]) for i in chosen)
            print(f"{mode:18s} {lang}  p50 {statistics.median(medians):6.1f} ms  p95 {medians[int(0.95 * (len(medians) - 1))]:6.1f} ms"
                  f"  ratio to {base}: median {statistics.median(ratios):.2f}, p90 {ratios[int(0.9 * (len(ratios) - 1))]:.2f}")


if __name__ == "__main__":
    main()
