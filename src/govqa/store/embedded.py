"""The embedded store, an index folder: manifest + FAISS vectors + SQLite chunk/page store + BM25, written atomically.

Layout of an index folder:
    CURRENT          one line naming the live generation (replaced atomically)
    gen-000007/      manifest.json, vectors.faiss, store.sqlite, lexical/
    cache/           embeddings and parsed pages reused by the next build
A build writes a new generation beside the live one, fsyncs it, and only then
points CURRENT at it, so a crash at any moment leaves the previous index intact.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import threading
import uuid
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .. import inuse, pagelex
from ..errors import IndexFormatError, IndexNotFound
from ..lexical import LexicalIndex, Tokenizer
from ..models import Chunk, Page
from .base import (  # noqa: F401  (re-exported: `from govqa.store import DocRecord` reads them from here)
    DEFAULT_COLLECTION,
    FORMAT_VERSION,
    DocRecord,
    FilterCache,
    IndexManifest,
    RowFilter,
    StoredChunk,
    collection_filter,
    page_slices,
)

EXACT_MAX = 200_000  # vectors searched exactly (IndexFlatIP); larger indexes use IVF (vector_index)
IVF_TRAIN_PER_LIST = 40  # training vectors per IVF list (FAISS warns below 39)
IVF_NPROBE = 64  # lists searched per query; bench/bench_ann.py: recall vs exact at 1M


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            _fsync_file(path)
    for path in [folder, *[p for p in folder.rglob("*") if p.is_dir()]]:
        _fsync_file(path)


def write_atomic(path: Path, data: bytes) -> None:
    """Write beside, fsync, rename: readers see the old or the new file, never half of one."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_file(path.parent)


@contextmanager
def build_lock(index_dir: Path):
    """One build at a time per index folder (readers never wait)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def current_generation(index_dir: Path) -> Path | None:
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    gen = index_dir / name
    return gen if name.startswith("gen-") and gen.is_dir() else None


def write_generation(index_dir: Path, manifest: IndexManifest, pages: dict[str, list[Page]],
                     chunks: list[Chunk], vectors: np.ndarray, lexical: LexicalIndex, page_lexical=None,
                     boxes: list[list[list[float]]] | None = None) -> Path:
    """Write a complete new generation and make it current. Call under build_lock."""
    import faiss

    tmp = index_dir / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir(parents=True)
    try:
        faiss.write_index(vector_index(vectors, manifest.dim), str(tmp / "vectors.faiss"))
        _write_sqlite(tmp / "store.sqlite", manifest, pages, chunks)
        if boxes is not None:
            _write_boxes(tmp / "store.sqlite", boxes)
        lexical.save(tmp / "lexical")
        if page_lexical is not None:
            page_lexical.save(tmp / pagelex.FOLDER)
        write_manifest(tmp, manifest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return publish_generation(index_dir, tmp)


def write_manifest(folder: Path, manifest: IndexManifest) -> None:
    (folder / "manifest.json").write_text(json.dumps(asdict(manifest), ensure_ascii=False, indent=1),
                                          encoding="utf-8")


def publish_generation(index_dir: Path, tmp: Path) -> Path:
    """Make the complete folder `tmp` the next generation: fsync it, rename it into place, point
    CURRENT at it, then drop what no reader needs. `tmp` is removed if any step fails. Call under build_lock."""
    try:
        _fsync_tree(tmp)
        previous = current_generation(index_dir)
        number = int(previous.name.split("-")[1]) + 1 if previous else 1
        gen = index_dir / f"gen-{number:06d}"
        while gen.exists():
            number += 1
            gen = index_dir / f"gen-{number:06d}"
        os.rename(tmp, gen)
        _fsync_file(index_dir)
        write_atomic(index_dir / "CURRENT", f"{gen.name}\n".encode())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _collect_garbage(index_dir, keep={gen.name, previous.name if previous else ""})
    return gen


def _collect_garbage(index_dir: Path, keep: set[str]) -> None:
    """Drop stale temp folders and generations older than the previous one that no process still reads."""
    for path in index_dir.iterdir():
        if path.is_dir() and path.name.startswith(".tmp-"):
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_dir() and path.name.startswith("gen-") and path.name not in keep:
            inuse.remove_unless_in_use(path)  # a server that has not reloaded yet still reads it


def _write_sqlite(path: Path, manifest: IndexManifest, pages: dict[str, list[Page]], chunks: list[Chunk]) -> None:
    db = sqlite3.connect(path)
    with db:
        db.executescript("""
            CREATE TABLE pages (doc_id TEXT, page INTEGER, text TEXT, ocr INTEGER, PRIMARY KEY (doc_id, page));
            CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc_id TEXT, page INTEGER, start INTEGER, "end" INTEGER,
                                 text TEXT, heading TEXT, lang TEXT);
            CREATE INDEX chunks_by_page ON chunks (doc_id, page);
        """)
        db.executemany("INSERT INTO pages VALUES (?, ?, ?, ?)",
                       [(doc_id, p.page, p.text, int(p.ocr)) for doc_id, doc_pages in pages.items() for p in doc_pages])
        db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [(i, c.doc_id, c.page, c.start, c.end, c.text, c.heading, c.lang) for i, c in enumerate(chunks)])
    db.close()


def _write_boxes(path: Path, boxes: list[list[list[float]]]) -> None:
    """A table of its own, so an index written before it existed still reads (its hits have no boxes)."""
    db = sqlite3.connect(path)
    with db:
        db.execute("CREATE TABLE chunk_boxes (id INTEGER PRIMARY KEY, boxes TEXT)")
        db.executemany("INSERT INTO chunk_boxes VALUES (?, ?)", [(i, json.dumps(b)) for i, b in enumerate(boxes)])
    db.close()


def vector_index(vectors: np.ndarray, dim: int):
    """Exact inner-product search up to EXACT_MAX vectors; above, IVF (nlist ~ sqrt(n)) with nprobe set for recall.

    bench/bench_ann.py measured both sides: exact search grows linearly (about 20 ms per 100k
    vectors on one core), IVF stays in single milliseconds at 1M.
    """
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if len(vectors) <= EXACT_MAX:
        index = faiss.IndexFlatIP(dim)
    else:
        nlist = int(np.sqrt(len(vectors)))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(0).choice(len(vectors), size=min(len(vectors), IVF_TRAIN_PER_LIST * nlist),
                                                 replace=False)
        index.train(vectors[np.sort(sample)])
        index.nprobe = min(nlist, IVF_NPROBE)
    if len(vectors):
        index.add(vectors)
    return index


def _read_vectors(path: Path):
    """Memory-mapped where FAISS can (several server workers then share one copy in the page cache)."""
    import faiss

    # IO_FLAG_MMAP alone copies flat vectors into private memory; MMAP_IFC (FAISS >= 1.10) maps them in place.
    index = None
    for flag in ("IO_FLAG_MMAP_IFC", "IO_FLAG_MMAP"):
        if hasattr(faiss, flag):
            try:
                index = faiss.read_index(str(path), getattr(faiss, flag) | faiss.IO_FLAG_READ_ONLY)
                break
            except RuntimeError:
                continue
    if index is None:
        index = faiss.read_index(str(path))
    if hasattr(index, "nprobe"):  # set at load, so a change of IVF_NPROBE needs no rebuild
        index.nprobe = min(index.nlist, IVF_NPROBE)
    return index


def warm_vectors(vectors: "SearchOnCallingThread") -> None:
    """Search once through every vector (every IVF list), so that each page of a memory-mapped
    index is faulted in; the index's nprobe is left as it was."""
    index = vectors.index
    if not index.ntotal:
        return
    nprobe = getattr(index, "nprobe", None)
    if nprobe is not None:
        index.nprobe = index.nlist
    try:
        vectors.search(np.zeros((1, index.d), dtype=np.float32), 1)
    finally:
        if nprobe is not None:
            index.nprobe = nprobe


def page_texts_sql(n: int) -> str:
    """The query for n pages' text, (doc_id, page, first character from 1, length) bound for each in turn.

    A join, not `(doc_id, page) IN (VALUES ...)`: SQLite scans the whole table for that row-value IN
    (1.8 ms a query at 2,300 pages, growing with the index), but looks each key of the join up in the
    primary key (0.04 ms).
    """
    values = ", ".join("(?, ?, ?, ?)" for _ in range(n))
    return (f"SELECT p.doc_id, p.page, substr(p.text, k.column3, k.column4) FROM (VALUES {values}) AS k "
            f"JOIN pages p ON p.doc_id = k.column1 AND p.page = k.column2")


class SearchOnCallingThread:
    """A FAISS index whose search uses only the calling thread.

    One query is too little work to split: with OpenMP threads on a busy 2-core machine a
    10k-vector search took 24 ms instead of 1 ms (bench/bench_query.py). The server's
    parallelism comes from concurrent requests instead. Everything else is the index's own.
    """

    def __init__(self, index) -> None:
        self.index = index

    def search(self, queries: np.ndarray, k: int, allowed: "RowFilter | None" = None):
        """The k nearest rows; with `allowed`, the k nearest among those rows (filtered before ranking)."""
        import faiss

        faiss.omp_set_num_threads(1)  # per calling thread (OpenMP's setting is thread-local)
        if allowed is None:
            return self.index.search(queries, k)
        k = min(k, allowed.count) or 1
        nprobe = getattr(self.index, "nprobe", None)
        if nprobe is None:
            return self.index.search(queries, k, params=faiss.SearchParameters(sel=allowed.selector))
        scores, rows = self.index.search(queries, k, params=faiss.SearchParametersIVF(sel=allowed.selector, nprobe=nprobe))
        if (rows[0] >= 0).sum() < k and nprobe < self.index.nlist:
            # A small collection may have too few rows in the probed lists: look in every list, so
            # a filtered search still returns k rows when k exist (the selector skips the others cheaply).
            params = faiss.SearchParametersIVF(sel=allowed.selector, nprobe=self.index.nlist)
            scores, rows = self.index.search(queries, k, params=params)
        return scores, rows

    def __getattr__(self, name: str):
        return getattr(self.index, name)


class IndexReader:
    """A loaded generation: safe for concurrent readers (one SQLite connection per thread)."""

    def __init__(self, gen: Path) -> None:
        self.path = gen
        try:
            inuse.hold(self, gen)  # until this reader is garbage collected, no build deletes its generation
            data = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexFormatError(f"index at {gen} is unreadable ({exc}); rebuild it with `govqa index`") from exc
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise IndexFormatError(f"index at {gen} has format version {version}, this govqa reads version "
                                   f"{FORMAT_VERSION}; rebuild it with `govqa index`")
        self.manifest = IndexManifest.from_json(data)
        self.vectors = SearchOnCallingThread(_read_vectors(gen / "vectors.faiss"))
        self.tokenizer = Tokenizer()
        self.lexical = LexicalIndex.load(gen / "lexical", self.tokenizer)
        self.page_lexical = pagelex.PageLexical.load(gen / pagelex.FOLDER, self.tokenizer)  # None before issue 14
        self.documents = {d.doc_id: d for d in self.manifest.documents}
        self._local = threading.local()
        self.chunk_langs = np.array([lang == "ja" for (lang,) in
                                     self._db().execute("SELECT lang FROM chunks ORDER BY id")], dtype=bool)
        self.collections = {d.collection for d in self.manifest.documents}
        self._row_docs: np.ndarray | None = None  # document number of each row, read on the first filtered search
        self._filters = FilterCache()
        self.has_boxes = self._db().execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chunk_boxes'").fetchone() is not None

    @classmethod
    def open(cls, index_dir: Path) -> "IndexReader":
        gen = current_generation(index_dir)
        if gen is None:
            raise IndexNotFound(f"no index in {index_dir}: build one with `govqa index PATH...` "
                                f"(or point --index-dir / GOVQA_INDEX_DIR at an existing one)")
        try:
            return cls(gen)
        except IndexFormatError:
            # Two builds may have finished between reading CURRENT and opening its generation.
            if gen.is_dir() or current_generation(index_dir) in (None, gen):
                raise
            return cls(current_generation(index_dir))

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = sqlite3.connect(f"file:{self.path / 'store.sqlite'}?mode=ro", uri=True,
                                                  check_same_thread=False)
        return db

    def chunks(self, rows: list[int]) -> dict[int, StoredChunk]:
        if not rows:
            return {}
        found = self._select_chunks(f"c.id IN ({','.join('?' * len(rows))})", [int(r) for r in rows])
        return {chunk.row: chunk for chunk in found}

    def page_chunks(self, doc_id: str, page: int) -> list[StoredChunk]:
        """The chunks of one page in their order on it (an index built before chunks_by_page reads them all)."""
        return self._select_chunks("doc_id = ? AND page = ? ORDER BY start", [doc_id, page])

    def _select_chunks(self, where: str, params: list) -> list[StoredChunk]:
        """Chunks matching an SQL condition on `chunks c`, with their regions where the index kept them."""
        if self.has_boxes:
            cursor = self._db().execute('SELECT c.id, doc_id, page, start, "end", text, heading, lang, b.boxes '
                                        f'FROM chunks c LEFT JOIN chunk_boxes b ON b.id = c.id WHERE {where}', params)
            return [StoredChunk(*row[:8], boxes_json=row[8] or "") for row in cursor]
        cursor = self._db().execute(f'SELECT c.id, doc_id, page, start, "end", text, heading, lang FROM chunks c '
                                    f'WHERE {where}', params)
        return [StoredChunk(*row) for row in cursor]

    def page_text(self, doc_id: str, page: int) -> str | None:
        return self.page_texts([(doc_id, page)]).get((doc_id, page))

    def page_texts(self, keys: list[tuple[str, int]],
                   spans: list[tuple[int, int]] | None = None) -> dict[tuple[str, int], str]:
        """Several pages' text in one read ((doc_id, page) -> text; pages not stored are left out); with
        `spans`, only each page's characters from start to end (one (start, end) per key)."""
        if not keys:
            return {}
        values = [value for row in page_slices(keys, spans) for value in row]
        rows = self._db().execute(page_texts_sql(len(keys)), values)
        return {(doc_id, page): text for doc_id, page, text in rows}

    def pages_of(self, doc_id: str) -> list[Page]:
        rows = self._db().execute("SELECT page, text, ocr FROM pages WHERE doc_id = ? ORDER BY page", (doc_id,))
        return [Page(page=p, text=t, ocr=bool(o)) for p, t, o in rows]

    def row_filter(self, collections: frozenset[str] | None) -> RowFilter | None:
        """The rows of these collections' documents; None when that is every row (nothing to filter)."""
        if collections is None or self.collections <= collections:
            return None
        return self._filters.get(collections, self._collection_filter)

    def _collection_filter(self, collections: frozenset[str]) -> RowFilter:
        if self._row_docs is None:
            number = {doc_id: i for i, doc_id in enumerate(self.documents)}
            self._row_docs = np.fromiter((number[d] for (d,) in self._db().execute(
                "SELECT doc_id FROM chunks ORDER BY id")), dtype=np.int32, count=self.size)
        return collection_filter(self.documents, self._row_docs, collections, self.size)

    def warm(self) -> None:
        """Fault in the memory-mapped vectors and BM25 arrays now rather than during the first queries.

        Every page a search reads is faulted in once per process; at 1M chunks a fresh process
        paid for that in its first hundreds of queries (dense p95 454 ms, docs/performance.md).
        One search over every IVF list touches all the vectors; a server calls this at start.
        """
        warm_vectors(self.vectors)
        self.lexical.warm()
        if len(self.collections) > 1:  # the row -> document map, read here rather than by the first filtered search
            self.row_filter(frozenset())

    @property
    def size(self) -> int:
        return int(self.vectors.ntotal)

    @property
    def generation(self) -> str:
        return self.path.name
