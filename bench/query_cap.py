"""Retrieval quality when only a query's first N tokens are embedded (embed.QUERY_TOKENS), and what it saves.

    python bench/query_cap.py --set eval/mhlw.jsonl=INDEX --set eval/mhlw-guideline.jsonl=INDEX \
        --set ../shared/samples/allganize-dev/questions.jsonl=ALLGANIZE_INDEX [--caps 16,24,32,48,64] [--modes hybrid,dense]

A cap changes only the questions it cuts, so each question is searched once per distinct
(question, embedded start) pair: the uncut baseline once, then again only where a cap cuts it.
BM25 always reads the whole question. Also prints what one query embedding costs at several
lengths (median of --repeat runs of a 2,000-character Japanese text cut to N tokens).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from govqa import evaluate as ev  # noqa: E402
from govqa.config import Settings  # noqa: E402
from govqa.engine import Engine  # noqa: E402

METRICS = ("hit@1", "hit@5", "hit@10", "mrr@10")


def run_set(questions_path: Path, index_dir: Path, caps: list[int], modes: list[str]) -> list[dict]:
    engine = Engine.open(Settings(index_dir=index_dir, memo_vectors=0, query_tokens=0))
    nano = engine.embedder.inner
    questions = ev.load_questions(questions_path)
    tokens = [nano._model.token_count(q.question, True) for q in questions]
    done: dict[tuple[str, str, str], list] = {}

    def search(query: str, depth: int, mode: str):
        head = nano.query_head(query)
        key = (query, head, mode)
        if key not in done:
            done[key] = engine.search(query, k=depth, mode=mode)
        return done[key]

    rows = []
    for mode in modes:
        for cap in [0, *caps]:
            nano.query_tokens = cap
            metrics = ev.run_mode(search, questions, mode).metrics()
            cut = sum(t > cap for t in tokens) if cap else 0
            rows.append({"set": questions_path.name, "mode": mode, "cap": cap or "none", "cut": cut,
                         **{m: round(metrics[m], 3) for m in METRICS}})
    print(f"{questions_path.name}: {len(questions)} questions, tokens max {max(tokens)}, "
          f"median {statistics.median(tokens)}", flush=True)
    return rows


def embedding_cost(index_dir: Path, lengths: list[int], repeat: int) -> list[tuple[int, float]]:
    engine = Engine.open(Settings(index_dir=index_dir, memo_vectors=0))
    nano = engine.embedder.inner
    text = "".join(q.question for q in ev.load_questions(Path("eval/mhlw.jsonl")))[:2000]
    costs = []
    for n in lengths:
        nano.query_tokens = n
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            nano.embed_query(text)
            times.append((time.perf_counter() - started) * 1000)
        costs.append((n, statistics.median(times)))
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", required=True, help="QUESTIONS.jsonl=INDEX_DIR")
    parser.add_argument("--caps", default="16,24,32,48,64")
    parser.add_argument("--modes", default="hybrid,dense")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    caps = [int(c) for c in args.caps.split(",")]
    rows = []
    for spec in args.set:
        questions, index_dir = spec.split("=", 1)
        rows += run_set(Path(questions), Path(index_dir), caps, args.modes.split(","))
    print("| set | mode | cap (tokens) | questions cut | " + " | ".join(METRICS) + " |")
    print("|---|---|---|---|" + "---|" * len(METRICS))
    for row in rows:
        print(f"| {row['set']} | {row['mode']} | {row['cap']} | {row['cut']} | "
              + " | ".join(f"{row[m]:.3f}" for m in METRICS) + " |")
    first_index = Path(args.set[0].split("=", 1)[1])
    print("\n| tokens embedded | ms per query embedding (median) |\n|---|---|")
    for n, ms in embedding_cost(first_index, [32, 64, 128, 256, 512, 0], args.repeat):
        print(f"| {n or 'all (1,175)'} | {ms:.0f} |")


if __name__ == "__main__":
    main()
