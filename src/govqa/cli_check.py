"""The commands that check: `govqa support` (an article's claims against the documents), `govqa eval`
(retrieval and answers against questions with gold pages) and `govqa eval-support` (the verdicts
against labelled claims). Registered on the app in cli.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from .cli_common import CollectionsOpt, IndexDirOpt, StoreOpt, err, fail, names, out, progress_bar, settings_for


def support(
    article: Path = typer.Argument(..., help="The article: .txt, .md or .html."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (the contract's shape)."),
    report: Optional[Path] = typer.Option(None, "--report", help="Also write a Markdown report, with a picture of each "
                                          "quoted passage on its page: a folder (report.md + images/) or a .md file "
                                          "(--report alone: ./govqa-report/support/)."),
    manifest: Optional[Path] = typer.Option(None, "--manifest", help="Map footnotes to the sources of this manifest "
                                            "(default: corpus/sources.toml, only for the article it describes)."),
    fetch_missing: bool = typer.Option(False, "--fetch-missing", help="Download the URLs of references that match "
                                       "no indexed document (as govqa fetch does), then re-run govqa index."),
    dest: Path = typer.Option(Path("corpus/raw"), "--dest", help="Where --fetch-missing puts files."),
    lock: Optional[Path] = typer.Option(None, "--lock", help="Lock file for --fetch-missing (default corpus/sources.lock)."),
    collections: Optional[str] = CollectionsOpt,
    index_dir: Optional[Path] = IndexDirOpt,
    store: Optional[str] = StoreOpt,
) -> None:
    """For each claim of an article: supported, weak, contradicted or unsupported, with the deciding passages."""
    from .claims import read_article
    from .engine import Engine
    from .passageimage import write_support_report
    from .support import SupportChecker, load_footnote_sources, manifest_for, summary_line

    settings = settings_for(index_dir, store=store)
    parsed = read_article(article)
    by_footnote = load_footnote_sources(manifest) if manifest is not None else manifest_for(parsed, settings.manifest)
    engine = Engine.open(settings)
    checker = SupportChecker(engine, by_footnote)
    references = checker.match(parsed)
    if fetch_missing:
        _fetch_references(references, dest, lock or Path("corpus/sources.lock"))
    from .access import Access, acting_as

    with acting_as(Access(collections=engine.scope(names(collections)))):  # its searches read only these
        results = checker.check_article(parsed)
    if not results:
        err.print(f"{article}: no claim sentences found (headings, references and captions are not claims)",
                  highlight=False, soft_wrap=True)
    if report is not None:
        try:
            written = write_support_report(engine, results, article.name, report, references)
        except OSError as exc:
            fail(f"--report {report}: cannot write the report ({exc.strerror or exc})")
        err.print(f"report: {written}", highlight=False)
    if as_json:
        out.print_json(json.dumps({"claims": [r.to_dict() for r in results], "summary": summary_line(results),
                                   "references": [m.to_dict() for m in references]}, ensure_ascii=False))
        return
    styles = {"supported": "green", "weak": "yellow", "contradicted": "magenta", "unsupported": "red"}
    table = Table(title=f"{len(results)} claims in {article.name}: {summary_line(results)}", show_lines=True)
    for name in ("#", "claim", "fn", "verdict", "deciding passage"):
        table.add_column(name, overflow="fold")
    for r in results:
        best = f"{r.passages[0].doc_id} p.{r.passages[0].page}: {' '.join(r.passages[0].text.split())[:160]}" \
            if r.passages else "—"
        conflicts = "".join(f"\n[magenta]claim: {escape(c.claim)} ≠ source: {escape(c.passage)}[/]" for c in r.conflicts)
        cross = " [dim](cross-language)[/dim]" if r.cross_language else ""
        note = f"\n[dim]{escape(r.note)}[/dim]" if r.note else ""
        table.add_row(str(r.claim.n), escape(r.claim.text), ",".join(map(str, r.claim.footnotes)),
                      f"[{styles[r.verdict]}]{r.verdict}[/] {r.score:.2f}{cross}", escape(best) + conflicts + note)
    out.print(table)
    missing = [m for m in references if m.doc_id is None]
    if references:
        err.print(f"{len(references) - len(missing)} of {len(references)} references match an indexed document"
                  + (f"; not indexed: {', '.join(str(m.reference.n) for m in missing[:20])}"
                     + ("…" if len(missing) > 20 else "") + " (--fetch-missing downloads their URLs)" if missing else ""),
                  highlight=False, soft_wrap=True)


def _fetch_references(references, dest: Path, lock: Path) -> None:
    from .references import fetch_missing

    def show(result) -> None:
        style = "green" if result.status in ("ok", "cached", "changed") else "red"
        err.print(f"[{style}]{result.status:>7}[/{style}] {result.source.url}: {result.message}",
                  highlight=False, soft_wrap=True)

    results = fetch_missing(references, dest, lock, on_result=show)
    ready = sum(r.status != "failed" for r in results)
    if results:
        err.print(f"{ready} of {len(results)} missing references fetched into {dest}; "
                  f"run `govqa index {dest}` to check the claims against them", highlight=False, soft_wrap=True)
    else:
        err.print("no reference to fetch: every reference matches an indexed document or gives no URL", highlight=False)


def eval_support(
    claims: Path = typer.Argument(Path("eval/support-claims.jsonl"), help="JSONL of labelled claims (claim, lang, kind, expect, split)."),
    articles: Optional[Path] = typer.Option(None, "--articles", help="JSONL of articles with gold claims and references "
                                            "(default eval/support-articles.jsonl when present)."),
    split: str = typer.Option("all", "--split", help="dev, test or all: which part of the claims to score."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    index_dir: Optional[Path] = IndexDirOpt,
    store: Optional[str] = StoreOpt,
) -> None:
    """Per-verdict precision and recall of `govqa support` on a labelled claim set, and its article parsing."""
    from .engine import Engine
    from .support import VERDICTS, SupportChecker
    from . import supporteval as se

    if split not in ("dev", "test", "all"):
        fail(f"--split {split}: use dev, test or all")
    rows = [r for r in se.load_jsonl(claims, ("claim", "lang", "kind", "expect"))
            if split == "all" or r.get("split", "dev") == split]
    if not rows:
        fail(f"{claims}: no claims in the {split} split")
    articles = articles or (Path("eval/support-articles.jsonl") if Path("eval/support-articles.jsonl").is_file() else None)
    checker = SupportChecker(Engine.open(settings_for(index_dir, store=store)))
    with progress_bar() as progress:
        task = progress.add_task("checking claims", total=len(rows))
        outcomes = se.run_claims(checker, rows, lambda: progress.advance(task))
    metrics = se.verdict_metrics(outcomes)
    article_results = se.run_articles(checker, se.load_jsonl(articles, ("file",)), articles.parent) if articles else []
    if as_json:
        metrics["articles"] = [vars(a) for a in article_results]
        metrics["claims"] = [{"id": o.item.get("id"), "expect": o.item["expect"], "verdict": o.verdict,
                              "score": o.score, "cross_language": o.cross_language} for o in outcomes]
        out.print_json(json.dumps(metrics, ensure_ascii=False))
        return
    table = Table(title=f"{claims.name} ({split}, {len(rows)} claims): verdicts", padding=(0, 1))
    for name in ("verdict", "precision", "recall", "predicted", "gold"):
        table.add_column(name, justify="left" if name == "verdict" else "right")
    for verdict in VERDICTS:
        m = metrics["verdicts"][verdict]
        table.add_row(verdict, *("—" if m[k] is None else f"{m[k]:.3f}" for k in ("precision", "recall")),
                      str(m["predicted"]), str(m["gold"]))
    out.print(table)
    for name, value in metrics["targets"].items():
        out.print(f"{name}: {'—' if value is None else f'{value:.3f}'}", highlight=False)
    for a in article_results:
        out.print(f"{a.file}: {a.claims} claims (gold {a.expected_claims}), not-claims taken as claims: "
                  f"{len(a.leaked)}{' ' + '; '.join(a.leaked) if a.leaked else ''}, references right: "
                  f"{a.references_right}/{a.references}{' ' + '; '.join(a.wrong) if a.wrong else ''}",
                  highlight=False, soft_wrap=True)


def evaluate(
    questions: Path = typer.Argument(..., help="JSONL: {\"question\": …, \"relevant\": [{\"doc_id\": …, \"page\": N}]} per line."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (the contract's shape)."),
    compare: Optional[str] = typer.Option(None, "--compare", help="Retrieval modes side by side, e.g. bm25,dense,hybrid."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write report.md and chart.png into this folder (--report alone: ./govqa-report/)."),
    k: int = typer.Option(10, "-k", "--k", min=1, max=100, help="Extra cutoff for hit@k and recall@k (depth is at least 10)."),
    answers: bool = typer.Option(False, "--answers", help="Also ask every question and judge the answers' citations by page."),
    llm: Optional[str] = typer.Option(None, "--llm", help="With --answers: LLM backends side by side, e.g. extractive,openai."),
    where: Optional[list[str]] = typer.Option(None, "--where", help="Only questions whose field matches, e.g. confident=true (repeatable)."),
    by: Optional[str] = typer.Option(None, "--by", help="Also report per value of this field, e.g. type."),
    index_dir: Optional[Path] = IndexDirOpt,
    store: Optional[str] = StoreOpt,
) -> None:
    """Page-level retrieval metrics: hit@1/5/10, recall@10, MRR@10, nDCG@10, latency, per language."""
    from .engine import Engine
    from .evalreport import metric_rows, write_report
    from . import evaluate as ev

    if answers:
        from .evalanswers import llm_names

        compare, llms = llm_names(compare, llm)  # --compare may name backends instead of modes
    elif llm is not None:
        fail("--llm needs --answers (it names the backends whose answers are judged)", code=2)
    modes = ev.parse_modes(compare)
    items = ev.select(ev.load_questions(questions), where or [])
    ev.groups_of(items, by)  # a wrong --by fails before the run
    # memo_vectors=0: every question pays its own embedding, so modes compared on the same questions
    # report the latency a first-time question has (a remembered query vector would make later modes look free)
    engine = Engine.open(settings_for(index_dir, memo_vectors=0, store=store))
    engine.warm()  # questions embedded as `govqa serve` embeds them, so ranks and times are the server's
    with progress_bar() as progress:
        task = progress.add_task("evaluating", total=len(items) * len(modes))
        runs = ev.evaluate(lambda q, depth, mode: (progress.advance(task), engine.search(q, k=depth, mode=mode))[1],
                           items, modes, k=k)
    answer_runs = _eval_answers(engine, items, llms) if answers else []
    if report is not None:
        md, png = write_report(runs, report, str(questions), by)
        if answer_runs:
            from .answersreport import append_report

            png = f"{png}, {append_report(answer_runs, md)}"
        err.print(f"report: {md} and {png}", highlight=False)
    if as_json:
        result = ev.to_json(runs, by)
        if answer_runs:
            from .evalanswers import answers_json

            result["answers"] = answers_json(answer_runs)
        out.print_json(json.dumps(result, ensure_ascii=False))
        return
    # recall@10 and latency p95 are in --json and --report; the terminal table keeps to 80 columns.
    columns = {"hit@1": "h@1", "hit@5": "h@5", "hit@10": "h@10", "mrr@10": "MRR", "ndcg@10": "nDCG",
               "latency_ms_p50": "p50 ms"}
    table = Table(title=f"{questions.name}: page-level retrieval", padding=(0, 1))
    table.add_column("mode", overflow="fold", min_width=8)  # a long mode name folds; the numbers never become "0.8…"
    table.add_column("lang", no_wrap=True, min_width=4)
    table.add_column("n", justify="right", no_wrap=True, min_width=3)
    for name in columns.values():
        table.add_column(name, justify="right", no_wrap=True, min_width=max(len(name), 5))
    for mode, lang, metrics in metric_rows(runs, by):
        table.add_row(mode, lang, str(metrics["n"]), *(f"{metrics[c]:.0f}" if c.startswith("latency")
                                                      else f"{metrics[c]:.3f}" for c in columns))
    out.print(table)
    if runs[0].metrics()["unanswerable"]:
        err.print(f"{runs[0].metrics()['unanswerable']} question(s) marked unanswerable were left out of the metrics",
                  highlight=False)
    if answer_runs:
        _print_answer_table(answer_runs, questions.name)


def _eval_answers(engine, items, llms: list[str]):
    from .evalanswers import run_answers

    runs = []
    with progress_bar() as progress:
        for name in llms:
            task = progress.add_task(f"answering ({name})", total=len(items))
            runs.append(run_answers(lambda q, backend: engine.ask(q, llm=backend), items, name,
                                    on_answer=lambda: progress.advance(task)))
    return runs


def _print_answer_table(runs, name: str) -> None:
    from .evalanswers import answer_rows

    # The report and --json add answer length, p95 and the questions missed.
    columns = {"abstain_answerable": "abst", "abstain_unanswerable": "abst-un", "gold_cited": "cited",
               "gold_in_passages": "in psg", "citations": "cit/a", "latency_ms_p50": "p50 ms"}
    table = Table(title=f"{name}: answers (gold page cited, abstentions)", padding=(0, 1))
    table.add_column("llm", overflow="fold", min_width=8)
    table.add_column("lang", no_wrap=True, min_width=4)
    table.add_column("n", justify="right", no_wrap=True, min_width=3)
    for label in columns.values():
        table.add_column(label, justify="right", no_wrap=True, min_width=max(len(label), 5))
    for llm, lang, metrics in answer_rows(runs):
        cells = []
        for c in columns:
            value = metrics[c]
            cells.append("—" if value is None else f"{value:.0f}" if c.startswith("latency")
                         else f"{value:.1f}" if c == "citations" else f"{value:.3f}")
        table.add_row(llm, lang, str(metrics["n"] + metrics["unanswerable"]), *cells)
    out.print(table)
