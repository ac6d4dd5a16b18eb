"""Which store a command reads and writes: the index folder, or the PostgreSQL database of GOVQA_STORE / --store."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import numpy as np

from ..lexical import LexicalIndex
from ..models import Chunk, Page
from .base import IndexManifest, IndexStore
from .embedded import IndexReader, build_lock, current_generation, write_generation


class BuildTarget(Protocol):
    """Where a build reads the live generation from and writes the next one (build.py)."""

    where: str  # for messages

    def locked(self) -> AbstractContextManager: ...
    def previous(self) -> IndexStore | None: ...
    def write(self, manifest: IndexManifest, pages: dict[str, list[Page]], chunks: list[Chunk], vectors: np.ndarray,
              lexical: LexicalIndex, page_lexical, boxes: list[list[list[float]]] | None) -> str: ...


class FolderTarget:
    """The embedded store: one build at a time per folder (flock), a new generation folder per build."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.where = str(index_dir)

    def locked(self) -> AbstractContextManager:
        return build_lock(self.index_dir)

    def previous(self) -> IndexReader | None:
        gen = current_generation(self.index_dir)
        return IndexReader(gen) if gen else None

    def write(self, manifest, pages, chunks, vectors, lexical, page_lexical, boxes) -> str:
        return write_generation(self.index_dir, manifest, pages, chunks, vectors, lexical, page_lexical, boxes).name


def open_reader(settings) -> IndexStore:
    """The live generation of the configured store."""
    if settings.store:
        from .pgschema import require_postgres_extra

        require_postgres_extra()
        from .postgres import PostgresReader

        return PostgresReader.open(settings.store)
    return IndexReader.open(settings.index_dir)


def open_target(settings) -> BuildTarget:
    if settings.store:
        from .pgwrite import PostgresTarget

        return PostgresTarget(settings.store)
    return FolderTarget(settings.index_dir)


def live_generation(settings) -> str | None:
    """The name of the generation a new reader would open (cheap: one file read or one query)."""
    if settings.store:
        from .pgschema import Database

        return Database.shared(settings.store).live_generation()
    gen = current_generation(settings.index_dir)
    return gen.name if gen else None
