"""A learnt fusion, measured honestly: logistic regression over hybrid's four normalised scores,
trained on two question sets and tested on the third (every split), against the hand-set weights.

    python bench/learn_fusion.py --mhlw-index IDX --allganize-index IDX2

Per candidate passage the features are those `fusion.fuse` adds up (Japanese questions only, so
the bridges of English questions stay out): the dense cosine min-max normalised over the candidates,
the passage's BM25, its page's BM25 and its document's BM25, each divided by the best. A page's
score is its best passage's; the label is whether the page is gold. Printed: MRR@10 on the held-out
set for the hand-set weights (1, 1, 0.5, 0.25) and for the learnt ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from govqa.config import Settings  # noqa: E402
from govqa.engine import Engine  # noqa: E402
from govqa.evaluate import load_questions  # noqa: E402
from govqa.lang import detect_lang  # noqa: E402
from govqa.pagelex import doc_evidence, page_evidence  # noqa: E402
from govqa.search.candidates import dense_candidates, lexical_candidates  # noqa: E402
from govqa.search.fusion import FusionConfig  # noqa: E402

HAND = np.array([1.0, 1.0, 0.5, 0.25])


def features(engine: Engine, question: str) -> tuple[list[tuple[str, int]], np.ndarray]:
    """(page of each candidate passage, its four normalised scores)."""
    reader, config = engine.reader, FusionConfig()
    tokens = reader.tokenizer(question)
    dense = dense_candidates(reader, engine.embedder.embed_query(question), config.candidates)
    lexical = lexical_candidates(reader, question, detect_lang(question), config.candidates, tokens=tokens)
    pool = {r for r, _ in dense} | {r for r, _ in lexical}
    pages = page_evidence(reader.page_lexical, tokens, config.page_candidates, pool)
    docs = doc_evidence(reader.page_lexical, tokens, pool)
    rows = sorted(pool | {r for r, _ in pages})
    x = np.zeros((len(rows), 4))
    index = {r: i for i, r in enumerate(rows)}
    scores = [s for _, s in dense]
    low, span = min(scores), (max(scores) - min(scores)) or 1.0
    for r, s in dense:
        x[index[r], 0] = (s - low) / span
    for column, found in ((1, lexical), (2, pages), (3, docs)):
        top = max((s for _, s in found), default=1.0) or 1.0
        for r, s in found:
            x[index[r], column] = s / top
    chunks = reader.chunks(rows)
    return [(chunks[r].doc_id, chunks[r].page) for r in rows], x


def mrr(data: list, weights: np.ndarray) -> float:
    total = 0.0
    for pages, x, gold in data:
        best: dict = {}
        for page, score in zip(pages, x @ weights):
            best[page] = max(best.get(page, -1e9), score)
        ranked = sorted(best, key=lambda p: -best[p])[:10]
        total += next((1.0 / (i + 1) for i, p in enumerate(ranked) if p in gold), 0.0)
    return total / len(data)


def pairwise_weights(train: list, negatives: int = 20) -> np.ndarray:
    """Weights that order a gold page's best passage above the best passages of the `negatives`
    best other pages (by the hand-set weights): logistic regression on score differences."""
    from sklearn.linear_model import LogisticRegression

    diffs = []
    for pages, x, gold in train:
        best: dict = {}
        for i, (page, score) in enumerate(zip(pages, x @ HAND)):
            if page not in best or score > best[page][0]:
                best[page] = (score, i)
        good = [i for page, (_, i) in best.items() if page in gold]
        bad = [i for page, (_, i) in sorted(best.items(), key=lambda kv: -kv[1][0]) if page not in gold][:negatives]
        diffs += [x[g] - x[b] for g in good for b in bad]
    diffs = np.array(diffs)
    xs, ys = np.vstack([diffs, -diffs]), np.concatenate([np.ones(len(diffs)), np.zeros(len(diffs))])
    return LogisticRegression(fit_intercept=False, max_iter=1000).fit(xs, ys).coef_[0]


def set_arguments(parser: argparse.ArgumentParser) -> None:
    """The indexes and question files of the three sets (mhlw, guideline, allganize-dev)."""
    parser.add_argument("--mhlw-index", type=Path, required=True)
    parser.add_argument("--allganize-index", type=Path, required=True)
    parser.add_argument("--allganize", type=Path,
                        default=REPO.parent / "shared" / "samples" / "allganize-dev" / "questions.jsonl")


def question_sets(args: argparse.Namespace) -> dict[str, tuple[Engine, list]]:
    """Each set's engine and its Japanese questions with gold pages (allganize-dev: the confident ones)."""
    mhlw, allganize = (Engine.open(Settings(index_dir=i)) for i in (args.mhlw_index, args.allganize_index))
    paths = {"mhlw": (mhlw, REPO / "eval" / "mhlw.jsonl"), "guideline": (mhlw, REPO / "eval" / "mhlw-guideline.jsonl"),
             "allganize": (allganize, args.allganize)}
    return {name: (engine, [q for q in load_questions(path)
                            if q.lang == "ja" and q.relevant and q.fields.get("confident") is not False])
            for name, (engine, path) in paths.items()}


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    set_arguments(parser)
    sets = question_sets(parser.parse_args())
    data = {}
    for name, (engine, questions) in sets.items():
        data[name] = []
        for q in questions:
            pages, x = features(engine, q.question)
            data[name].append((pages, x, {(g.doc_id, g.page) for g in q.relevant}))
    result = {}
    for test in sets:
        train = [item for name in sets if name != test for item in data[name]]
        xs = np.vstack([x for _, x, _ in train])
        ys = np.concatenate([[p in gold for p in pages] for pages, _, gold in train])
        model = LogisticRegression(class_weight="balanced", max_iter=1000).fit(xs, ys)
        learnt = model.coef_[0]
        pairwise = pairwise_weights(train)
        result[test] = {"hand": round(mrr(data[test], HAND), 4), "learnt": round(mrr(data[test], learnt), 4),
                        "weights": [round(float(w), 3) for w in learnt],
                        "pairwise": round(mrr(data[test], pairwise), 4),
                        "pairwise_weights": [round(float(w), 3) for w in pairwise / pairwise[0]]}
        print(test, json.dumps(result[test]), flush=True)


if __name__ == "__main__":
    main()
