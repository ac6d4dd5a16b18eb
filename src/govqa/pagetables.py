"""The build step that gives PDF pages their tables' rows, each value beside its header (pdftables.py).

The rows go at the end of the page's text, so they are chunked, embedded and BM25-indexed like the
rest of the page, and a passage quoting a row reads "製品名: Linux Kernel; 登録件数: 252". Only pages
read from the text layer: an OCR'd page has no word positions to rebuild rows from. Rows are cached
per file hash and version of the table code, so re-running `govqa index` reads no PDF twice.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pymupdf

from . import pdftables, tables
from .models import Page

ENABLED = True  # off: pages keep their text as the parser read it (bench/, docs/retrieval.md)


def _version() -> str:
    source = b"".join(Path(m.__file__).read_bytes() for m in (pdftables, tables))
    return hashlib.sha256(source + str(pdftables.FIGURES_ONLY).encode()).hexdigest()[:16]


class TableCache:
    """Row lines per (file sha256, table code version): {page number: [line, …]}."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS tables (key TEXT PRIMARY KEY, lines TEXT)")
        self.version = _version()

    def get(self, sha: str) -> dict[int, list[str]] | None:
        row = self._db.execute("SELECT lines FROM tables WHERE key = ?", (f"{sha}|{self.version}",)).fetchone()
        return None if row is None else {int(k): v for k, v in json.loads(row[0]).items()}

    def put(self, sha: str, lines: dict[int, list[str]]) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO tables VALUES (?, ?)",
                             (f"{sha}|{self.version}", json.dumps(lines, ensure_ascii=False)))

    def close(self) -> None:
        self._db.close()


def add_table_rows(records: dict, pages: dict[str, list[Page]], fresh: set[str], cache_path: Path,
                   event: Callable[[str], None], previous=None) -> None:
    """Append the rows of each text-layer PDF page's tables to the pages of the documents read by this build."""
    if not ENABLED:
        return
    cache = TableCache(cache_path)
    upgraded = 0
    before: dict[str, dict[int, str]] = {}  # the previous index's page texts, read for documents with rows
    try:
        for doc_id in sorted(fresh):
            record = records.get(doc_id)
            if record is None or record.kind != "pdf" or not record.file or doc_id not in pages:
                continue
            lines = cache.get(record.sha256)
            if lines is None:
                lines = _read(Path(record.file), [p.page for p in pages[doc_id] if p.page not in set(record.ocr_pages)],
                              event, record.path)
                if lines is None:
                    continue
                cache.put(record.sha256, lines)
            for page in pages[doc_id]:
                block = "\n".join(lines.get(page.page, ()))
                if block and block not in page.text and page.page not in record.ocr_pages:
                    page.text = f"{page.text}\n{block}" if page.text else block
                    old = previous.documents.get(doc_id) if previous is not None else None
                    if old is not None and old.sha256 == record.sha256:
                        if doc_id not in before:
                            before[doc_id] = {p.page: p.text for p in previous.pages_of(doc_id)}
                        upgraded += block not in before[doc_id].get(page.page, "")
    finally:
        cache.close()
    if upgraded:
        event(f"index upgraded: table rows on {upgraded} page(s) now carry their column headers "
              "(only those pages' passages are embedded again)")


def _read(path: Path, numbers: list[int], event: Callable[[str], None], shown: str) -> dict[int, list[str]] | None:
    try:
        with pymupdf.open(path) as doc:
            return pdftables.document_tables(doc, [n for n in numbers if 1 <= n <= doc.page_count])
    except Exception as exc:  # the rows are an extra: a file that cannot be read again keeps its text
        event(f"{shown}: table rows not read ({type(exc).__name__}: {exc})".splitlines()[0])
        return None
