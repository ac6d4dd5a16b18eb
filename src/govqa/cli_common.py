"""What the govqa commands share: the consoles, the index options, settings from them, one-line failures."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .config import Settings

out = Console()
err = Console(stderr=True)

IndexDirOpt = typer.Option(None, "--index-dir", help="Index folder (env GOVQA_INDEX_DIR, default index/).")
StoreOpt = typer.Option(None, "--store", help="postgresql://… URL of a shared index (env GOVQA_STORE, extra postgres; "
                        "default: the --index-dir folder).")
CollectionsOpt = typer.Option(None, "--collections", help="Only these collections, comma-separated (default: all).")


def settings_for(index_dir: Optional[Path] = None, **overrides) -> Settings:
    settings = Settings()
    if index_dir is not None:
        settings.index_dir = index_dir
    for key, value in overrides.items():
        if value is not None:
            setattr(settings, key, value)
    return settings


def fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, transient=True)


def names(value: Optional[str]) -> list[str] | None:
    return None if value is None else [n.strip() for n in value.split(",") if n.strip()]
