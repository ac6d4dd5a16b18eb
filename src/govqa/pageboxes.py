"""Chunk -> where it sits on its page: line rectangles (page-relative 0..1, origin top-left).

The page's glyphs (the PDF's text layer, or Tesseract's for a scan) are aligned with the page
text the chunks were cut from, character by character after NFKC and without whitespace. So
whatever cleaning produced the page text (joined lines, dropped headers, added table rows),
the characters that are on the page get their boxes, and text that is not simply gets none.
"""

from __future__ import annotations

import base64
import difflib
import json
import sqlite3
import unicodedata
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pymupdf

from . import pdflayout
from .ocrpage import read_upright
from .textdirection import Placed, direction_of, reading_runs

BOXES_VERSION = "2"  # part of the cache key: a change to how glyphs are read starts afresh
Rect = tuple[float, float, float, float]
_MIN_BLOCK = 2  # aligned runs shorter than this are chance matches of common characters (の, 、)
Warn = Callable[[str], None]
_GAP = 1.5  # a horizontal gap wider than this many line heights starts a new rectangle (table cells)


@dataclass
class PageGlyphs:
    """A page's characters in reading order (normalized, no whitespace), one box each, in points."""

    width: float
    height: float
    text: str
    boxes: list[Rect]

    def to_bytes(self) -> bytes:
        flat = [round(v, 1) for box in self.boxes for v in box]
        return zlib.compress(json.dumps([self.width, self.height, self.text, flat], ensure_ascii=False).encode())

    @classmethod
    def from_bytes(cls, data: bytes) -> "PageGlyphs":
        width, height, text, flat = json.loads(zlib.decompress(data))
        return cls(width, height, text, [tuple(flat[i:i + 4]) for i in range(0, len(flat), 4)])

    def pack(self) -> str:
        """As text, to travel inside a parsed Page (and the parse cache's JSON)."""
        return base64.b64encode(self.to_bytes()).decode("ascii")

    @classmethod
    def unpack(cls, text: str) -> "PageGlyphs":
        return cls.from_bytes(base64.b64decode(text))


def fold(text: str) -> Iterable[tuple[int, str]]:
    """(offset in `text`, character) for each character left after NFKC without whitespace."""
    for offset, char in enumerate(text):
        for folded in unicodedata.normalize("NFKC", char).casefold():
            if not folded.isspace() and unicodedata.category(folded) not in ("Cc", "Cf"):
                yield offset, folded


def read_glyphs(page: pymupdf.Page, textpage: pymupdf.TextPage | None = None,
                to_page: pymupdf.Matrix | None = None) -> PageGlyphs:
    """The characters of a page (its text layer, or `textpage` from OCR) with their boxes on the page as shown;
    `to_page` turns the text page's coordinates into those (a text layer's: the page's own /Rotate)."""
    data = page.get_text("rawdict", flags=pdflayout.TEXT_FLAGS, sort=True, textpage=textpage)
    turn = to_page if to_page is not None else page.rotation_matrix if page.rotation else None
    lines = [line for block in data["blocks"] for line in block.get("lines", ())]
    placed = [Placed("".join(c["c"] for s in line["spans"] for c in s["chars"]), tuple(line["bbox"]),
                     direction_of(line["dir"]), max((s["size"] for s in line["spans"]), default=0.0), 0, (i,))
              for i, line in enumerate(lines)]
    text: list[str] = []
    boxes: list[Rect] = []
    # In the page text's reading order: vertical writing's characters column by column (textdirection.py);
    # only the order is used, so the page's size as shown serves for the frame.
    for run in reading_runs(placed, page.rect.width, page.rect.height):
        for part in (i for line in run.lines for i in line.parts):
            for span in lines[part]["spans"]:
                for char in span["chars"]:
                    rect = pymupdf.Rect(char["bbox"])
                    if turn is not None:
                        rect = rect * turn
                    for _, folded in fold(char["c"]):
                        text.append(folded)
                        boxes.append((rect.x0, rect.y0, rect.x1, rect.y1))
    return PageGlyphs(page.rect.width, page.rect.height, "".join(text), boxes)


def locate(page_text: str, spans: list[tuple[int, int]], glyphs: PageGlyphs) -> list[list[list[float]]]:
    """For each (start, end) span of `page_text`, its line rectangles on the page, page-relative."""
    folded = list(fold(page_text))
    key = "".join(char for _, char in folded)
    aligned: list[int] | None = None  # folded position -> glyph index (-1: not on the page), made on demand
    result = []
    for start, end in spans:
        positions = [i for i, (offset, _) in enumerate(folded) if start <= offset < end]
        if not positions:
            result.append([])
            continue
        wanted = key[positions[0]:positions[-1] + 1]
        found = glyphs.text.find(wanted)
        if found >= 0 and glyphs.text.find(wanted, found + 1) < 0:
            chosen = range(found, found + len(wanted))
        else:
            if aligned is None:
                aligned = _align(key, glyphs.text)
            chosen = [aligned[i] for i in positions if aligned[i] >= 0]
        result.append(_relative(merge_lines([glyphs.boxes[i] for i in chosen]), glyphs.width, glyphs.height))
    return result


def _align(key: str, glyph_text: str) -> list[int]:
    mapping = [-1] * len(key)
    matcher = difflib.SequenceMatcher(None, key, glyph_text, autojunk=False)
    for block in matcher.get_matching_blocks():
        if block.size >= _MIN_BLOCK:
            for k in range(block.size):
                mapping[block.a + k] = block.b + k
    return mapping


def merge_lines(boxes: list[Rect]) -> list[Rect]:
    """Character boxes in reading order -> one rectangle per run of a visual line (or of a column, in vertical
    writing)."""
    lines: list[list[float]] = []
    for x0, y0, x1, y1 in boxes:
        if lines and (_beside(lines[-1], (x0, y0, x1, y1)) or _below(lines[-1], (x0, y0, x1, y1))):
            last = lines[-1]
            last[:] = [min(last[0], x0), min(last[1], y0), max(last[2], x1), max(last[3], y1)]
            continue
        lines.append([x0, y0, x1, y1])
    return [tuple(line) for line in lines]


def _beside(last: list[float], box: Rect) -> bool:
    x0, y0, x1, y1 = box
    height = min(last[3] - last[1], y1 - y0) or 1.0
    overlap = min(last[3], y1) - max(last[1], y0)
    return overlap >= 0.5 * height and last[0] - height <= x0 <= last[2] + _GAP * height


def _below(last: list[float], box: Rect) -> bool:
    """The next character of a column: under a rectangle no wider than it."""
    x0, y0, x1, _ = box
    width = (x1 - x0) or 1.0
    overlap = min(last[2], x1) - max(last[0], x0)
    return last[2] - last[0] <= 1.5 * width and overlap >= 0.5 * width and -0.5 * width <= y0 - last[3] <= _GAP * width


def _relative(rects: list[Rect], width: float, height: float) -> list[list[float]]:
    def clamp(value: float) -> float:
        return round(min(1.0, max(0.0, value)), 4)

    out = []
    for x0, y0, x1, y1 in rects:
        box = [clamp(x0 / width), clamp(y0 / height), clamp(x1 / width), clamp(y1 / height)]
        if box[2] > box[0] and box[3] > box[1]:
            out.append(box)
    return out


class GlyphCache:
    """Page glyphs keyed by (file sha256, page, OCR settings): a rebuild reads no PDF and runs no OCR twice."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS glyphs (key TEXT PRIMARY KEY, data BLOB)")

    def get(self, key: str) -> PageGlyphs | None:
        row = self._db.execute("SELECT data FROM glyphs WHERE key = ?", (key,)).fetchone()
        return PageGlyphs.from_bytes(row[0]) if row else None

    def put(self, key: str, glyphs: PageGlyphs) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO glyphs VALUES (?, ?)", (key, glyphs.to_bytes()))

    def close(self) -> None:
        self._db.close()


def document_glyphs(path: Path, pages: dict[int, bool], *, ocr_lang: str, ocr_dpi: int,
                    tessdata: str | None) -> dict[int, PageGlyphs]:
    """Glyphs of the given 1-based pages of a PDF; True pages are scans, read with the OCR that indexed them."""
    out: dict[int, PageGlyphs] = {}
    with pymupdf.open(path, filetype="pdf") as doc:
        for number, ocr in sorted(pages.items()):
            if not 1 <= number <= doc.page_count:
                continue
            page = doc.load_page(number - 1)
            if ocr:
                reading = read_upright(page, ocr_lang, ocr_dpi, tessdata)
                out[number] = read_glyphs(page, reading.textpage, reading.to_page)
            else:
                out[number] = read_glyphs(page)
    return out


def chunk_boxes(chunks: list, records: dict, pages: dict, cache: GlyphCache, *, ocr_lang: str, ocr_dpi: int,
                warn: Warn, extra: dict | None = None) -> list[list[list[float]]]:
    """Boxes for every chunk, in order; empty for sources without pages or whose file is gone or changed.

    `extra`: more glyphs of a page, (doc_id, page) -> PageGlyphs, following its own (text read from its figures).
    """
    from .filehash import sha256_of
    from .parse import _quiet_stderr, find_tessdata

    texts = {(doc_id, p.page): p.text for doc_id, doc_pages in pages.items() for p in doc_pages}
    parsed = {(doc_id, p.page): p.glyphs for doc_id, doc_pages in pages.items() for p in doc_pages if p.glyphs}
    wanted: dict[str, set[int]] = {}
    for chunk in chunks:
        if records[chunk.doc_id].kind == "pdf":
            wanted.setdefault(chunk.doc_id, set()).add(chunk.page)
    glyphs: dict[tuple[str, int], PageGlyphs] = {}
    for doc_id, numbers in wanted.items():
        record = records[doc_id]
        ocr_pages = set(record.ocr_pages)
        keys = {n: f"{record.sha256}|{n}|{n in ocr_pages and f'{ocr_lang}|{ocr_dpi}'}|{BOXES_VERSION}" for n in numbers}
        missing = {}
        for number, key in keys.items():
            found = cache.get(key)
            if found is None and (doc_id, number) in parsed:  # OCR'd by this build's parse: no second OCR
                found = PageGlyphs.unpack(parsed[doc_id, number])
                cache.put(key, found)
            if found is None:
                missing[number] = number in ocr_pages
            else:
                glyphs[doc_id, number] = found
        if not missing:
            continue
        path = Path(record.file or record.path)
        try:
            if sha256_of(path) != record.sha256:
                warn(f"{record.path} changed since it was indexed: its passages get no page positions")
                continue
            with _quiet_stderr():
                read = document_glyphs(path, missing, ocr_lang=ocr_lang, ocr_dpi=ocr_dpi, tessdata=find_tessdata())
        except Exception as exc:  # positions are an extra: a file that cannot be read again loses only them
            warn(f"{record.path}: page positions not recorded ({type(exc).__name__}: {exc})".splitlines()[0])
            continue
        for number, page_glyphs in read.items():
            cache.put(keys[number], page_glyphs)
            glyphs[doc_id, number] = page_glyphs

    by_page: dict[tuple[str, int], list[int]] = {}
    for i, chunk in enumerate(chunks):
        by_page.setdefault((chunk.doc_id, chunk.page), []).append(i)
    for key, more in (extra or {}).items():
        if key in glyphs:
            own = glyphs[key]
            glyphs[key] = PageGlyphs(own.width, own.height, own.text + more.text, own.boxes + more.boxes)
    out: list[list[list[float]]] = [[] for _ in chunks]
    for key, members in by_page.items():
        if key in glyphs and key in texts:
            located = locate(texts[key], [(chunks[i].start, chunks[i].end) for i in members], glyphs[key])
            for i, boxes in zip(members, located):
                out[i] = boxes
    return out

