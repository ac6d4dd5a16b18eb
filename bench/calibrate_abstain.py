"""Calibrate the abstention threshold: best passage cosine for on- and off-topic dev questions.

    python bench/calibrate_abstain.py --index-dir INDEX [eval/dev-abstain.jsonl]

Prints each question's best raw cosine (hit.dense_score), then for same-language and
cross-language pairs (question vs best passage) the gap between the two groups and the
errors of every candidate threshold; AbstainPolicy in answer.py holds the chosen ones.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from govqa.config import Settings
from govqa.engine import Engine
from govqa.lang import detect_lang


def best_cosine(engine: Engine, question: str, k: int) -> tuple[float, str]:
    """The best raw cosine and whether question and that passage share a language ('same'/'cross')."""
    hits = [h for h in engine.search(question, k=k) if h.dense_score is not None]
    if not hits:
        return 0.0, "same"
    best = max(hits, key=lambda h: h.dense_score)
    return best.dense_score, "same" if best.lang == detect_lang(question) else "cross"


def report(scored: list[tuple[float, bool, str]], label: str) -> None:
    on = [s for s, t, _ in scored if t]
    off = [s for s, t, _ in scored if not t]
    if not on or not off:
        return
    print(f"\n== {label}-language pairs")
    print(f"on-topic  n={len(on)} min={min(on):.4f} mean={sum(on) / len(on):.4f}")
    print(f"off-topic n={len(off)} max={max(off):.4f} mean={sum(off) / len(off):.4f}")
    print(f"gap: {min(on) - max(off):+.4f} (midpoint {(min(on) + max(off)) / 2:.4f})")
    for threshold in [round(0.78 + 0.01 * i, 3) for i in range(13)]:
        false_abstain = sum(s < threshold for s in on)
        false_answer = sum(s >= threshold for s in off)
        print(f"threshold {threshold:.3f}: abstains on {false_abstain}/{len(on)} on-topic, "
              f"answers {false_answer}/{len(off)} off-topic")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("questions", nargs="?", default="eval/dev-abstain.jsonl")
    parser.add_argument("--index-dir", type=Path, default=Path("index"))
    parser.add_argument("-k", type=int, default=8)
    args = parser.parse_args()
    engine = Engine.open(Settings(index_dir=args.index_dir))
    rows = [json.loads(line) for line in Path(args.questions).read_text().splitlines() if line.strip()]
    scored = [(*best_cosine(engine, r["question"], args.k), r["on_topic"], r["question"]) for r in rows]
    for score, pair, on_topic, question in sorted(scored):
        print(f"{score:.4f}  {pair:5}  {'on ' if on_topic else 'off'}  {question}")
    for pair in ("same", "cross"):
        report([(s, t, q) for s, p, t, q in scored if p == pair], pair)

if __name__ == "__main__":
    main()
