"""Extractive answer variants on the same retrieved passages: gold page cited, abstentions, time.

    python bench/bench_answers.py --index-dir IDX --questions eval/mhlw.jsonl [--variants v1,default]
        [--cache /tmp/answer-hits] [-k 8]

Retrieval runs once per question (its hits are cached in --cache, keyed by index and file,
so a second run times the answer alone); then every variant answers every question from
those hits through the same citation check and abstention as `govqa ask`. Printed per
variant and language: the `govqa eval --answers` metrics, and the median time of the answer
step alone (summary + citation check, no retrieval).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
import hashlib
import pickle
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from govqa.answer import answer_events, final_answer
from govqa.answercontext import NEIGHBOURS, with_neighbours
from govqa.config import Settings
from govqa.engine import Engine
from govqa.evalanswers import AnswerRun, judge_answer
from govqa.evaluate import load_questions

from answer_variants import VARIANTS


def cached_hits(engine: Engine, questions, index_dir: Path, path: Path, k: int, cache: Path) -> list:
    key = hashlib.sha256(f"{index_dir.resolve()}|{(index_dir / 'CURRENT').read_text()}|{path.resolve()}|"
                         f"{path.stat().st_mtime}|{k}".encode()).hexdigest()[:16]
    file = cache / f"{path.stem}-{key}.pkl"
    if file.is_file():
        return pickle.loads(file.read_bytes())
    hits = [engine.search(q.question, k=k) for q in questions]
    cache.mkdir(parents=True, exist_ok=True)
    file.write_bytes(pickle.dumps(hits))
    return hits


def widened(engine: Engine, hits: list, reach: int) -> list:
    """Each passage with up to `reach` characters of its page on either side (experiment: page-level quoting)."""
    pages = engine.reader.page_texts([(h.doc_id, h.page) for h in hits])
    out = []
    for h in hits:
        text = pages.get((h.doc_id, h.page))
        if text is None or h.start is None:
            out.append(h)
            continue
        start, end = max(h.start - reach, 0), min(h.end + reach, len(text))
        out.append(replace(h, text=text[start:end], start=start, end=end))
    return out


def precision(outcomes, lang: str | None) -> float:
    """The share of an answer's cited pages that are gold pages, averaged over the answered answerable
    questions: what more citations per answer cost."""
    shares = []
    for o in outcomes:
        if o.question.answerable and not o.abstained and o.cited and lang in (None, o.question.lang):
            gold = {(g.doc_id, g.page) for g in o.question.relevant}
            shares.append(sum(tuple(c) in gold for c in o.cited) / len(o.cited))
    return statistics.mean(shares) if shares else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--questions", required=True, help="comma-separated JSONL files")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/answer-hits"))
    parser.add_argument("-k", type=int, default=8)
    parser.add_argument("--misses", action="store_true", help="list the questions whose answer cites no gold page")
    parser.add_argument("--changed", action="store_true",
                        help="list the questions whose cited pages differ between the first variant and each other")
    parser.add_argument("--context", type=int, default=0,
                        help="widen every passage by this many characters of its page on each side (0: as retrieved)")
    parser.add_argument("--context-passages", type=int, default=100, help="... only the first this many passages")
    parser.add_argument("--neighbours", type=int, default=NEIGHBOURS,
                        help="chunks beside the first passage on its page that the answer reads (what `govqa ask` "
                             "does: answercontext.py); 0: the passage as retrieved")
    args = parser.parse_args()
    settings = Settings(index_dir=args.index_dir)
    engine = Engine.open(settings)
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    summarizers = {name: VARIANTS[name](settings) for name in names}
    for path in [Path(p) for p in args.questions.split(",")]:
        questions = load_questions(path)
        hits = cached_hits(engine, questions, args.index_dir, path, args.k, args.cache)
        hits = [with_neighbours(engine.reader, question_hits, args.neighbours) for question_hits in hits]
        if args.context:
            hits = [widened(engine, question_hits[:args.context_passages], args.context)
                    + question_hits[args.context_passages:] for question_hits in hits]
        print(f"\n== {path} ({len(questions)} questions)")
        print(f"{'variant':22} {'lang':4} {'n':>3} {'cited':>6} {'in psg':>6} {'abst':>6} {'abst-un':>7} "
              f"{'cit/a':>5} {'prec':>5} {'chars':>6} {'ms':>6}")
        first_cited = None
        for name, summarizer in summarizers.items():
            outcomes, times = [], []
            for question, question_hits in zip(questions, hits):
                started = time.perf_counter()
                answer = final_answer(answer_events(question.question, question_hits, summarizer, engine.embedder,
                                                    engine.reader.tokenizer, lexicon=engine._lexicon()))
                elapsed = (time.perf_counter() - started) * 1000
                times.append(elapsed)
                outcomes.append(judge_answer(question, answer, elapsed))
            run = AnswerRun(name, outcomes)
            for lang in [None, *sorted({q.lang for q in questions})]:
                m = run.metrics(lang)
                un = "—" if m["abstain_unanswerable"] is None else f"{m['abstain_unanswerable']:.3f}"
                print(f"{name:22} {lang or 'all':4} {m['n']:3} {m['gold_cited']:6.3f} {m['gold_in_passages']:6.3f} "
                      f"{m['abstain_answerable']:6.3f} {un:>7} {m['citations']:5.2f} {precision(outcomes, lang):5.2f} "
                      f"{m['answer_chars']:6.0f} "
                      f"{statistics.median(o.latency_ms for o in outcomes if lang in (None, o.question.lang)):6.0f}")
            if args.changed and first_cited is None:
                first_cited = outcomes
            elif args.changed:
                for before, after in zip(first_cited, outcomes):
                    if before.cited != after.cited:
                        mark = {(False, True): "+", (True, False): "-"}.get((before.gold_cited, after.gold_cited), "=")
                        print(f"   {mark} line {after.question.line} ({after.question.lang}) "
                              f"{' '.join(f'{d[:14]}:{p}' for d, p in before.cited)} -> "
                              f"{' '.join(f'{d[:14]}:{p}' for d, p in after.cited)}: {after.question.question[:50]}")
            if args.misses:
                for o in outcomes:
                    if o.question.answerable and not o.gold_cited:
                        gold = ",".join(f"{g.doc_id}:{g.page}" for g in o.question.relevant)
                        got = "abstained" if o.abstained else ",".join(f"{d}:{p}" for d, p in o.cited)
                        print(f"   miss line {o.question.line} ({o.question.lang}) gold {gold} got {got} "
                              f"{'in' if o.gold_in_passages else 'NOT in'} passages: {o.question.question[:70]}")


if __name__ == "__main__":
    main()
