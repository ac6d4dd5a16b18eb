"""`govqa db`: the PostgreSQL store's schema (`govqa db upgrade`) and what it holds (`govqa db status`)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.console import Console

from .config import Settings
from .errors import GovqaError

err = Console(stderr=True)
db_app = typer.Typer(help="The shared PostgreSQL store (--store / GOVQA_STORE): schema upgrades and status.",
                     no_args_is_help=True)
StoreOpt = typer.Option(None, "--store", help="postgresql://… URL (env GOVQA_STORE).")


def _url(store: Optional[str]) -> str:
    url = store or Settings().store
    if not url:
        raise GovqaError("no database given: pass --store postgresql://… or set GOVQA_STORE")
    return url


@db_app.command()
def upgrade(store: Optional[str] = StoreOpt) -> None:
    """Bring the database's govqa schema to this version (an empty database is set up)."""
    from .store.pgschema import SCHEMA_VERSION, connect, describe
    from .store.pgschema import upgrade as run_upgrade

    url = _url(store)
    with connect(url, vectors=False) as conn:
        before, after = run_upgrade(conn)
    if before == after:
        err.print(f"{describe(url)}: schema already at version {SCHEMA_VERSION}", highlight=False)
    else:
        err.print(f"{describe(url)}: schema upgraded from version {before} to {after}", highlight=False)


@db_app.command()
def status(store: Optional[str] = StoreOpt) -> None:
    """The schema version, the live generation and the generations kept."""
    from .store.pgschema import SCHEMA_VERSION, connect, describe, schema_version

    url = _url(store)
    with connect(url, vectors=False) as conn:
        version = schema_version(conn)
        print(f"{describe(url)}: schema version {version} (this govqa: {SCHEMA_VERSION})")
        if version:
            live = conn.execute("SELECT generation FROM govqa_current").fetchone()[0]
            for gen_id, name, created in conn.execute(
                    "SELECT id, name, created FROM govqa_generations ORDER BY id").fetchall():
                print(f"{name}  {created:%Y-%m-%d %H:%M:%S}{'  live' if gen_id == live else ''}")
