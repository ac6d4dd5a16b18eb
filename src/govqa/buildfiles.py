"""Folders -> the files to index -> their parsed Documents: from the parse cache, or parsed side by side."""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import threading
from concurrent.futures import Future, as_completed
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from .buildembed import embed_new
from .chunk import ChunkPolicy, chunk_document
from .config import Settings
from .embed import Embedder, EmbeddingCache
from .models import Document, Page

PARSER_VERSION = "3"  # part of the parse cache's keys: a file read by an older parser is read again
PARSER_CHANGE = ("side tabs repeated on many pages are dropped like running headers; a line that starts with what no "
                 "Japanese line may start with carries on the line above")
# Version 2: turned pages, sideways scans and vertical writing are read in their own direction; columns keep
# paragraphs whole; words written down a page stay whole; radicals read as kanji.
PARSE_WORKERS = os.cpu_count() or 1  # files parsed at once, each in its own child process (OCR is single-threaded)
EMBED_WHILE_PARSING = True  # embed finished files while others are still parsed (bench_build.py --serial: off)

Warn = Callable[[str], None]


def collect_files(paths: list[Path], warn: Warn) -> list[Path]:
    """The files to index under `paths`, in order, each once; what is left out is said through `warn`."""
    from .parse import SUPPORTED_SUFFIXES

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            root = path.resolve()
            found = []
            for candidate in sorted(path.rglob("*")):
                if (not candidate.is_file() or candidate.suffix.lower() not in SUPPORTED_SUFFIXES
                        or any(part.startswith(".") for part in candidate.relative_to(path).parts)):
                    continue
                if not candidate.resolve().is_relative_to(root):
                    # A link planted in a shared folder must not pull other files into the index.
                    warn(f"skip {candidate}: symbolic link to a file outside {path}")
                    continue
                found.append(candidate)
            if not found:
                warn(f"skip {path}: no PDF, HTML, text, CSV or Office files in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            warn(f"skip {path}: no such file or folder")
    return list(dict.fromkeys(files))


class ParseCache:
    """Parsed documents keyed by (file sha256, parser settings): OCR is never redone for the same bytes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS docs (key TEXT PRIMARY KEY, doc TEXT)")

    def has(self, key: str) -> bool:
        return self._db.execute("SELECT 1 FROM docs WHERE key = ?", (key,)).fetchone() is not None

    def get(self, key: str) -> Document | None:
        row = self._db.execute("SELECT doc FROM docs WHERE key = ?", (key,)).fetchone()
        if not row:
            return None
        data = json.loads(row[0])
        data["pages"] = [Page(**p) for p in data["pages"]]
        return Document(**data)

    def put(self, key: str, doc: Document) -> None:
        """Keep `doc` under `key` (sha256|parser version|OCR settings); what older parsers read of the file goes."""
        with self._db:
            self._db.executemany("DELETE FROM docs WHERE key = ?", [(k,) for k in self._older(key)])
            self._db.execute("INSERT OR REPLACE INTO docs VALUES (?, ?)", (key, json.dumps(asdict(doc), ensure_ascii=False)))

    def read_by_older_parser(self, key: str) -> bool:
        """Whether an older parser read the same file (the build then says why it is read again)."""
        return bool(self._older(key))

    def _older(self, key: str) -> list[str]:
        sha, version = key.split("|")[:2]
        # A range of the primary key ("}" follows "|"), looked up, not a scan of every file's entry.
        rows = self._db.execute("SELECT key FROM docs WHERE key > ? AND key < ?", (f"{sha}|", f"{sha}}}"))
        return [k for (k,) in rows if k.split("|")[1] != version]

    def close(self) -> None:
        self._db.close()


class ParseAhead:
    """Parses the files the cache lacks, PARSE_WORKERS at a time, and embeds each one's chunks as it arrives.

    OCR dominates a build of scans and uses one core per file; parsing files side by side and
    embedding the finished ones meanwhile keeps both cores busy. The vectors go to the
    embedding cache, where the build's own embedding step finds them.
    """

    def __init__(self, files: list[Path], hashes: dict, cache: ParseCache, ocr_key: str, settings: Settings,
                 event: Warn, embedder: Embedder, index_dir: Path, policy: ChunkPolicy) -> None:
        todo: dict[str, Path] = {}
        for path in files:
            sha = hashes[path]
            if isinstance(sha, str) and sha not in todo and not cache.has(f"{sha}|{ocr_key}"):
                todo[sha] = path
        self._by_path: dict[Path, Future] = {}
        # Without limits parse_isolated parses in this process, and PyMuPDF is not thread-safe: one at a time.
        isolated = bool(settings.parse_timeout or settings.parse_memory_mb)
        workers = max(1, min(PARSE_WORKERS if isolated else 1, len(todo)))
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        for path in todo.values():
            self._by_path[path] = Future()
            self._queue.put((path, self._by_path[path]))
        # Daemon threads, not a ThreadPoolExecutor: on Ctrl+C the interpreter would first run every
        # file still queued in an executor; daemon threads are dropped with the files they hold.
        for _ in range(workers if todo else 0):
            threading.Thread(target=self._parse_queued, args=(settings, event), daemon=True,
                             name="govqa-parse").start()
        self._hashes = hashes
        self._sha_to_path = todo
        self.embedded: set[str] = set()  # cache keys of the texts embedded here
        self._embedder = None
        if EMBED_WHILE_PARSING and len(todo) > 1:  # with one file there is nothing to overlap
            self._embedder = threading.Thread(target=self._embed_as_parsed, daemon=True,
                                              args=(embedder, index_dir, policy), name="govqa-embed-ahead")
            self._embedder.start()

    def _parse_queued(self, settings: Settings, event: Warn) -> None:
        from .isolate import parse_isolated

        while True:
            try:
                path, future = self._queue.get_nowait()
            except queue.Empty:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(parse_isolated(path, ocr_lang=settings.ocr_lang, ocr_dpi=settings.ocr_dpi, warn=event,
                                                 timeout=settings.parse_timeout, memory_mb=settings.parse_memory_mb))
            except BaseException as exc:  # handed to the build's loop, which reports a ParseError as a skip
                future.set_exception(exc)

    def result(self, path: Path) -> Document:
        """The parsed document (raises ParseError as parse_file does)."""
        future = self._by_path.get(path)
        if future is None:  # same bytes as a file already submitted under another name
            return self._by_path[self._sha_to_path[self._hashes[path]]].result()
        return future.result()

    def _embed_as_parsed(self, embedder: Embedder, index_dir: Path, policy: ChunkPolicy) -> None:
        cache = EmbeddingCache(index_dir / "cache" / "embeddings.sqlite")
        try:
            for future in as_completed(self._by_path.values()):
                if future.exception() is not None:
                    continue
                doc = future.result()
                embed_new(chunk_document("", doc.title, doc.pages, policy), embedder, cache, self.embedded)
        except Exception:  # the build's own embedding step embeds whatever is missing and reports the error
            pass
        finally:
            cache.close()

    def close(self) -> None:
        if self._embedder is not None:
            self._embedder.join()
