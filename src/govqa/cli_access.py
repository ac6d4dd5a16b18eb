"""`govqa collections` and `govqa tokens`: who may see which documents (thin commands over catalog.py and tokens.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from . import audit, catalog
from .config import Settings
from .tokens import TokenStore

out = Console()
err = Console(stderr=True)
IndexDirOpt = typer.Option(None, "--index-dir", help="Index folder (env GOVQA_INDEX_DIR, default index/).")

collections_app = typer.Typer(help="List, create, rename and delete collections (groups of documents).",
                              invoke_without_command=True, no_args_is_help=False)
tokens_app = typer.Typer(help="Create, list and revoke access tokens for the HTTP API.", no_args_is_help=True)


def _settings(index_dir: Optional[Path]) -> Settings:
    settings = Settings()
    if index_dir is not None:
        settings.index_dir = index_dir
    return settings


def _names(value: Optional[str]) -> list[str] | None:
    """"a,b" -> ["a", "b"]; None stays None."""
    if value is None:
        return None
    return [n.strip() for n in value.split(",") if n.strip()]


@collections_app.callback()
def collections_main(ctx: typer.Context,
                     as_json: bool = typer.Option(False, "--json", help="Print JSON."),
                     index_dir: Optional[Path] = IndexDirOpt) -> None:
    """Without a subcommand: list the collections with their documents and pages."""
    if ctx.invoked_subcommand is None:
        _list(as_json, index_dir)


def _list(as_json: bool, index_dir: Optional[Path]) -> None:
    found = catalog.listing(_settings(index_dir).index_dir)
    if as_json:
        print(json.dumps({"collections": [c.__dict__ for c in found]}, ensure_ascii=False))
        return
    table = Table(title=f"{len(found)} collections")
    for name in ("name", "title", "documents", "pages"):
        table.add_column(name, justify="right" if name in ("documents", "pages") else "left")
    for c in found:
        table.add_row(c.name, c.title, str(c.documents), str(c.pages))
    out.print(table)


@collections_app.command("list")
def collections_list(as_json: bool = typer.Option(False, "--json", help="Print JSON."),
                     index_dir: Optional[Path] = IndexDirOpt) -> None:
    """The collections with their documents and pages."""
    _list(as_json, index_dir)


@collections_app.command("create")
def collections_create(name: str = typer.Argument(..., help="a-z, 0-9, '_' and '-', e.g. zaisei."),
                       title: str = typer.Option("", "--title", help="What staff see, e.g. 財政課."),
                       index_dir: Optional[Path] = IndexDirOpt) -> None:
    """A new, empty collection (`govqa index PATH --collection NAME` also creates one)."""
    settings = _settings(index_dir)
    catalog.create(settings.index_dir, name, title)
    audit.record(settings, "collection.create", audit.cli_user(), collection=name, title=title)
    err.print(f"collection {name} created", highlight=False)


@collections_app.command("rename")
def collections_rename(old: str = typer.Argument(...), new: str = typer.Argument(...),
                       index_dir: Optional[Path] = IndexDirOpt) -> None:
    """Give a collection a new name; its documents and the tokens that name it follow (nothing re-indexed)."""
    settings = _settings(index_dir)
    moved = catalog.rename(settings.index_dir, old, new)
    audit.record(settings, "collection.rename", audit.cli_user(), collection=old, to=new, documents=moved)
    err.print(f"collection {old} is now {new} ({moved} documents); a running server picks it up on "
              f"POST /admin/reload or SIGHUP", highlight=False)


@collections_app.command("title")
def collections_title(name: str = typer.Argument(...), title: str = typer.Argument(...),
                      index_dir: Optional[Path] = IndexDirOpt) -> None:
    """Set the title staff see for a collection."""
    settings = _settings(index_dir)
    catalog.set_title(settings.index_dir, name, title)
    audit.record(settings, "collection.title", audit.cli_user(), collection=name, title=title)


@collections_app.command("delete")
def collections_delete(name: str = typer.Argument(...),
                       with_documents: bool = typer.Option(False, "--with-documents",
                                                           help="Also remove the collection's documents from the index."),
                       index_dir: Optional[Path] = IndexDirOpt) -> None:
    """Delete an empty collection (or, with --with-documents, its documents too); tokens lose it."""
    from .build import build_index

    settings = _settings(index_dir)
    doomed = catalog.documents_of(settings.index_dir, name)
    if doomed and with_documents:
        build_index([], settings, remove=doomed)
        audit.record(settings, "document.delete", audit.cli_user(), collection=name, doc_ids=doomed)
    catalog.delete(settings.index_dir, name)
    audit.record(settings, "collection.delete", audit.cli_user(), collection=name)
    err.print(f"collection {name} deleted" + (f" with {len(doomed)} documents" if doomed and with_documents else ""),
              highlight=False)


@tokens_app.command("create")
def tokens_create(
    role: str = typer.Option(..., "--role", help="reader (search and read), editor (also upload and delete), admin (all)."),
    collections: Optional[str] = typer.Option(None, "--collections", help="Comma-separated collection names (not for admin)."),
    label: str = typer.Option("", "--label", help="Whose token this is, for the list and the audit log."),
    as_json: bool = typer.Option(False, "--json", help='Print {"token": …} only.'),
    index_dir: Optional[Path] = IndexDirOpt,
) -> None:
    """A new token, printed once: only its hash is kept. Once a token exists, the API needs one."""
    settings = _settings(index_dir)
    known = {c.name for c in catalog.listing(settings.index_dir)}
    token, record = TokenStore(settings.index_dir).create(role, _names(collections), label, known)
    audit.record(settings, "token.create", audit.cli_user(), token_id=record.id, role=record.role,
                 collections=record.collections, label=label)
    if as_json:
        print(json.dumps({"token": token, "id": record.id, "role": record.role, "collections": record.collections},
                         ensure_ascii=False))
        return
    print(token)
    err.print(f"token {record.id} ({record.role}"
              f"{': ' + ', '.join(record.collections) if record.collections else ', every collection'}) — "
              f"shown only now; send it as 'Authorization: Bearer TOKEN'", highlight=False, soft_wrap=True)


@tokens_app.command("list")
def tokens_list(as_json: bool = typer.Option(False, "--json", help="Print JSON."),
                index_dir: Optional[Path] = IndexDirOpt) -> None:
    """Every token's id, role, collections and label (never the token itself)."""
    records = TokenStore(_settings(index_dir).index_dir).records()
    if as_json:
        print(json.dumps({"tokens": [r.shown() for r in records]}, ensure_ascii=False))
        return
    table = Table(title=f"{len(records)} tokens")
    for name in ("id", "role", "collections", "label", "created"):
        table.add_column(name)
    for r in records:
        table.add_row(r.id, r.role, ", ".join(r.collections) if r.collections else "(all)", r.label, r.created)
    out.print(table)


@tokens_app.command("revoke")
def tokens_revoke(token_id: str = typer.Argument(..., help="The id shown by `govqa tokens list`."),
                  index_dir: Optional[Path] = IndexDirOpt) -> None:
    """Revoke a token at once (a running server re-reads the token file on its next request)."""
    settings = _settings(index_dir)
    record = TokenStore(settings.index_dir).revoke(token_id)
    audit.record(settings, "token.revoke", audit.cli_user(), token_id=record.id, role=record.role,
                 collections=record.collections, label=record.label)
    err.print(f"token {record.id} revoked", highlight=False)
