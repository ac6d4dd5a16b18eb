"""Text inside pictures on PDF pages that do have a text layer -> OCR, added to the page's text.

Charts, diagrams and slides pasted as images carry words (axis labels, figures, the steps of a
process) that a page's text layer lacks, and questions ask for exactly those. A large image
with little extractable text over it is read by Tesseract; so is a page drawn as vector paths
(a slide whose letters are outlines). Words Tesseract is unsure of are dropped, and lines the
text layer already holds are not repeated. The recognised lines go after the page's own text,
so BM25, page-level BM25 and the embedder all see them; their word boxes let the viewer mark
them. Both the regions found in a file and each region's words are cached (garbled.OcrCache),
keyed by the file's sha256, page and region: re-indexing runs no OCR twice.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pymupdf

from .garbled import OcrCache
from .models import Page
from .pageboxes import PageGlyphs, fold
from .textnorm import normalize, squeeze_ocr_spaces

VERSION = "1"  # part of the cache keys: a change to how regions are found or read starts afresh
MIN_IMAGE_SHARE = 0.10  # an image smaller than this share of its page: a logo, a photo, an icon
MAX_TEXT_COVER = 0.10  # text-layer lines covering more of the image than this: the words are already there
MIN_DRAWINGS = 100  # vector paths on a page with next to no text: a slide whose letters are outlines
MAX_DRAWN_PAGE_CHARS = 40
MIN_WORD_CONF = 60.0  # Tesseract's confidence (0-100); below it most "words" in charts are debris
_GAP = 3.0  # a horizontal gap wider than this many word heights parts two columns of a figure
PSM = "11"  # sparse text: labels scattered over a chart are found, columns of a diagram stay apart
_NOISE = re.compile(r"[|¦~^_=<>\\{}@#$&*+;`™®©¶§†‡]")
# A row must hold a word: a lone "47%" or "7.164" away from its label says nothing a question could meet.
_MEANING = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]|[A-Za-z]{2,}")
Warn = Callable[[str], None]
_TEXT_ONLY = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP  # "dict" would copy images' pixels too


@dataclass
class Word:
    text: str
    conf: float
    box: tuple[float, float, float, float]  # page points
    line: tuple[int, int, int]  # Tesseract's (block, paragraph, line) within its region


def tesseract_words(png: bytes, lang: str, tessdata: str | None, psm: str = PSM) -> list[tuple[str, float, tuple, tuple]] | None:
    """Tesseract's words of one image: (text, confidence, pixel box, (block, par, line)); None without tesseract."""
    command = shutil.which("tesseract")
    if command is None:
        return None
    args = [command, "stdin", "stdout", "-l", lang, "--psm", psm]
    if tessdata:
        args += ["--tessdata-dir", tessdata]
    try:
        # One thread each: regions are read side by side instead, and the cores are shared.
        done = subprocess.run([*args, "tsv"], input=png, capture_output=True, timeout=120, check=False,
                              env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    rows = csv.DictReader(io.StringIO(done.stdout.decode("utf-8", "replace")), delimiter="\t", quoting=csv.QUOTE_NONE)
    words = []
    for row in rows:
        if row.get("level") != "5" or not (row.get("text") or "").strip() or float(row.get("conf") or -1) < 0:
            continue
        left, top, width, height = (int(row[k]) for k in ("left", "top", "width", "height"))
        words.append((row["text"], float(row["conf"]), (left, top, left + width, top + height),
                      (int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))))
    return words


def find_regions(page: pymupdf.Page) -> list[pymupdf.Rect]:
    """The parts of a page worth reading by OCR: large images with little text over them, or a drawn page."""
    area = abs(page.rect)
    if area <= 0:
        return []
    lines = [pymupdf.Rect(line["bbox"]) for block in page.get_text("dict", flags=_TEXT_ONLY)["blocks"] for line in block.get("lines", ())
             if any(span["text"].strip() for span in line["spans"])]
    regions: list[pymupdf.Rect] = []
    for info in page.get_image_info():
        rect = pymupdf.Rect(info["bbox"]) & page.rect
        if rect.is_empty or abs(rect) < MIN_IMAGE_SHARE * area or any(_same(rect, r) for r in regions):
            continue
        covered = sum(abs(rect & line) for line in lines)
        if covered <= MAX_TEXT_COVER * abs(rect):
            regions.append(rect)
    if (not regions and len(re.sub(r"\s", "", page.get_text())) <= MAX_DRAWN_PAGE_CHARS
            and len(page.get_drawings()) >= MIN_DRAWINGS):
        regions.append(pymupdf.Rect(page.rect))
    return regions


def _same(a: pymupdf.Rect, b: pymupdf.Rect) -> bool:
    """One picture drawn twice (an image and its soft mask, a repeated XObject): read once."""
    return abs(a & b) >= 0.9 * min(abs(a), abs(b))


def add_figure_text(records: dict, pages: dict, ocr_lang: str, ocr_dpi: int, cache: OcrCache, warn: Warn,
                    progress: Callable[[str, int, int], None] = lambda stage, done, total: None,
                    ) -> tuple[dict[tuple[str, int], PageGlyphs], int]:
    """Figure text appended to the pages of every PDF not read for figures yet; (figure glyphs by page, pages changed).

    A record whose `figure_pages` is a list already carries its figure text (it came from the
    previous generation); only its glyphs are gathered, from the cache, for the passage boxes.
    Run after parsing has finished: PyMuPDF is not safe to use from two threads at once.
    """
    from .filehash import sha256_of
    from .parse import _quiet_stderr, find_tessdata, ocr_available

    usable = ocr_available(ocr_lang)
    glyphs: dict[tuple[str, int], PageGlyphs] = {}
    changed = 0
    wanted = [d for d, r in records.items() if r.file and r.file.lower().endswith(".pdf") and d in pages]
    for done, doc_id in enumerate(wanted):
        progress("reading figures", done, len(wanted))
        record = records[doc_id]
        fresh = record.figure_pages is None
        if fresh and not usable:
            continue
        skip = {p.page for p in pages[doc_id] if p.ocr}
        try:
            if fresh and sha256_of(Path(record.file)) != record.sha256:
                continue  # changed since it was indexed: its next indexing reads it
            with _quiet_stderr():
                words, read = read_figures(record.file, record.sha256, skip, ocr_lang, ocr_dpi, cache,
                                           find_tessdata(), offline=not fresh)
        except Exception as exc:  # figures are an extra: the page's own text is already indexed
            warn(f"{record.path}: text inside figures not read ({type(exc).__name__}: {exc})".splitlines()[0])
            continue
        if read:
            warn(f"{record.path}: text inside {read} picture(s) read by OCR")
        numbers, starts = [], []
        new_pages = []
        for page in pages[doc_id]:
            found = words.get(page.page)
            lines = figure_lines(found, page.text if fresh else "") if found else []
            if lines:
                numbers.append(page.page)
                glyphs[doc_id, page.page] = _glyphs(lines)
                if fresh:
                    block = "\n".join(text for text, _ in lines)
                    starts.append(len(page.text) + 1 if page.text else 0)
                    page = Page(page=page.page, text=f"{page.text}\n{block}" if page.text else block,
                                ocr=page.ocr, glyphs=page.glyphs)
            new_pages.append(page)
        if fresh:
            pages[doc_id] = new_pages
            record.figure_pages, record.figure_starts = numbers, starts
            changed += len(numbers)
    progress("reading figures", len(wanted), len(wanted))
    return glyphs, changed


def read_by_ocr(record, page: int, end: int) -> bool:
    """Whether a passage of `page` ending at `end` holds text read by OCR: a scanned page, or a picture's words."""
    if page in record.ocr_pages:
        return True
    figures = dict(zip(record.figure_pages or (), record.figure_starts))
    return page in figures and end > figures[page]


def read_figures(file: str, sha: str, skip: set[int], ocr_lang: str, ocr_dpi: int, cache: OcrCache,
                 tessdata: str | None, *, offline: bool = False) -> tuple[dict[int, list[list[Word]]], int]:
    """Each page's figures' words, a list per figure (pages in `skip`, scans, left out), and how many figures
    Tesseract read (the rest came from the cache); `offline`: from the cache only."""
    # The thresholds are part of the key: other thresholds find other regions, whose words may be cached already.
    key = f"figure-regions|{sha}|{MIN_IMAGE_SHARE}|{MAX_TEXT_COVER}|{MIN_DRAWINGS}|{MAX_DRAWN_PAGE_CHARS}|{VERSION}"
    known = cache.get(key)
    regions: dict[int, list[pymupdf.Rect]] = {}
    if known is not None:
        regions = {int(n): [pymupdf.Rect(r) for r in rects] for n, rects in json.loads(known).items()}
    elif not offline:
        with pymupdf.open(file, filetype="pdf") as doc:
            for page in doc:
                found = find_regions(page) if not page.rotation else []  # boxes of a turned page: not worth it
                if found:
                    regions[page.number + 1] = found
        cache.put(key, json.dumps({n: [tuple(r) for r in rects] for n, rects in regions.items()}))
    words: dict[tuple[int, int], list[Word]] = {}
    missing: list[tuple[int, int, pymupdf.Rect, str]] = []
    for number, rects in sorted(regions.items()):
        if number in skip:
            continue
        for i, rect in enumerate(rects):
            wkey = f"figure-words|{sha}|{number}|{','.join(f'{v:.1f}' for v in rect)}|{ocr_lang}|{ocr_dpi}|{VERSION}"
            text = cache.get(wkey)
            if text is not None:
                words[number, i] = [Word(w[0], w[1], tuple(w[2]), tuple(w[3])) for w in json.loads(text)]
            elif not offline:
                missing.append((number, i, rect, wkey))
    if missing:
        with pymupdf.open(file, filetype="pdf") as doc:
            images = [doc.load_page(n - 1).get_pixmap(dpi=ocr_dpi, clip=rect).tobytes("png") for n, _, rect, _ in missing]
        # Rendering stays in this thread (MuPDF); only the Tesseract processes run side by side.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            read = list(pool.map(lambda png: tesseract_words(png, ocr_lang, tessdata), images))
        scale = 72.0 / ocr_dpi
        for (number, i, rect, wkey), found in zip(missing, read):
            if found is None:
                continue
            words[number, i] = [Word(text, conf, (rect.x0 + b[0] * scale, rect.y0 + b[1] * scale,
                                                  rect.x0 + b[2] * scale, rect.y0 + b[3] * scale), line)
                                for text, conf, b, line in found]
            cache.put(wkey, json.dumps([[w.text, w.conf, w.box, w.line] for w in words[number, i]], ensure_ascii=False))
    out: dict[int, list[list[Word]]] = {}
    for number, i in sorted(words):
        out.setdefault(number, []).append(words[number, i])
    return out, len(missing)


def figure_lines(figures: list[list[Word]], page_text: str) -> list[tuple[str, list[Word]]]:
    """The lines worth indexing, (text, its words): sure words only, no debris, nothing the page already says."""
    known = re.sub(r"\s", "", normalize(page_text))
    lines = []
    for words in figures:
        for members in _rows([w for w in words if w.conf >= MIN_WORD_CONF]):
            text = squeeze_ocr_spaces(normalize(" ".join(w.text for w in members))).strip()
            compact = re.sub(r"\s", "", text)
            if (len(compact) < 2 or not _MEANING.search(compact) or len(_NOISE.findall(compact)) > 0.1 * len(compact)
                    or compact in known):
                continue
            lines.append((text, members))
    return lines


def _rows(words: list[Word]) -> list[list[Word]]:
    """Tesseract's lines joined into visual rows, left to right; a gap wider than _GAP heights parts two columns.

    Tesseract's sparse mode puts each chart label on a line of its own ("50%"); a row keeps a
    category with its values (自動車 29% 23% 2%) and a passage reads like the chart's row.
    """
    lines: dict[tuple, list[Word]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word)
    boxes = {key: (min(w.box[0] for w in ws), min(w.box[1] for w in ws), max(w.box[2] for w in ws),
                   max(w.box[3] for w in ws)) for key, ws in lines.items()}
    rows: list[list[tuple]] = []
    for key in sorted(lines, key=lambda k: boxes[k][1] + boxes[k][3]):
        y0, y1 = boxes[key][1], boxes[key][3]
        for row in reversed(rows[-8:]):
            top, bottom = boxes[row[0]][1], boxes[row[0]][3]  # the row's first line: rows do not creep downwards
            if min(bottom, y1) - max(top, y0) >= 0.5 * min(bottom - top, y1 - y0):
                row.append(key)
                break
        else:
            rows.append([key])
    pieces = []
    for row in sorted(rows, key=lambda r: boxes[r[0]][1]):
        row.sort(key=lambda k: boxes[k][0])
        piece = list(lines[row[0]])
        for prev, key in pairwise(row):
            height = max(boxes[prev][3] - boxes[prev][1], boxes[key][3] - boxes[key][1])
            if boxes[key][0] - boxes[prev][2] > _GAP * height:
                pieces.append(piece)
                piece = []
            piece.extend(lines[key])
        pieces.append(piece)
    return pieces


def _glyphs(lines: list[tuple[str, list[Word]]]) -> PageGlyphs:
    """The kept words' characters with boxes (each word's box shared out evenly), to follow the page's own glyphs."""
    text: list[str] = []
    boxes: list[tuple[float, float, float, float]] = []
    for _, words in lines:
        for word in words:
            chars = [c for _, c in fold(word.text)]
            x0, y0, x1, y1 = word.box
            step = (x1 - x0) / max(len(chars), 1)
            for k, char in enumerate(chars):
                text.append(char)
                boxes.append((x0 + k * step, y0, x0 + (k + 1) * step, y1))
    return PageGlyphs(0.0, 0.0, "".join(text), boxes)

