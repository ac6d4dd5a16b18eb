"""`govqa eval --answers --report DIR`: the answer metrics as a Markdown section plus answers.png."""

from __future__ import annotations

from pathlib import Path

from .evalanswers import ANSWER_METRICS, CHART_METRICS, AnswerRun, answer_rows, langs
from .evalreport import ReportError

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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = ["all", *langs(runs)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), sharey=True, squeeze=False)
    width = 0.8 / max(len(runs), 1)
    for ax, panel in zip(axes[0], panels):
        for i, run in enumerate(runs):
            metrics = run.metrics(None if panel == "all" else panel)
            xs = [j + (i - (len(runs) - 1) / 2) * width for j in range(len(CHART_METRICS))]
            ax.bar(xs, [metrics[m] or 0.0 for m in CHART_METRICS], width, label=run.llm)
        n = runs[0].metrics(None if panel == "all" else panel)["n"]
        ax.set_title(f"{panel} (n={n})")
        ax.set_xticks(range(len(CHART_METRICS)), ["gold cited", "gold in passages", "abstain (ans.)",
                                                   "abstain (unans.)"], rotation=30)
        ax.set_ylim(0, 1.05)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


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
