"""What every store holds and what retrieval reads from it: the records, and the one reader protocol.

Two stores implement `IndexStore` side by side: `embedded` (an index folder: FAISS + SQLite +
BM25 files, the default) and `postgres` (PostgreSQL + pgvector, `GOVQA_STORE=postgresql://…`).
Retrieval (search/, and the page evidence in pagelex.py) is written against the protocol and never
knows which one it holds; both rank with the same BM25 numbers over the same fugashi tokens.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Protocol

import numpy as np

from .. import __version__
from ..lexical import Tokenizer
from ..models import Page

FORMAT_VERSION = 1
# An end offset past any page: IndexStore.page_texts without spans reads whole pages (2**31 - 1, the largest
# length both SQLite and PostgreSQL take).
WHOLE_PAGE = 2**31 - 1
DEFAULT_COLLECTION = "default"  # every document belongs to one collection; older indexes hold only this one


def page_slices(keys: list[tuple[str, int]], spans: list[tuple[int, int]] | None) -> list[tuple[str, int, int, int]]:
    """(doc_id, page, first character counted from 1, length) for each key: what both stores give SQL's
    substr for IndexStore.page_texts (no spans: whole pages)."""
    spans = spans or [(0, WHOLE_PAGE)] * len(keys)
    return [(doc_id, page, start + 1, max(end - start, 0))
            for (doc_id, page), (start, end) in zip(keys, spans, strict=True)]


@dataclass
class DocRecord:
    doc_id: str
    title: str
    path: str
    sha256: str
    pages: int
    lang: str
    kind: str
    file: str = ""  # absolute path of the original, for the file route
    source_path: str = ""  # what answers show: relative to the folder it was indexed from (sourcepath.py)
    url: str | None = None
    publisher: str | None = None
    year: int | None = None
    date: str | None = None
    ocr_pages: list[int] = field(default_factory=list)
    figure_pages: list[int] | None = None  # pages given text read from their figures (figures.py); None: not read yet
    figure_starts: list[int] = field(default_factory=list)  # where each of those pages' figure text begins
    unindexed_pages: list[int] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    collection: str = DEFAULT_COLLECTION


@dataclass
class IndexManifest:
    embedder: str
    dim: int
    documents: list[DocRecord]
    chunks: int
    chunk_policy: dict
    format_version: int = FORMAT_VERSION
    govqa_version: str = __version__
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))

    @classmethod
    def from_json(cls, data: dict) -> "IndexManifest":
        docs = [DocRecord(**d) for d in data.pop("documents")]
        return cls(documents=docs, **data)


class RowFilter:
    """The rows (chunks) a search may return: a boolean mask, and the same as a FAISS selector."""

    def __init__(self, mask: np.ndarray) -> None:
        import faiss

        self.mask = mask
        self.count = int(mask.sum())
        self._bits = np.packbits(mask, bitorder="little")  # IDSelectorBitmap reads bit i of byte i >> 3
        self.selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(self._bits))


@dataclass
class StoredChunk:
    row: int
    doc_id: str
    page: int
    start: int
    end: int
    text: str
    heading: str
    lang: str
    boxes_json: str = ""  # the regions as stored, decoded by `boxes` only for the few chunks that become hits

    @property
    def boxes(self) -> list[list[float]]:
        """The chunk's regions on its page ([x0, y0, x1, y1] in points), [] where none were kept."""
        return json.loads(self.boxes_json) if self.boxes_json else []


def collection_filter(documents: dict[str, DocRecord], row_docs: np.ndarray, collections: frozenset[str],
                      size: int) -> RowFilter:
    """The rows of these collections' documents; `row_docs` holds each row's document number (the
    order of `documents`)."""
    chosen = np.array([d.collection in collections for d in documents.values()], dtype=bool)
    return RowFilter(chosen[row_docs] if len(chosen) else np.zeros(size, dtype=bool))


class FilterCache:
    """Each distinct set of collections' RowFilter, built once and kept (a few sets in practice).

    The builder is passed to `get`, not kept: a reader holding a cache that held one of its own
    methods would be a reference cycle, and a dropped reader must be freed at once (its generation
    stays "in use", so no build can remove it, until it is)."""

    LIMIT = 64  # distinct sets kept before the cache starts again

    def __init__(self) -> None:
        self._found: dict[frozenset[str], RowFilter] = {}
        self._lock = threading.Lock()

    def get(self, collections: frozenset[str], build: Callable[[frozenset[str]], RowFilter]) -> RowFilter:
        with self._lock:  # `build` may read the store once; concurrent first searches wait for it
            found = self._found.get(collections)
            if found is None:
                found = build(collections)
                if len(self._found) >= self.LIMIT:
                    self._found.clear()
                self._found[collections] = found
            return found


class Vectors(Protocol):
    ntotal: int

    def search(self, queries: np.ndarray, k: int, allowed: RowFilter | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the k nearest rows by inner product, best first, -1 where fewer exist."""


class Lexical(Protocol):
    """BM25 (bm25s' Lucene formula) over Tokenizer tokens, one row per chunk, page or document."""

    num_docs: int

    def search(self, query: str, n: int, tokens: list[str] | None = None, weights: dict[str, float] | None = None,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]: ...
    def known(self, tokens: list[str]) -> list[str]: ...
    def query_tokens(self, query: str) -> list[str]: ...
    def idf(self, token: str) -> float: ...
    def rows_with(self, token: str) -> np.ndarray: ...
    def warm(self) -> None: ...


class IndexStore(Protocol):
    """One live generation of an index, as retrieval and the Engine read it; safe for concurrent readers."""

    manifest: IndexManifest
    documents: dict[str, DocRecord]
    collections: set[str]
    tokenizer: Tokenizer
    vectors: Vectors
    lexical: Lexical
    page_lexical: object  # pagelex.PageLexical over two Lexical indexes (pages, documents), or None
    chunk_langs: np.ndarray  # True where a row's passage is Japanese
    has_boxes: bool
    path: PurePath  # for messages; the generation's folder in the embedded store

    @property
    def generation(self) -> str: ...
    @property
    def size(self) -> int: ...
    def chunks(self, rows: list[int]) -> dict[int, StoredChunk]: ...
    def page_chunks(self, doc_id: str, page: int) -> list[StoredChunk]: ...
    def page_text(self, doc_id: str, page: int) -> str | None: ...
    def page_texts(self, keys: list[tuple[str, int]],
                   spans: list[tuple[int, int]] | None = None) -> dict[tuple[str, int], str]: ...
    def pages_of(self, doc_id: str) -> list[Page]: ...
    def row_filter(self, collections: frozenset[str] | None) -> RowFilter | None: ...
    def warm(self) -> None: ...
