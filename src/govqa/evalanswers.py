"""`govqa eval --answers`: does the answer a staff member reads first cite the page that answers?

Each question is asked end to end (retrieval, backend, citation check) and judged by page:
abstention on answerable and on unanswerable questions, whether the answer's citations
include a gold page (and whether a gold page was among its passages at all), citations per
answer, answer length and time per answer, per language and per LLM backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .answer import NOTHING_SUPPORTED
from .errors import GovqaError
from .evaluate import Question, percentile
from .models import Answer

# Columns of the answers table, in the order the report shows them.
ANSWER_METRICS = ("n", "unanswerable", "abstain_answerable", "abstain_unanswerable", "gold_cited",
                  "gold_in_passages", "citations", "answer_chars", "latency_ms_p50", "latency_ms_p95")
CHART_METRICS = ("gold_cited", "gold_in_passages", "abstain_answerable", "abstain_unanswerable")


class BackendFailed(GovqaError):
    """A backend produced no draft for the first question (not configured, server down)."""


@dataclass
class AnswerOutcome:
    """One question's answer, judged by page."""

    question: Question
    abstained: bool
    cited: list[tuple[str, int]]  # (doc_id, page) of every citation kept
    passages: list[tuple[str, int]]  # (doc_id, page) of every passage the answer could cite
    answer_chars: int
    latency_ms: float
    failed: str | None = None  # the backend's failure message, if it produced no draft

    @property
    def gold_cited(self) -> bool:
        return any(g.matches(d, p) for g in self.question.relevant for d, p in self.cited)

    @property
    def gold_in_passages(self) -> bool:
        return any(g.matches(d, p) for g in self.question.relevant for d, p in self.passages)


@dataclass
class AnswerRun:
    llm: str
    outcomes: list[AnswerOutcome]

    def metrics(self, lang: str | None = None) -> dict:
        return answer_metrics([o for o in self.outcomes if lang is None or o.question.lang == lang])


def judge_answer(question: Question, answer: Answer, latency_ms: float) -> AnswerOutcome:
    failed = None
    if not answer.abstained and not answer.answer and answer.message \
            and answer.message not in NOTHING_SUPPORTED.values():
        failed = answer.message
    return AnswerOutcome(
        question=question, abstained=answer.abstained,
        cited=[(c.doc_id, c.page) for c in answer.citations],
        passages=[(h.doc_id, h.page) for h in answer.hits],
        answer_chars=len(answer.answer), latency_ms=latency_ms, failed=failed)


def answer_metrics(outcomes: list[AnswerOutcome]) -> dict:
    """Rates over answerable questions (gold cited counts an abstention as a miss); sizes over answers given."""
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]
    answered = [o for o in outcomes if not o.abstained and o.answer_chars]
    latencies = sorted(o.latency_ms for o in outcomes)
    return {
        "n": len(answerable),
        "unanswerable": len(unanswerable),
        "abstain_answerable": _rate([o.abstained for o in answerable]),
        "abstain_unanswerable": _rate([o.abstained for o in unanswerable]),
        "gold_cited": _rate([o.gold_cited for o in answerable]),
        "gold_in_passages": _rate([o.gold_in_passages for o in answerable]),
        "empty": sum(not o.abstained and not o.answer_chars for o in outcomes),
        "failed": sum(o.failed is not None for o in outcomes),
        "citations": _mean([len(o.cited) for o in answered]),
        "answer_chars": _mean([o.answer_chars for o in answered]),
        "latency_ms_p50": round(percentile(latencies, 50), 1),
        "latency_ms_p95": round(percentile(latencies, 95), 1),
    }


def _rate(flags: list[bool]) -> float | None:
    """Share of True; None when there is nothing to count (no unanswerable questions in the set)."""
    return round(sum(flags) / len(flags), 4) if flags else None


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 2) if values else 0.0


AskFn = Callable[[str, str], Answer]


def run_answers(ask: AskFn, questions: list[Question], llm: str,
                on_answer: Callable[[], None] | None = None) -> AnswerRun:
    """Ask every question with backend `llm`; a backend that fails on the first question stops the run."""
    outcomes = []
    for question in questions:
        started = time.perf_counter()
        answer = ask(question.question, llm)
        outcome = judge_answer(question, answer, (time.perf_counter() - started) * 1000)
        if outcome.failed and not outcomes:
            raise BackendFailed(f"the LLM backend {llm!r} gave no answer: {outcome.failed}")
        outcomes.append(outcome)
        if on_answer:
            on_answer()
    return AnswerRun(llm, outcomes)


def parse_llms(spec: str | None, available: list[str]) -> list[str]:
    """'extractive,openai' -> the names, checked against the installed backends."""
    names = list(dict.fromkeys(n.strip().lower() for n in (spec or "extractive").split(",") if n.strip()))
    unknown = [n for n in names if n not in available]
    if unknown or not names:
        raise BackendFailed(f"unknown LLM backend {unknown[0] if unknown else spec!r} in --llm: "
                            f"use a comma-separated list of {', '.join(available)}")
    return names


def llm_names(compare: str | None, llm: str | None) -> tuple[str | None, list[str]]:
    """(retrieval modes, backends) for `eval --answers`: `--compare` may name backends instead of modes."""
    from .evaluate import MODE_ALIASES
    from .summarize import available_llms

    available = available_llms()
    named = [n.strip().lower() for n in (compare or "").split(",") if n.strip()]
    if named and all(n in available and n not in MODE_ALIASES for n in named):
        if llm is not None:
            raise BackendFailed("name the backends once: --compare or --llm, not both")
        return None, parse_llms(compare, available)
    return compare, parse_llms(llm, available)


def langs(runs: list[AnswerRun]) -> list[str]:
    return sorted({o.question.lang for o in runs[0].outcomes}) if runs else []


def answer_rows(runs: list[AnswerRun]) -> list[tuple[str, str, dict]]:
    """(backend, language or 'all', metrics) for every backend, overall first."""
    rows = []
    for run in runs:
        rows.append((run.llm, "all", run.metrics()))
        rows.extend((run.llm, lang, run.metrics(lang)) for lang in langs(runs))
    return rows


def answers_json(runs: list[AnswerRun]) -> dict:
    """The "answers" block of `eval --json`: every backend, overall and by language, and its misses."""
    def block(run: AnswerRun) -> dict:
        return {"llm": run.llm, **run.metrics(), "by_lang": {lang: run.metrics(lang) for lang in langs(runs)},
                "not_cited": [{"line": o.question.line, "question": o.question.question,
                               "abstained": o.abstained, "gold_in_passages": o.gold_in_passages,
                               "cited": [{"doc_id": d, "page": p} for d, p in o.cited]}
                              for o in run.outcomes if o.question.answerable and not o.gold_cited],
                "answered_unanswerable": [{"line": o.question.line, "question": o.question.question}
                                          for o in run.outcomes if not o.question.answerable and not o.abstained]}

    blocks = [block(run) for run in runs]
    return {**blocks[0], "compare": {b["llm"]: b for b in blocks}} if len(blocks) > 1 else blocks[0]
