"""From positioned PDF text lines to clean page text: rows, running headers, paragraphs, title."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from itertools import pairwise

import pymupdf

from .textdirection import Placed, direction_of, reading_runs
from .textnorm import is_cjk, join_lines, normalize, squeeze_ocr_spaces, unspace_letters

# Images are left out: "dict" would otherwise copy every scanned page's pixels.
TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_PRESERVE_LIGATURES | pymupdf.TEXT_MEDIABOX_CLIP
_EDGE_LINES = 3  # how many lines at the top and bottom of a page may be header or footer
_EDGE_SHARE = 0.15  # ... and how close to the page edge they must sit
_SIDE_SHARE = 0.1  # a side tab (a word written down the page) sits this close to its left or right edge
_PAGE_NUMBER = re.compile(
    r"^(?:page|p\.|ページ)?\s*[-‐−–—ー(\[]?\s*\d{1,4}\s*[-‐−–—ー)\]]?\s*"
    r"(?:(?:/|of)\s*\d{1,4})?\s*(?:ページ|頁)?$|^[ivxlc]{1,6}$"
    r"|^[-‐−–—ー]\s*\S{1,3}\s*[-‐−–—ー]$",  # "- ] -": OCR misreading "- 1 -"
    re.IGNORECASE,
)
_PARAGRAPH_START = re.compile(
    r"^(?:[・○●◯■□◆◇▪※•*]|[-–]\s|\(?\d{1,3}[.)、](?!\d)|\((?:問|答|[a-zア-ン一二三四五六七八九十]\))"
    r"|第[\d一二三四五六七八九十百]+[条章節項款]|問\s?\d|答[\s.:)]|[QA]\d*[.:)]\s)"
)
_OCR_RULE = re.compile(r"(?:^|(?<=\s))[|]+(?=\s|$)")  # table borders and box edges read as "|"
_SENTENCE_END = ("。", "!", "?")
# What no Japanese line may start with (行頭禁則: small kana, ン, closing punctuation): a text box wrapped inside
# a word or before its punctuation (「ソルベンシー・マージ」 over 「ン比率」), so the line carries on the one above.
_CANNOT_START = re.compile(r"^[ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶン、。,)」』】〕]")
_NOTICE_TITLE = re.compile(r"について(?:\s*\([^()]{1,20}\))*$")


@dataclass(frozen=True)
class Line:
    """One visual line of a page, its text already normalized."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    size: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def char_width(self) -> float:
        return (self.x1 - self.x0) / max(len(self.text), 1)


def page_lines(page: pymupdf.Page, textpage: pymupdf.TextPage | None = None, *, ocr: bool = False) -> list[Line]:
    """The page's lines in reading order; pieces of one visual row are merged; turned and vertical text is read
    in its own direction (textdirection.py)."""
    data = page.get_text("dict", flags=TEXT_FLAGS, sort=True, textpage=textpage)
    placed = []
    for number, block in enumerate(data["blocks"]):
        for line in block.get("lines", ()):
            spans = [s for s in line["spans"] if s["text"].strip()]
            text = normalize("".join(s["text"] for s in line["spans"])).replace("\n", " ")
            if ocr:
                text = _OCR_RULE.sub("", text).strip()
            if spans and text:
                placed.append(Placed(text, tuple(line["bbox"]), direction_of(line["dir"]),
                                     max(s["size"] for s in spans), number))
    if ocr and placed:
        # Tesseract's font sizes swing from 6 to 28 pt on one page: useless for paragraphs or titles.
        size = sorted(line.size for line in placed)[len(placed) // 2]
        placed = [replace(line, size=size) for line in placed]
    tidy = squeeze_ocr_spaces if ocr else unspace_letters
    rows: list[Line] = []
    for run in reading_runs(placed, page.rect.width, page.rect.height):
        lines = [Line(line.text, *line.box, size=line.size) for line in run.lines]
        rows += lines if run.whole else _merge_rows(lines, ocr=ocr)
    return [replace(row, text=tidy(row.text)) for row in rows]


def _merge_rows(lines: list[Line], *, ocr: bool) -> list[Line]:
    rows: list[Line] = []
    for line in lines:
        last = rows[-1] if rows else None
        overlap = min(last.y1, line.y1) - max(last.y0, line.y0) if last else 0
        # A word written down the page (textdirection.with_labels_stacked) stays a line of its own.
        if not last or overlap < 0.5 * min(last.height, line.height) or _written_down(last) or _written_down(line):
            rows.append(line)
            continue
        # Glyph boxes of 」 or ( overlap their neighbour a little; Tesseract's line boxes a lot.
        beside = line.x0 > last.x0 if ocr else line.x0 >= last.x1 - max(last.size, line.size)
        if not beside:
            rows.append(line)
            continue
        tight = line.x0 - last.x1 < line.size and (is_cjk(last.text[-1]) or is_cjk(line.text[0]))
        rows[-1] = Line(
            last.text + ("" if tight else " ") + line.text,
            last.x0, min(last.y0, line.y0), max(last.x1, line.x1), max(last.y1, line.y1), max(last.size, line.size),
        )
    return rows


def _written_down(line: Line) -> bool:
    """A Japanese word written down the page: three or more kana or kanji over more than two lines' height, in
    one's width (an equation's number, as tall as the equation, is not one)."""
    return sum(map(is_cjk, line.text)) >= 3 and line.height > 2 * max(line.x1 - line.x0, line.size)


def strip_headers_and_footers(pages: dict[int, list[Line]], sizes: dict[int, tuple[float, float]]
                              ) -> dict[int, list[Line]]:
    """Drop page numbers, and lines repeated on many pages at the top, at the bottom, or written down a side (a
    white paper's tab: 「概要・主なポイント」 on the left of even pages and the right of odd ones). `sizes`: each
    page's width and height."""
    edges = {number: _edge_lines(lines, *sizes[number]) for number, lines in pages.items()}
    seen = Counter(key for found in edges.values() for key in {_repeat_key(line, where) for line, where in found.items()})
    needed = max(2, math.ceil(0.5 * sum(1 for lines in pages.values() if lines)))

    def is_furniture(line: Line, where: str) -> bool:
        return bool(_PAGE_NUMBER.match(line.text)) or seen[_repeat_key(line, where)] >= needed

    return {
        number: [line for line in lines if not (line in edges[number] and is_furniture(line, edges[number][line]))]
        for number, lines in pages.items()
    }


def _edge_lines(lines: list[Line], width: float, height: float) -> dict[Line, str]:
    down = [line for line in lines if _written_down(line)]  # words written down a page come last
    side = {line: "side" for line in down if line.x1 <= _SIDE_SHARE * width or line.x0 >= (1 - _SIDE_SHARE) * width}
    lines = [line for line in lines if line not in down]
    top = {line: "top" for line in lines[:_EDGE_LINES] if line.y1 <= _EDGE_SHARE * height}
    bottom = {line: "bottom" for line in lines[-_EDGE_LINES:] if line.y0 >= (1 - _EDGE_SHARE) * height}
    return top | bottom | side


def _repeat_key(line: Line, where: str) -> str:
    return where + re.sub(r"\d+", "#", re.sub(r"\s+", "", line.text))


def paragraphs(lines: list[Line]) -> list[list[Line]]:
    """Group a page's lines into paragraphs by punctuation, indents, gaps and line length."""
    if not lines:
        return []
    margins = _column_margins(lines)
    groups = [[lines[0]]]
    depth = _bracket_depth(lines[0].text)
    for (prev, line), (left, right) in zip(pairwise(lines), margins):
        if _starts_paragraph(prev, line, left, right, inside_brackets=depth > 0):
            groups.append([line])
            depth = 0
        else:
            groups[-1].append(line)
        depth += _bracket_depth(line.text)
    return groups


def _margins(lines: list[Line]) -> tuple[float, float]:
    """Where lines start and end: the 10th percentile of their left edges and the 90th of their right ones."""
    return (sorted(line.x0 for line in lines)[round(0.1 * (len(lines) - 1))],
            sorted(line.x1 for line in lines)[round(0.9 * (len(lines) - 1))])


def _column_margins(lines: list[Line]) -> list[tuple[float, float]]:
    """The margins each line is measured against: the page's, or on a page of several columns (two long lines
    side by side) those of the lines above and below it, so that a left column's lines do not all look cut
    short against the right column's edge."""
    page = _margins(lines)
    long = [line for line in lines if line.x1 - line.x0 >= 0.25 * (page[1] - page[0])]
    if not long or min(line.x1 for line in long) > max(line.x0 for line in long):
        return [page] * len(lines)
    return [_margins([other for other in lines if other.x0 < line.x1 and other.x1 > line.x0]) for line in lines]


def _bracket_depth(text: str) -> int:
    return sum(text.count(c) for c in "(「『[") - sum(text.count(c) for c in ")」』]")


def _starts_paragraph(prev: Line, line: Line, left: float, right: float, *, inside_brackets: bool) -> bool:
    if _CANNOT_START.match(line.text) and is_cjk(prev.text[-1]) and not prev.text.endswith(_SENTENCE_END):
        return False
    if _PARAGRAPH_START.match(line.text) or (prev.text.endswith(_SENTENCE_END) and not inside_brackets):
        return True
    if _set_apart(prev, left, right) or _set_apart(line, left, right):
        return True
    if abs(prev.size - line.size) > 1 or line.y1 < prev.y0:  # new style or new column
        return True
    if line.y0 - prev.y1 > max(prev.height, line.height):  # a blank line between them
        return True
    if line.text[0].islower():  # "mation on the…": English never starts a paragraph in lower case
        return False
    # The previous line stopped although the next line's first word would have fit.
    first_word = re.match(r"[A-Za-z0-9'’]+|\S", line.text).group()
    if right - prev.x1 > (len(first_word) + 1.5) * line.char_width:
        return True
    return line.x0 > prev.x0 + line.char_width and prev.text.endswith((".", ":"))


def _set_apart(line: Line, left: float, right: float) -> bool:
    """A short line on the right: a date, a file number, an addressee, a signature, 「(別添)」."""
    width = right - left
    return line.x0 - left > 0.3 * width and line.x1 - line.x0 < 0.45 * width


def paragraph_text(group: list[Line]) -> str:
    text = group[0].text
    for line in group[1:]:
        text = join_lines(text, line.text)
    return text


def page_text(lines: list[Line]) -> str:
    """One paragraph per line of text."""
    return "\n".join(paragraph_text(group) for group in paragraphs(lines))


def find_title(first_page: list[Line], body_size: float) -> str | None:
    """A notice's 「…について」 line, else the largest-font line(s) on page 1."""
    for group in paragraphs(first_page):
        text = paragraph_text(group)
        if len(text) <= 150 and _NOTICE_TITLE.search(text):
            return text
    candidates = [line for line in first_page if sum(ch.isalpha() for ch in line.text) >= 2]
    if not candidates:
        return None
    largest = max(line.size for line in candidates)
    if largest < body_size + 1:
        return None
    start = next(i for i, line in enumerate(first_page) if line in candidates and line.size == largest)
    title = first_page[start]
    for line in first_page[start + 1 : start + 3]:  # a title may wrap onto two or three lines
        if abs(line.size - largest) > 0.5:
            break
        title = replace(title, text=join_lines(title.text, line.text))
    return title.text


def body_font_size(pages: dict[int, list[Line]]) -> float:
    """The font size carrying most characters."""
    sizes = Counter()
    for lines in pages.values():
        for line in lines:
            sizes[round(line.size * 2) / 2] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0
