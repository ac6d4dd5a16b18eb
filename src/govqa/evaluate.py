"""Page-level retrieval metrics over a JSONL question set: hit@k, recall, MRR, nDCG, latency, per language."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import GovqaError
from .lang import detect_lang
from .models import Hit
from .search.retrieve import MODES, VARIANTS

ALIASES = {"bm25": "lexical"}  # every other mode (retrieve.VARIANTS) is named as it is


class _ModeNames(Mapping):
    """Mode name -> retrieval mode: the aliases, then every VARIANTS name (registered variants included)."""

    def __getitem__(self, name: str) -> str:
        if name in ALIASES:
            return ALIASES[name]
        if name in VARIANTS:
            return name
        raise KeyError(name)

    def __iter__(self):
        return iter(dict.fromkeys([*ALIASES, *VARIANTS]))

    def __len__(self) -> int:
        return len(dict.fromkeys([*ALIASES, *VARIANTS]))


MODE_ALIASES = _ModeNames()
CUTOFFS = (1, 5, 10)


class QuestionsError(GovqaError):
    """The questions file cannot be read or a line does not follow the contract."""


@dataclass(frozen=True)
class Relevant:
    """A gold page; page None means any page of the document (a document-level judgement)."""

    doc_id: str
    page: int | None = None

    def matches(self, doc_id: str, page: int) -> bool:
        return doc_id == self.doc_id and (self.page is None or page == self.page)


@dataclass
class Question:
    question: str
    relevant: list[Relevant]
    lang: str
    line: int
    fields: dict = field(default_factory=dict)  # the line's other fields (type, confident, ...), for --where and --by

    @property
    def answerable(self) -> bool:
        return bool(self.relevant)


@dataclass
class Outcome:
    """One question's ranked pages and where the gold ones landed."""

    question: Question
    pages: list[tuple[str, int]]
    latency_ms: float
    gold_ranks: list[int] = field(default_factory=list)  # 1-based rank of each relevant item found


@dataclass
class ModeRun:
    mode: str  # as the user named it (bm25, dense, hybrid)
    outcomes: list[Outcome]
    k: int

    def metrics(self, lang: str | None = None, by: tuple[str, object] | None = None) -> dict:
        """Over every question, or those in one language, or those whose field `by[0]` is `by[1]`."""
        chosen = [o for o in self.outcomes if (lang is None or o.question.lang == lang)
                  and (by is None or o.question.fields.get(by[0]) == by[1])]
        return summarize(chosen, self.k)


def load_questions(path: Path) -> list[Question]:
    """Read the JSONL set; any malformed line is one QuestionsError naming the file and line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise QuestionsError(f"{path}: no such file; give a JSONL file with one question per line") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionsError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            questions.append(_question(json.loads(line), number))
        except json.JSONDecodeError as exc:
            raise QuestionsError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        except ValueError as exc:
            raise QuestionsError(f"{path}:{number}: {exc}") from None
    if not questions:
        raise QuestionsError(f"{path}: no questions; each line needs {{\"question\": …, \"relevant\": [...]}}")
    return questions


def _question(data: object, line: int) -> Question:
    if not isinstance(data, dict):
        raise ValueError("each line must be a JSON object")
    text = data.get("question")
    if not isinstance(text, str) or not text.strip():
        raise ValueError('"question" must be a non-empty string')
    relevant = data.get("relevant", [])
    if not isinstance(relevant, list):
        raise ValueError('"relevant" must be a list of {"doc_id": …, "page": …}')
    gold = []
    for item in relevant:
        if not isinstance(item, dict) or not isinstance(item.get("doc_id"), str):
            raise ValueError(f'each relevant item needs a "doc_id" string, not {item!r}')
        page = item.get("page")
        if page is not None and (not isinstance(page, int) or isinstance(page, bool) or page < 1):
            raise ValueError(f'"page" must be a positive integer (1-based), not {page!r}')
        gold.append(Relevant(item["doc_id"], page))
    if data.get("unanswerable") and gold:
        raise ValueError('a question marked "unanswerable" cannot have relevant pages')
    if not gold and "relevant" not in data and not data.get("unanswerable"):
        raise ValueError('missing "relevant" (use [] or "unanswerable": true for a question the corpus cannot answer)')
    lang = data.get("lang") or detect_lang(text)
    if lang not in ("ja", "en"):
        raise ValueError(f'"lang" must be "ja" or "en", not {lang!r}')
    fields = {key: value for key, value in data.items() if key not in ("question", "relevant", "lang", "answer")}
    return Question(text.strip(), list(dict.fromkeys(gold)), lang, line, fields)


def select(questions: list[Question], where: list[str]) -> list[Question]:
    """The questions whose fields match every `key=value` (true/false/numbers read as JSON)."""
    for condition in where:
        key, sep, raw = condition.partition("=")
        if not sep or not key.strip():
            raise QuestionsError(f"--where {condition!r}: use KEY=VALUE, e.g. --where confident=true")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        if not any(key.strip() in q.fields for q in questions):
            raise QuestionsError(f"--where {condition!r}: no question has a {key.strip()!r} field")
        questions = [q for q in questions if q.fields.get(key.strip()) == value]
    if not questions:
        raise QuestionsError(f"--where {' '.join(where)}: no question matches")
    return questions


def groups_of(questions: list[Question], key: str | None) -> list:
    """The values field `key` takes (for per-type rows), in a stable order."""
    if not key:
        return []
    values = {json.dumps(q.fields[key]) for q in questions if key in q.fields}
    if not values:
        raise QuestionsError(f"--by {key!r}: no question has that field")
    return [json.loads(v) for v in sorted(values)]


def judge(question: Question, pages: list[tuple[str, int]], latency_ms: float) -> Outcome:
    """Ranks at which the gold items were found; each gold item counts once, each page once."""
    ranks, found = [], set()
    for rank, (doc_id, page) in enumerate(pages, start=1):
        for i, gold in enumerate(question.relevant):
            if i not in found and gold.matches(doc_id, page):
                found.add(i)
                ranks.append(rank)
                break
    return Outcome(question, pages, latency_ms, ranks)


def summarize(outcomes: list[Outcome], k: int = 10) -> dict:
    """hit@1/5/10, recall@10, MRR@10, nDCG@10 over answerable questions; latency over all."""
    scored = [o for o in outcomes if o.question.answerable]
    result: dict = {"n": len(scored), "unanswerable": len(outcomes) - len(scored)}
    cutoffs = sorted({*CUTOFFS, k})
    for cut in cutoffs:
        result[f"hit@{cut}"] = _mean([1.0 if any(r <= cut for r in o.gold_ranks) else 0.0 for o in scored])
    for cut in sorted({10, k}):
        result[f"recall@{cut}"] = _mean([sum(r <= cut for r in o.gold_ranks) / len(o.question.relevant)
                                         for o in scored])
    result["mrr@10"] = _mean([1.0 / min(o.gold_ranks) if o.gold_ranks and min(o.gold_ranks) <= 10 else 0.0
                              for o in scored])
    result["ndcg@10"] = _mean([ndcg(o.gold_ranks, len(o.question.relevant), 10) for o in scored])
    latencies = sorted(o.latency_ms for o in outcomes)
    result["latency_ms_p50"] = round(percentile(latencies, 50), 1)
    result["latency_ms_p95"] = round(percentile(latencies, 95), 1)
    return result


def ndcg(gold_ranks: list[int], n_relevant: int, cut: int) -> float:
    """Binary-gain nDCG: each gold item found at rank r adds 1/log2(r + 1)."""
    dcg = sum(1.0 / math.log2(r + 1) for r in gold_ranks if r <= cut)
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(n_relevant, cut) + 1))
    return dcg / ideal if ideal else 0.0


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return 0.0
    position = (len(sorted_values) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def parse_modes(spec: str | None) -> list[str]:
    """'bm25,dense,hybrid' -> the names as given, checked; default: hybrid alone."""
    if not spec:
        return ["hybrid"]
    modes = list(dict.fromkeys(m.strip().lower() for m in spec.split(",") if m.strip()))
    if any(m not in MODE_ALIASES for m in modes):
        _register_research_variants()
    unknown = [m for m in modes if m not in MODE_ALIASES]
    if unknown or not modes:
        raise QuestionsError(f"unknown retrieval mode {unknown[0] if unknown else spec!r} in --compare: "
                             f"use a comma-separated list of bm25, {', '.join(MODES)} (the research variants of "
                             f"bench/variants.py are found when the repository is on PYTHONPATH)")
    return modes


def _register_research_variants() -> None:
    """bench/variants.py registers the measured variants, when run from the repository."""
    import importlib

    try:
        importlib.import_module("bench.variants")
    except ImportError:
        pass


SearchFn = Callable[[str, int, str], list[Hit]]


def run_mode(search: SearchFn, questions: list[Question], mode: str, k: int = 10) -> ModeRun:
    """Ask every question in one retrieval mode; pages are judged at depth max(k, 10)."""
    depth = max(k, 10)
    outcomes = []
    for question in questions:
        started = time.perf_counter()
        hits = search(question.question, depth, MODE_ALIASES[mode])
        latency = (time.perf_counter() - started) * 1000
        outcomes.append(judge(question, [(h.doc_id, h.page) for h in hits], latency))
    return ModeRun(mode, outcomes, k)


def evaluate(search: SearchFn, questions: list[Question], modes: list[str], k: int = 10,
             on_progress: Callable[[str, int, int], None] | None = None) -> list[ModeRun]:
    """Every mode over the same questions, one after another (so latencies do not compete)."""
    runs = []
    for mode in modes:
        if on_progress:
            on_progress(mode, 0, len(questions))
        runs.append(run_mode(search, questions, mode, k))
        if on_progress:
            on_progress(mode, len(questions), len(questions))
    return runs


def langs_of(runs: list[ModeRun]) -> list[str]:
    return sorted({o.question.lang for o in runs[0].outcomes}) if runs else []


def to_json(runs: list[ModeRun], by: str | None = None) -> dict:
    """The contract's shape for the first mode at the top level, every mode under "compare";
    with `by`, per-value blocks under "by_<field>"."""
    questions = [o.question for o in runs[0].outcomes] if runs else []
    def block(run: ModeRun) -> dict:
        extra = {f"by_{by}": {str(v): run.metrics(by=(by, v)) for v in groups_of(questions, by)}} if by else {}
        return {"mode": run.mode, **run.metrics(),
                "by_lang": {lang: run.metrics(lang) for lang in langs_of(runs)}, **extra}

    blocks = [block(run) for run in runs]
    result = dict(blocks[0])
    if len(runs) > 1:
        result["compare"] = {b["mode"]: b for b in blocks}
    result["misses"] = {run.mode: [{"line": o.question.line, "question": o.question.question,
                                    "top": [{"doc_id": d, "page": p} for d, p in o.pages[:3]]}
                                   for o in run.outcomes if o.question.answerable and not o.gold_ranks]
                        for run in runs}
    return result
