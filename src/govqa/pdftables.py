"""Tables on PDF pages -> one line per row, each value beside its column header (tables.rows_to_lines).

A PDF's text layer reads a table cell by cell ("順位 カテゴリ 製品名 登録件数 1 OS Linux Kernel 252
…"): the header sits once at the top and a question naming a column and a row label ("登録件数が
最も多い製品") meets neither beside the other. The rows are rebuilt from the words' positions:
words on one baseline form a row, columns are the x-ranges no row's words cross, leading rows
without figures are the header (several header rows are joined per column: "2021年 総預貯金残高").
PyMuPDF's `find_tables` was measured first: 1–9 s a page here, and it split numbers ("67 9\n.").

A page whose first table has no header row takes the header of the previous page's last table
with as many columns (a table continued across a page break).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

import numpy as np
import pymupdf

from . import tables
from .textnorm import is_cjk, normalize

_NUMBER = re.compile(r"^[(\[（]?[▲△+\-−±]?\s?[¥$]?\d[\d,.]*\s?(?:%|％|倍|件|人|円|万|億|兆|pt)?[)\]）]?$")
# Tables without figures are left as read: their rebuilt rows (slides, forms, text tables whose cells
# wrap over several lines) were mixed, English questions lost (docs/retrieval.md, bench/build_tables_variant.py).
FIGURES_ONLY = True
_MIN_ROWS = 3  # rows with two or more cells before a block counts as a table
_GAP = 0.9  # words further apart than this many line heights are in different cells
_ROW_BREAK = 2.5  # a vertical gap of this many line heights ends a table
_MAX_CELL = 30  # a block whose typical cell is longer than this is prose laid out in columns
_MAX_HEADER_ROWS = 4
_MAX_CAPTION = 80
_CAPTION = re.compile(r"^[【\[(〔<]?(?:図表|表|図|Table|Figure|Exhibit)\s*[\d０-９]", re.IGNORECASE)
_NOTE = re.compile(r"^[(（<【]?(?:出所|出典|資料|注|備考|Source|Note)s?\s*[)）>】:：\d]|^※", re.IGNORECASE)
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_SIGN = {"▲", "△", "+", "-", "−", "±", "▼"}


@dataclass
class _Word:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass
class _Row:
    words: list[_Word] = field(default_factory=list)

    @property
    def y0(self) -> float:
        return min(w.y0 for w in self.words)

    @property
    def y1(self) -> float:
        return max(w.y1 for w in self.words)

    def cells(self, gap: float) -> list[list[_Word]]:
        """The row's words grouped where they stand closer than `gap`."""
        groups: list[list[_Word]] = []
        for word in sorted(self.words, key=lambda w: w.x0):
            if groups and word.x0 - groups[-1][-1].x1 < gap:
                groups[-1].append(word)
            else:
                groups.append([word])
        return groups


@dataclass
class Table:
    caption: str
    header: list[str]  # one name per column ("" where none)
    rows: list[list[str]]

    def lines(self, header: list[str] | None = None) -> list[str]:
        """Each row as "header: value; …" under the caption; `header` replaces a missing one."""
        names = self.header if any(self.header) else (header or [])
        named = [n for n in names if n]
        if len(named) < 2 or any(len(n) > tables.MAX_HEADER for n in named):
            return []  # rows_to_lines would take the first row of figures for the header
        # A row with one filled cell (a wrapped line, a chart's label) pairs nothing with a header.
        rows = [row for row in self.rows if sum(bool(c) for c in row) >= 2]
        body = tables.rows_to_lines([names, *rows])[1:]
        return [self.caption, *body] if self.caption and body else body


def page_tables(page: pymupdf.Page) -> list[Table]:
    """The tables of a page with a text layer, top to bottom."""
    words = [_Word(x0, y0, x1, y1, normalize(text)) for x0, y0, x1, y1, text, *_ in page.get_text("words")]
    words = _signed([w for w in words if w.text and w.height > 0])
    if len(words) < _MIN_ROWS * 2:
        return []
    rows = _rows(words)
    height = statistics.median(w.height for w in words)
    gap = _GAP * height
    found = []
    for start, end in _blocks(rows, gap, height):
        table = _table(rows, start, end, gap)
        if table is not None:
            found.append(table)
    return found


def document_tables(doc: pymupdf.Document, numbers: list[int]) -> dict[int, list[str]]:
    """Row lines for the given pages (1-based); a continued table borrows the previous page's header."""
    result: dict[int, list[str]] = {}
    carried: list[str] | None = None
    for number in sorted(numbers):
        found = page_tables(doc.load_page(number - 1))
        lines: list[str] = []
        for i, table in enumerate(found):
            inherited = carried if i == 0 and carried and len(carried) == len(table.header) else None
            lines.extend(table.lines(inherited))
        if lines:
            result[number] = lines
        last = found[-1] if found else None
        carried = (last.header if any(last.header) else carried) if last else None
    return result


def _signed(words: list[_Word]) -> list[_Word]:
    """「▲ 0.0」 printed as two words is one figure: the sign joins the number after it."""
    out: list[_Word] = []
    for word in sorted(words, key=lambda w: (round(w.y0), w.x0)):
        last = out[-1] if out else None
        if (last is not None and last.text in _SIGN and _NUMBER.match(word.text) and abs(last.y0 - word.y0) < word.height / 2
                and 0 <= word.x0 - last.x1 < word.height):
            out[-1] = _Word(last.x0, min(last.y0, word.y0), word.x1, max(last.y1, word.y1), last.text + word.text)
        else:
            out.append(word)
    return out


def _rows(words: list[_Word]) -> list[_Row]:
    """Words on one baseline: vertical overlap of at least half the smaller height."""
    rows: list[_Row] = []
    for word in sorted(words, key=lambda w: ((w.y0 + w.y1) / 2, w.x0)):
        row = rows[-1] if rows else None
        if row is not None:
            overlap = min(row.y1, word.y1) - max(row.y0, word.y0)
            if overlap >= 0.5 * min(word.height, row.y1 - row.y0):
                row.words.append(word)
                continue
        rows.append(_Row([word]))
    return rows


def _blocks(rows: list[_Row], gap: float, height: float) -> list[tuple[int, int]]:
    """(start, end) row ranges where rows of several cells follow each other closely."""
    blocks = []
    start = None
    multi = 0
    last_multi = -1
    for i, row in enumerate(rows):
        cells = row.cells(gap)
        text = _text(row)
        close = i > 0 and row.y0 - rows[i - 1].y1 < _ROW_BREAK * height
        if start is not None and (not close or _NOTE.match(text) or (len(cells) < 2 and (len(text) > _MAX_CAPTION or i - last_multi > 2))):
            if multi >= _MIN_ROWS:
                blocks.append((start, last_multi + 1))
            start, multi = None, 0
        if len(cells) >= 2 and not _NOTE.match(text):
            if start is None:
                start = i
            multi += 1
            last_multi = i
    if start is not None and multi >= _MIN_ROWS:
        blocks.append((start, last_multi + 1))
    return blocks


def _columns(rows: list[_Row], gap: float) -> list[tuple[float, float]]:
    """x-ranges that words fill, split where (nearly) no row's words cross."""
    x0 = min(w.x0 for r in rows for w in r.words)
    x1 = max(w.x1 for r in rows for w in r.words)
    width = int(x1 - x0) + 2
    cover = np.zeros(width, dtype=np.int32)
    for row in rows:  # how many rows have a word over each point of the width
        edges = np.zeros(width + 1, dtype=np.int32)
        for word in row.words:
            edges[int(word.x0 - x0)] += 1
            edges[int(word.x1 - x0) + 1] -= 1
        cover += np.cumsum(edges[:-1]) > 0
    cover = cover.tolist()
    allowed = len(rows) // 6  # a header spanning several columns crosses their gutters
    columns: list[tuple[float, float]] = []
    start = None
    empty = 0
    for x, count in enumerate(cover + [0] * int(gap + 2)):
        if count > allowed:
            if start is None:
                start = x
            empty = 0
        elif start is not None:
            empty += 1
            if empty >= max(2.0, gap / 3):
                columns.append((x0 + start, x0 + x - empty + 1))
                start, empty = None, 0
    return columns


def _table(rows: list[_Row], start: int, end: int, gap: float) -> Table | None:
    caption = _caption(rows, start, gap)
    while start < end and _CAPTION.match(_text(rows[start])):
        caption = _text(rows[start])  # a caption set on the table's first row, apart from the cells
        start += 1
    block = rows[start:end]
    if len(block) < _MIN_ROWS:
        return None
    columns = _columns(block, gap)
    if len(columns) < 2:
        return None
    grid = [_assign(row, columns) for row in block]
    filled = [c for r in grid for c in r if c]
    if not filled or statistics.median(len(c) for c in filled) > _MAX_CELL:
        return None
    numeric = [_is_data(r) for r in grid]
    if sum(numeric) >= _MIN_ROWS:
        first = numeric.index(True)
        heads = first if first <= _MAX_HEADER_ROWS else 0
    elif FIGURES_ONLY:
        return None
    else:
        heads = 1
    names = [_header_row(block[r], grid[r], columns, gap, r == heads - 1) for r in range(heads)]
    header = [_join(n[c] for n in names) for c in range(len(columns))]
    named = [h for h in header if h]
    if sum(bool(_NUMBER.match(h)) or all(_NUMBER.match(p) for p in h.split()) for h in named) * 2 >= len(named) > 0:
        return None  # figures for a header: a chart's axis ("0% 20% 40%"), not a table
    body = [row for row in grid[heads:] if any(row)]
    return Table(caption, header, body)


def _is_data(cells: list[str]) -> bool:
    """A row of figures: a number after the first column that is not a bare year (a header's 「2021」)."""
    return any(_NUMBER.match(c) and not _YEAR.match(c) for c in cells[1:] if c)


def _text(row: _Row) -> str:
    return _join(w.text for w in sorted(row.words, key=lambda w: w.x0))


def _assign(row: _Row, columns: list[tuple[float, float]]) -> list[str]:
    """The row's text per column: each word goes to the column its centre falls in (or nearest)."""
    cells: list[list[_Word]] = [[] for _ in columns]
    for word in sorted(row.words, key=lambda w: w.x0):
        centre = (word.x0 + word.x1) / 2
        best = min(range(len(columns)), key=lambda c: _distance(centre, columns[c]))
        cells[best].append(word)
    return [_join(w.text for w in cell) for cell in cells]


def _header_row(row: _Row, cells_by_column: list[str], columns: list[tuple[float, float]], gap: float,
                bottom: bool) -> list[str]:
    """One header row's name for each column.

    A cell of an upper header row may span several columns (「2021年」 over three): each column
    takes the cell above it, or the nearest by centre, but not a column left of the row's first
    cell (the row labels' column, whose name sits in another header row).
    """
    cells = row.cells(gap)
    if bottom or len(cells) < 2 or len(cells) >= len(columns):
        return cells_by_column
    named = [((c[0].x0 + c[-1].x1) / 2, c[0].x0, c[-1].x1, _join(w.text for w in c)) for c in cells]
    out = []
    for x0, x1 in columns:
        over = [(min(x1, b) - max(x0, a), name) for _, a, b, name in named if a < x1 and b > x0]
        if over:
            out.append(max(over)[1])
        elif not out and x1 < named[0][1]:
            out.append("")
        else:
            out.append(min(named, key=lambda c: abs(c[0] - (x0 + x1) / 2))[3])
    return out


def _caption(rows: list[_Row], start: int, gap: float) -> str:
    """The line just above the table when it is short and one cell: 「表2-1 …」, 「【図表２：…】」."""
    if start == 0:
        return ""
    above = rows[start - 1]
    if len(above.cells(gap)) != 1:
        return ""
    text = _text(above)
    return text if len(text) <= _MAX_CAPTION and not text.endswith("。") else ""


def _join(parts) -> str:
    out = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        out = out + part if not out or (is_cjk(out[-1]) and is_cjk(part[0])) else f"{out} {part}"
    return out


def _distance(x: float, span: tuple[float, float]) -> float:
    return 0.0 if span[0] <= x <= span[1] else min(abs(x - span[0]), abs(x - span[1]))
