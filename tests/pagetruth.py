"""Where a passage really is on a page, found without govqa's own code: PyMuPDF's text search
(text layer) or the Tesseract command's word boxes (scans). The browser tests compare the
viewer's highlight rectangles with these."""

from __future__ import annotations

import difflib
import subprocess
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import pymupdf

Rect = tuple[float, float, float, float]
MIN_RUN = 4  # characters in a row that must agree before a line or word counts as the passage's


def _folded(text: str) -> tuple[str, list[int]]:
    """NFKC, lower case, no whitespace; with the offset in `text` of each character kept."""
    chars, offsets = [], []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).casefold():
            if not c.isspace():
                chars.append(c)
                offsets.append(i)
    return "".join(chars), offsets


def text_layer_rects(page: pymupdf.Page, passage: str) -> list[Rect]:
    """The passage's part of each text line, found by aligning the passage with the page's lines in
    reading order and locating that part with page.search_for on the PDF's own characters."""
    lines = []
    for block in page.get_text("dict", sort=True)["blocks"]:
        for line in block.get("lines", ()):
            text = "".join(span["text"] for span in line["spans"])
            lines.append((text, pymupdf.Rect(line["bbox"]), *_folded(text)))
    stream, owner = [], []
    for i, (_, _, folded, _) in enumerate(lines):
        stream.append(folded)
        owner += [(i, k) for k in range(len(folded))]
    key, _ = _folded(passage)
    matched: dict[int, list[int]] = {}
    for block in difflib.SequenceMatcher(None, key, "".join(stream), autojunk=False).get_matching_blocks():
        if block.size >= MIN_RUN:
            for k in range(block.size):
                line, at = owner[block.b + k]
                matched.setdefault(line, []).append(at)
    width, height = page.rect.width, page.rect.height
    rects: list[Rect] = []
    for i, positions in matched.items():
        text, bbox, _, offsets = lines[i]
        original = text[offsets[min(positions)]:offsets[max(positions)] + 1]
        for found in page.search_for(original, clip=bbox + (-1, -1, 1, 1)):
            rects.append((found.x0 / width, found.y0 / height, found.x1 / width, found.y1 / height))
    return rects


def tesseract_rects(page: pymupdf.Page, passage: str, lang: str = "jpn+eng", dpi: int = 300) -> list[Rect]:
    """Tesseract's word boxes (its own TSV output) for the words that belong to the passage."""
    pixmap = page.get_pixmap(dpi=dpi)
    with tempfile.TemporaryDirectory() as folder:
        image = Path(folder) / "page.png"
        pixmap.save(image)
        tsv = subprocess.run(["tesseract", str(image), "stdout", "-l", lang, "tsv"], capture_output=True,
                             text=True, check=True).stdout
    words: list[tuple[str, Rect]] = []
    for row in tsv.splitlines()[1:]:
        fields = row.split("\t")
        if len(fields) == 12 and fields[0] == "5" and fields[11].strip():
            left, top, w, h = map(int, fields[6:10])
            words.append((fields[11], (left / pixmap.width, top / pixmap.height,
                                       (left + w) / pixmap.width, (top + h) / pixmap.height)))
    stream, owner = [], []
    for i, (text, _) in enumerate(words):
        folded, _ = _folded(text)
        stream.append(folded)
        owner += [i] * len(folded)
    key, _ = _folded(passage)
    matcher = difflib.SequenceMatcher(None, key, "".join(stream), autojunk=False)
    chosen = {owner[block.b + k] for block in matcher.get_matching_blocks() if block.size >= MIN_RUN
              for k in range(block.size)}
    return [words[i][1] for i in sorted(chosen)]


def as_lines(rects: list[Rect]) -> list[Rect]:
    """Boxes that share a text line become one rectangle: the highlight marks lines, not words."""
    lines: list[list[float]] = []
    for x0, y0, x1, y1 in sorted(rects, key=lambda r: ((r[1] + r[3]) / 2, r[0])):
        for line in lines:
            overlap = min(line[3], y1) - max(line[1], y0)
            if overlap > 0.5 * min(line[3] - line[1], y1 - y0):
                line[:] = [min(line[0], x0), min(line[1], y0), max(line[2], x1), max(line[3], y1)]
                break
        else:
            lines.append([x0, y0, x1, y1])
    return [tuple(line) for line in lines]


def iou(ours: list[Rect], truth: list[Rect], grid: int = 1000) -> float:
    """Intersection over union of two sets of page-relative rectangles, on a grid of grid x grid cells."""
    def mask(rects):
        m = np.zeros((grid, grid), dtype=bool)
        for x0, y0, x1, y1 in rects:
            m[int(y0 * grid):int(np.ceil(y1 * grid)), int(x0 * grid):int(np.ceil(x1 * grid))] = True
        return m

    a, b = mask(ours), mask(truth)
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 0.0
