"""`govqa eval --report DIR`: the metrics as Markdown plus a PNG bar chart (matplotlib)."""

from __future__ import annotations

from pathlib import Path

from .errors import GovqaError
from .evaluate import ModeRun, groups_of, langs_of

CHART_METRICS = ("hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10")
TABLE_METRICS = ("n", "hit@1", "hit@5", "hit@10", "recall@10", "mrr@10", "ndcg@10", "latency_ms_p50", "latency_ms_p95")


class ReportError(GovqaError):
    pass


def metric_rows(runs: list[ModeRun], by: str | None = None) -> list[tuple[str, str, dict]]:
    """(mode, language or 'all' or by=value, metrics) for every mode, overall first."""
    rows = []
    for run in runs:
        rows.append((run.mode, "all", run.metrics()))
        rows.extend((run.mode, lang, run.metrics(lang)) for lang in langs_of(runs))
        rows.extend((run.mode, f"{by}={v}", run.metrics(by=(by, v)))
                    for v in groups_of([o.question for o in runs[0].outcomes], by))
    return rows


def markdown(runs: list[ModeRun], questions_file: str, chart_name: str | None = "chart.png", by: str | None = None) -> str:
    rows = metric_rows(runs, by)
    unanswerable = rows[0][2]["unanswerable"] if rows else 0
    summary = (f"{rows[0][2]['n'] if rows else 0} answerable questions judged by page; "
               f"{unanswerable} marked as having no answer in the corpus are left out of the metrics. "
               "Latency is milliseconds per query on this machine.")
    lines = [f"# Retrieval evaluation: `{questions_file}`", "", summary, "",
             "| mode | lang | " + " | ".join(TABLE_METRICS) + " |",
             "|---|---|" + "---:|" * len(TABLE_METRICS)]
    for mode, lang, metrics in rows:
        lines.append(f"| {mode} | {lang} | " + " | ".join(_cell(m, metrics[m]) for m in TABLE_METRICS) + " |")
    if chart_name:
        lines += ["", f"![hit@k, MRR@10 and nDCG@10 per mode and language]({chart_name})"]
    for run in runs:
        missed = [o for o in run.outcomes if o.question.answerable and not o.gold_ranks]
        if not missed:
            continue
        lines += ["", f"## {run.mode}: questions with no gold page in the top {max(run.k, 10)}", ""]
        for outcome in missed:
            top = ", ".join(f"{d} p.{p}" for d, p in outcome.pages[:3]) or "nothing"
            gold = ", ".join(f"{g.doc_id} p.{g.page}" if g.page else g.doc_id for g in outcome.question.relevant)
            lines.append(f"- line {outcome.question.line} ({outcome.question.lang}): {outcome.question.question} "
                         f"— gold {gold}; got {top}")
    return "\n".join(lines) + "\n"


def _cell(metric: str, value) -> str:
    return f"{value:.1f}" if metric.startswith("latency") else f"{value:.3f}" if isinstance(value, float) else str(value)


def chart(runs: list[ModeRun], path: Path) -> None:
    """Grouped bars: one panel per language (and all), one bar group per metric, one colour per mode."""
    grouped_bars(path, runs, [run.mode for run in runs], ["all", *langs_of(runs)], CHART_METRICS, CHART_METRICS,
                 legend="lower left")


def grouped_bars(path: Path, runs: list, names: list[str], panels: list[str], metrics, ticks, legend: str) -> None:
    """A PNG of bars in [0, 1]: one panel per language ("all" first), a group per metric, a colour per run.

    Each run answers `metrics(lang or None)` with the metrics and `n`; a metric it cannot give
    (None) is drawn as 0.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), sharey=True, squeeze=False)
    width = 0.8 / max(len(runs), 1)
    for ax, panel in zip(axes[0], panels):
        for i, (run, name) in enumerate(zip(runs, names)):
            values = run.metrics(None if panel == "all" else panel)
            xs = [j + (i - (len(runs) - 1) / 2) * width for j in range(len(metrics))]
            ax.bar(xs, [values[m] or 0.0 for m in metrics], width, label=name)
        n = runs[0].metrics(None if panel == "all" else panel)["n"]
        ax.set_title(f"{panel} (n={n})")
        ax.set_xticks(range(len(metrics)), ticks, rotation=30)
        ax.set_ylim(0, 1.05)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(loc=legend, fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def write_report(runs: list[ModeRun], folder: Path, questions_file: str, by: str | None = None) -> tuple[Path, Path]:
    """report.md and chart.png in `folder` (created if needed)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        png = folder / "chart.png"
        chart(runs, png)
        md = folder / "report.md"
        md.write_text(markdown(runs, questions_file, png.name, by), encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"{folder}: cannot write the report ({exc.strerror or exc})") from None
    return md, png
