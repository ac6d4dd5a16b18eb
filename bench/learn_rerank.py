"""A learnt re-ranker of hybrid's 10 best pages, measured honestly: trained on two sets, tested on the third.

    python bench/learn_rerank.py --mhlw-index IDX --allganize-index IDX2 [--windows] [--features a,b,c]

For each Japanese question with gold pages (allganize-dev: the confident ones), `Engine.search` (hybrid,
k 10) gives 10 pages; each page gets the features below. A pairwise logistic regression (each gold page
against each other page of the same question) is fitted on two sets and scores the third. Printed per
held-out set: MRR@10 / hit@1 of hybrid's own order and of the learnt one, and the learnt weights relative
to the fused score's. docs/retrieval.md ("Stop 18") has the numbers: at most +0.008 MRR, on one set.

Features of a page: its fused score (over the first page's) and 1/rank; term proximity (proximity.py);
the share of the question's words (IDF-weighted) the page holds anywhere (`cover`) and in its first 60
characters (`head`); their occurrences per 100 characters (`occ`); page 1 or 2 (`early`) and its position
in its document (`relpos`); a table-of-contents look (leader dots, 目次); log length; digit share; gives
the unit the question asks for (`unit`); next to the first page in the same document (`adjacent`); its
passage's cosine below the best (`dense`); the share of the 10 pages from its document (`docmass`).
`--windows` adds the best cosine of a ~120-character window of the page (`win`; ~200 embeddings a
question, a few minutes in all).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import unicodedata
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO), str(REPO / "bench")]

from learn_fusion import question_sets, set_arguments  # noqa: E402

from govqa.answerfocus import asked_unit, gives_unit  # noqa: E402
from govqa.search.proximity import Proximity, word_weights  # noqa: E402
from govqa.search.querywords import content_words  # noqa: E402

FEATURES = ("fused", "rank", "prox", "cover", "head", "occ", "early", "relpos", "toc", "loglen", "digits", "unit",
            "adjacent", "dense", "docmass")
_LEADER = re.compile(r"(…|‥|\.{3,}|・{3,}|･{3,}|─{3,})")
_DIGIT = re.compile(r"[0-9]")


def page_features(engine, question: str, windows: bool) -> list[tuple[tuple[str, int], dict[str, float]]]:
    """((doc_id, page), features) of hybrid's 10 best pages, best first."""
    reader = engine.reader
    hits = engine.search(question, k=10, mode="hybrid")
    if not hits:
        return []
    weights = word_weights(content_words(reader.tokenizer(question)), reader.lexical.idf)
    total, near = sum(weights.values()) or 1.0, Proximity(weights, 80)
    texts = reader.page_texts([(h.doc_id, h.page) for h in hits])
    unit, first = asked_unit(question), hits[0]
    best_cosine = max(h.dense_score or 0.0 for h in hits)
    docs = [h.doc_id for h in hits]
    query = engine.embedder.embed_query(question) if windows else None
    found = []
    for i, hit in enumerate(hits):
        text = texts.get((hit.doc_id, hit.page)) or hit.text
        plain = unicodedata.normalize("NFKC", text).lower()
        size = max(len(plain), 1)
        features = {
            "fused": hit.score / first.score if first.score else 0.0,
            "rank": 1.0 / (i + 1),
            "prox": near(text),
            "cover": sum(w for word, w in weights.items() if word in plain) / total,
            "head": sum(w for word, w in weights.items() if word in plain[:60]) / total,
            "occ": 100.0 * sum(plain.count(word) for word in weights) / size,
            "early": float(hit.page <= 2),
            "relpos": hit.page / max(reader.documents[hit.doc_id].pages, 1),
            "toc": min(len(_LEADER.findall(text)), 10) / 10 + float("目次" in plain[:200]),
            "loglen": math.log(size),
            "digits": len(_DIGIT.findall(plain)) / size,
            "unit": float(bool(unit) and gives_unit(unit, text)),
            "adjacent": float(i > 0 and hit.doc_id == first.doc_id and abs(hit.page - first.page) == 1),
            "dense": (hit.dense_score or 0.0) - best_cosine,
            "docmass": docs.count(hit.doc_id) / len(docs),
        }
        if query is not None:
            features["win"] = float((engine.embedder.embed_passages(windows_of(text)) @ query).max())
        found.append(((hit.doc_id, hit.page), features))
    if query is not None:
        top = max(f["win"] for _, f in found)
        for _, f in found:
            f["win"] -= top
    return found


def windows_of(text: str, size: int = 120) -> list[str]:
    """The page in pieces of about `size` characters, cut after 。 or a line break where it can be."""
    pieces, current = [], ""
    for part in (p for p in re.split(r"(?<=[。\n])", text) if p.strip()):
        if current and len(current) + len(part) > size:
            pieces.append(current)
            current = ""
        current += part
        while len(current) > 2 * size:
            pieces.append(current[:size])
            current = current[size:]
    return [*pieces, current] if current.strip() else pieces or [text[:size] or " "]


def matrix(pages, names: list[str]) -> np.ndarray:
    return np.array([[features[name] for name in names] for _, features in pages])


def scores(items, weights: np.ndarray, names: list[str]) -> tuple[float, float]:
    """MRR@10 and hit@1 of the pages ordered by these weights."""
    reciprocal = first = 0.0
    for pages, gold in items:
        if not pages:
            continue
        order = np.argsort(-(matrix(pages, names) @ weights), kind="stable")
        rank = next((i + 1 for i, j in enumerate(order) if pages[j][0] in gold), None)
        reciprocal += 1.0 / rank if rank else 0.0
        first += rank == 1
    return reciprocal / len(items), first / len(items)


def fit(items, names: list[str]) -> np.ndarray:
    """Pairwise logistic regression: each gold page's features minus each other page's, of the same question."""
    from sklearn.linear_model import LogisticRegression

    differences = []
    for pages, gold in items:
        x = matrix(pages, names) if pages else None
        good = [i for i, (key, _) in enumerate(pages) if key in gold]
        bad = [i for i, (key, _) in enumerate(pages) if key not in gold]
        differences += [x[g] - x[b] for g in good for b in bad]
    d = np.array(differences)
    xs, ys = np.vstack([d, -d]), np.concatenate([np.ones(len(d)), np.zeros(len(d))])
    return LogisticRegression(fit_intercept=False, max_iter=5000).fit(xs, ys).coef_[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    set_arguments(parser)
    parser.add_argument("--windows", action="store_true", help="add the best ~120-character window's cosine")
    parser.add_argument("--features", help="comma-separated subset (default: all)")
    args = parser.parse_args()
    names = args.features.split(",") if args.features else [*FEATURES, *(["win"] if args.windows else [])]
    data = {name: [(page_features(engine, q.question, args.windows), {(g.doc_id, g.page) for g in q.relevant})
                   for q in questions]
            for name, (engine, questions) in question_sets(args).items()}
    own = np.array([1.0 if name == "fused" else 0.0 for name in names])
    for test in data:
        weights = fit([item for name in data if name != test for item in data[name]], names)
        (base_mrr, base_hit), (mrr, hit) = scores(data[test], own, names), scores(data[test], weights, names)
        relative = weights / abs(weights[names.index("fused")]) if "fused" in names else weights
        print(f"{test:10s} hybrid {base_mrr:.3f} / {base_hit:.3f}  learnt {mrr:.3f} / {hit:.3f}  "
              + " ".join(f"{n}:{w:.2f}" for n, w in zip(names, relative)), flush=True)


if __name__ == "__main__":
    main()
