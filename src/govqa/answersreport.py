"""`govqa eval --answers --report DIR`: the answer metrics as a Markdown section plus answers.png."""

from __future__ import annotations

from pathlib import Path

from .evalanswers import ANSWER_METRICS, CHART_METRICS, AnswerRun, answer_rows, langs
from .evalreport import ReportError, grouped_bars

LABELS = {"n": "n", "unanswerable": "n unanswerable", "abstain_answerable": "abstains (answerable)",
          "abstain_unanswerable": "abstains (unanswerable)", "gold_cited": "gold page cited",
          "gold_in_passages": "gold page in passages", "citations": "citations / answer",
          "answer_chars": "characters / answer", "latency_ms_p50": "p50 ms", "latency_ms_p95": "p95 ms"}


def markdown(runs: list[AnswerRun], chart_name: str | None = "answers.png") -> str:
    lines = ["## Answers", "",
             "Each question asked end to end (retrieval, backend, citation check). *Gold page cited*: the "
             "answer's citations include a gold page, over answerable questions (an abstention counts as "
             "a miss); *gold page in passages*: one of the passages the answer could cite is a gold page. "
             "Citations and length are over the answers given; time is per question on this machine.", "",
             "| llm | lang | " + " | ".join(LABELS[m] for m in ANSWER_METRICS) + " |",
             "|---|---|" + "---:|" * len(ANSWER_METRICS)]
    for llm, lang, metrics in answer_rows(runs):
        lines.append(f"| {llm} | {lang} | " + " | ".join(_cell(m, metrics[m]) for m in ANSWER_METRICS) + " |")
    if chart_name:
        lines += ["", f"![gold page cited, gold page in passages and abstentions per backend and language]"
                      f"({chart_name})"]
    for run in runs:
        missed = [o for o in run.outcomes if o.question.answerable and not o.gold_cited]
        if missed:
            lines += ["", f"### {run.llm}: answerable questions whose answer cites no gold page", ""]
            for o in missed:
                why = ("abstained" if o.abstained else
                       "cited " + (", ".join(f"{d} p.{p}" for d, p in o.cited) or "nothing"))
                where = "gold page among the passages" if o.gold_in_passages else "no gold page among the passages"
                lines.append(f"- line {o.question.line} ({o.question.lang}): {o.question.question} — {why}; {where}")
        wrong = [o for o in run.outcomes if not o.question.answerable and not o.abstained]
        if wrong:
            lines += ["", f"### {run.llm}: unanswerable questions it answered", ""]
            lines += [f"- line {o.question.line} ({o.question.lang}): {o.question.question}" for o in wrong]
    return "\n".join(lines) + "\n"


def _cell(metric: str, value) -> str:
    if value is None:
        return "—"
    if metric.startswith("latency"):
        return f"{value:.0f}"
    if metric in ("citations", "answer_chars"):
        return f"{value:.1f}"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def chart(runs: list[AnswerRun], path: Path) -> None:
    """Grouped bars: one panel per language (and all), one bar group per rate, one colour per backend."""
    grouped_bars(path, runs, [run.llm for run in runs], ["all", *langs(runs)], CHART_METRICS,
                 ["gold cited", "gold in passages", "abstain (ans.)", "abstain (unans.)"], legend="upper right")


def append_report(runs: list[AnswerRun], md: Path) -> Path:
    """Add the answers section to report.md and write answers.png beside it."""
    png = md.with_name("answers.png")
    try:
        chart(runs, png)
        with md.open("a", encoding="utf-8") as f:
            f.write("\n" + markdown(runs, png.name))
    except OSError as exc:
        raise ReportError(f"{md.parent}: cannot write the report ({exc.strerror or exc})") from None
    return png
