"""Fit the abstention thresholds (answer.AbstainPolicy) on every development set at once.

    python bench/calibrate_abstain.py --features /tmp/abstain-features.json \\
        --set eval/mhlw.jsonl=IDX_MHLW --set eval/dev-abstain.jsonl=IDX_MHLW \\
        --set eval/mhlw-guideline.jsonl=IDX_MHLW --set ../shared/samples/allganize-dev/questions.jsonl=IDX_ALLGANIZE \\
        [--max-abstain-same 0.02] [--max-abstain-cross 0] [--margin-cosine 0.005] [--margin-coverage 0.05] [--rows]

Each question is searched as `govqa ask` does (k 8) and gives two features: the raw cosine of
its best passage (hit.dense_score) and the share of its key words the passages hold
(answerterms.coverage; English words through the lexicon). A question for a quantity in a unit
(何人, 何円 …) that no passage gives in that unit abstains whatever the thresholds, as in `ask`.
Lines are answerable (gold pages, or "on_topic": true) or not ("unanswerable": true, or
"on_topic": false). Separately for same-language and cross-language pairs (the question's
language against its best passage's),
every (cosine, coverage) threshold pair on a grid is scored: the share of answerable questions
it would abstain on must stay under --max-abstain-*, counting only those whose gold page is
among the passages (the answer is there to give); among those, the pair that abstains on the
most unanswerable questions wins, ties going to the lower thresholds. Printed: the winners,
their margins (how far the closest answerable and unanswerable questions sit from each
threshold) and the rates per set.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from govqa.answerfocus import missing_unit
from govqa.answerterms import coverage, question_terms
from govqa.config import Settings
from govqa.engine import Engine
from govqa.lang import detect_lang


def features(engine: Engine, row: dict, k: int) -> dict:
    question = row["question"]
    lang = row.get("lang") or detect_lang(question)
    hits = engine.search(question, k=k)
    scored = [h for h in hits if h.dense_score is not None]
    best = max(scored, key=lambda h: h.dense_score) if scored else None
    texts = [h.text for h in hits]
    terms = question_terms(question, lang, texts, engine.reader.tokenizer, engine._lexicon())
    gold = [(g["doc_id"], g.get("page")) for g in row.get("relevant") or []]
    return {"question": question, "lang": lang,
            "answerable": bool(row.get("on_topic", bool(gold))),
            "gold_in_passages": any(h.doc_id == d and p in (None, h.page) for h in hits for d, p in gold),
            "cosine": best.dense_score if best else 0.0,
            "pair": "same" if best is None or best.lang == lang else "cross",
            "coverage": coverage(question, lang, terms, texts, engine.reader.tokenizer),
            # The rule beside the thresholds (answer.answer_events): a question for a quantity in a
            # unit that no passage gives in that unit abstains whatever its cosine and coverage.
            "quantity_missing": missing_unit(question, texts) is not None}


def abstains(r: dict, cosine: float, cover: float) -> bool:
    return r["cosine"] < cosine or r["coverage"] < cover or r.get("quantity_missing", False)


def fit(rows: list[dict], max_abstain: float, margin: tuple[float, float]) -> tuple[float, float]:
    """The (cosine, coverage) thresholds that abstain on the most unanswerable questions while
    abstaining on at most `max_abstain` of the answerable ones whose gold page was retrieved,
    even were both thresholds `margin` higher (so no threshold sits right under an answerable one)."""
    on = [r for r in rows if r["answerable"] and r["gold_in_passages"]] or [r for r in rows if r["answerable"]]
    off = [r for r in rows if not r["answerable"]]
    best, best_key = (0.0, 0.0), None
    for cosine in [round(0.70 + 0.0025 * i, 4) for i in range(97)]:
        for cover in [round(0.05 * i, 2) for i in range(13)]:
            false_abstain = sum(abstains(r, cosine + margin[0], cover + margin[1]) for r in on)
            if false_abstain > max_abstain * len(on):
                continue
            key = (sum(abstains(r, cosine, cover) for r in off), -false_abstain, -cosine, -cover)
            if best_key is None or key > best_key:
                best, best_key = (cosine, cover), key
    return best


def margins(rows: list[dict], cosine: float, cover: float) -> str:
    on = [r for r in rows if r["answerable"]]
    off = [r for r in rows if not r["answerable"]]
    answered_on = [r["cosine"] for r in on if not abstains(r, cosine, cover)]
    caught_off = [r["cosine"] for r in off if r["coverage"] >= cover and r["cosine"] < cosine]
    return (f"cosine {cosine:.4f}: nearest answerable above {min(answered_on) - cosine:+.4f}"
            if answered_on else f"cosine {cosine:.4f}") + (
        f", nearest unanswerable below {max(caught_off) - cosine:+.4f}" if caught_off else "") + (
        f"; coverage {cover:.2f}: answerable under it {sum(r['coverage'] < cover for r in on)}, "
        f"unanswerable under it {sum(r['coverage'] < cover for r in off)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", required=True, help="QUESTIONS.jsonl=INDEX_DIR (repeat)")
    parser.add_argument("-k", type=int, default=8)
    parser.add_argument("--max-abstain-same", type=float, default=0.02)
    parser.add_argument("--max-abstain-cross", type=float, default=0.0)
    parser.add_argument("--margin-cosine", type=float, default=0.005)
    parser.add_argument("--margin-coverage", type=float, default=0.05)
    parser.add_argument("--same", help="COSINE,COVERAGE: report these same-language thresholds instead of fitting")
    parser.add_argument("--cross", help="COSINE,COVERAGE: report these cross-language thresholds instead of fitting")
    parser.add_argument("--rows", action="store_true", help="print every question's features")
    parser.add_argument("--features", type=Path, help="keep the features in this JSON file (read it if present)")
    args = parser.parse_args()
    rows: list[dict] = []
    engines: dict[str, Engine] = {}
    if args.features and args.features.is_file():
        rows, args.set = json.loads(args.features.read_text(encoding="utf-8")), []
    for spec in args.set:
        questions, _, index_dir = spec.partition("=")
        engine = engines.setdefault(index_dir, Engine.open(Settings(index_dir=Path(index_dir))))
        for line in Path(questions).read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append({"set": Path(questions).stem if Path(questions).stem != "questions"
                             else Path(questions).parent.name, **features(engine, json.loads(line), args.k)})
    if args.features and not args.features.is_file():
        args.features.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    if args.rows:
        for r in sorted(rows, key=lambda r: (r["pair"], r["cosine"])):
            print(f"{r['pair']:5} {r['cosine']:.4f} cov {r['coverage']:.2f} "
                  f"{'on ' if r['answerable'] else 'off'} {'in' if r['gold_in_passages'] else '  '} "
                  f"{r['set']:14} {r['question'][:70]}")
    for pair, limit in (("same", args.max_abstain_same), ("cross", args.max_abstain_cross)):
        chosen = [r for r in rows if r["pair"] == pair]
        if not chosen:
            continue
        given = getattr(args, pair)
        cosine, cover = (tuple(map(float, given.split(","))) if given
                         else fit(chosen, limit, (args.margin_cosine, args.margin_coverage)))
        print(f"\n== {pair}-language pairs: {sum(r['answerable'] for r in chosen)} answerable, "
              f"{sum(not r['answerable'] for r in chosen)} unanswerable")
        print(f"{'given' if given else 'fitted'}: {margins(chosen, cosine, cover)}")
        for name in dict.fromkeys(r["set"] for r in chosen):
            of_set = [r for r in chosen if r["set"] == name]
            on = [r for r in of_set if r["answerable"]]
            off = [r for r in of_set if not r["answerable"]]
            print(f"  {name:22} abstains on {sum(abstains(r, cosine, cover) for r in on)}/{len(on)} answerable "
                  f"({sum(abstains(r, cosine, cover) for r in on if r['gold_in_passages'])} with the gold page "
                  f"retrieved), on {sum(abstains(r, cosine, cover) for r in off)}/{len(off)} unanswerable")


if __name__ == "__main__":
    main()
