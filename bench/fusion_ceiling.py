"""How far can re-weighting hybrid's own signals go? The in-sample ceiling of the linear fusion.

    python bench/fusion_ceiling.py --mhlw-index IDX --allganize-index IDX2

The same four normalised scores as bench/learn_fusion.py (dense cosine, passage BM25, page BM25,
document BM25; Japanese questions, confident ones on allganize-dev), and a grid of weights searched
*on the set it is scored on*: the best any fixed weighting of these signals can do there, an upper
bound no honest fit reaches. Printed per set: the hand-set weights' MRR@10 and hit@1, the grid's best
(and its weights), and the share of questions that some weighting of the grid puts at rank 1 (the
bound of a perfect per-question choice of weights). When even the in-sample best is far from a
target, re-weighting is not the lever: a new signal is.

With --proximity, a fifth signal joins the grid: each candidate page's term proximity
(search/proximity.py, the question's words by IDF in windows of 80 characters), so the ceiling with
the signal kept at stop 17 can be set beside the ceiling without it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO), str(REPO / "bench")]

from learn_fusion import HAND, features, question_sets, set_arguments  # noqa: E402

from govqa.engine import Engine  # noqa: E402

GRID = {"passage": (0.0, 0.25, 0.5, 1.0, 1.5, 2.0), "page": (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0),
        "document": (0.0, 0.1, 0.25, 0.5, 1.0)}
PROXIMITY = (0.0, 0.25, 0.5, 1.0, 1.5)


def with_proximity(engine: Engine, question: str, pages: list[tuple[str, int]], x: np.ndarray) -> np.ndarray:
    """The four signals and each candidate page's term proximity as a fifth column."""
    from govqa.search.proximity import Proximity, word_weights
    from govqa.search.querywords import content_words

    reader = engine.reader
    near = Proximity(word_weights(content_words(reader.tokenizer(question)), reader.lexical.idf), 80)
    texts = reader.page_texts(sorted(set(pages)))
    share = {page: near(texts.get(page, "")) for page in set(pages)}
    return np.column_stack([x, [share[page] for page in pages]])


def ranks(data: list, weights: np.ndarray) -> list[int | None]:
    """The gold page's rank (1-based, within 10) for each question under these weights."""
    found = []
    for pages, x, gold in data:
        best: dict = {}
        for page, score in zip(pages, x @ weights):
            best[page] = max(best.get(page, -1e9), score)
        ranked = sorted(best, key=lambda p: -best[p])[:10]
        found.append(next((i + 1 for i, p in enumerate(ranked) if p in gold), None))
    return found


def summary(found: list[int | None]) -> tuple[float, float]:
    """(hit@1, MRR@10)."""
    return (sum(r == 1 for r in found) / len(found), sum(1.0 / r for r in found if r) / len(found))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    set_arguments(parser)
    parser.add_argument("--proximity", action="store_true", help="add term proximity as a fifth signal")
    args = parser.parse_args()
    axes = [*GRID.values(), PROXIMITY] if args.proximity else list(GRID.values())
    grid = [np.array([1.0, *w]) for w in itertools.product(*axes)]
    hand = np.append(HAND, 0.0) if args.proximity else HAND
    for name, (engine, questions) in question_sets(args).items():
        data = []
        for q in questions:
            pages, x = features(engine, q.question)
            x = with_proximity(engine, q.question, pages, x) if args.proximity else x
            data.append((pages, x, {(g.doc_id, g.page) for g in q.relevant}))
        runs = [(weights, ranks(data, weights)) for weights in grid]
        best_weights, best = max(runs, key=lambda run: summary(run[1])[1])
        any_first = sum(any(found[i] == 1 for _, found in runs) for i in range(len(data))) / len(data)
        hand_found = summary(ranks(data, hand))
        print(name, json.dumps({"questions": len(data), "hand_hit1_mrr": [round(v, 3) for v in hand_found],
                                "best_in_sample_hit1_mrr": [round(v, 3) for v in summary(best)],
                                "best_weights": [float(w) for w in best_weights],
                                "some_weighting_first": round(any_first, 3)}), flush=True)


if __name__ == "__main__":
    main()
