"""Plain text, Markdown and CSV files -> a one-page Document, whatever their encoding."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from . import tables
from .decode import decode_text
from .lang import detect_lang
from .models import Document, Page
from .textnorm import normalize

TEXT_SUFFIXES = {".txt", ".md"}
CSV_SUFFIXES = {".csv", ".tsv"}
_TITLE_MAX = 120
_WORDY = re.compile(r"[A-Za-z\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


def parse_text(path: Path, data: bytes, warn: Callable[[str], None]) -> Document:
    """A .txt or .md file; the title is its first Markdown heading or first line."""
    text = normalize(_decode(path, data, warn))
    title = None
    if path.suffix.lower() == ".md":
        title = next((m.group(1) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", text, re.MULTILINE)), None)
    title = title or first_line_title(text) or path.stem
    kind = "md" if path.suffix.lower() == ".md" else "txt"
    return Document(path=str(path), title=shorten(title), lang=detect_lang(text), pages=[Page(page=1, text=text)],
                    kind=kind)


def parse_csv(path: Path, data: bytes, warn: Callable[[str], None]) -> Document:
    """A CSV or TSV file as one line per row, each value beside its column header; titled by the file name."""
    rows = tables.csv_rows(_decode(path, data, warn))
    text = normalize("\n".join(tables.rows_to_lines(rows)))
    return Document(path=str(path), title=path.stem, lang=detect_lang(text), pages=[Page(page=1, text=text)],
                    kind="csv")


def first_line_title(text: str) -> str | None:
    """The text's first line as a title, unless it is a table row (「| 2023年度 | 170件 |」) or holds no word
    (「2024.06.13」, 「-----」): a citation then names the file instead."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not line or line.startswith("|") or not _WORDY.search(line):
        return None
    return line


def shorten(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= _TITLE_MAX else title[: _TITLE_MAX - 1].rstrip() + "…"


def _decode(path: Path, data: bytes, warn: Callable[[str], None]) -> str:
    decoded = decode_text(data)
    message = decoded.warning(str(path))
    if message:
        warn(message)
    return decoded.text
