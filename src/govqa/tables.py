"""Table rows (CSV, spreadsheets, Word and PowerPoint tables) -> lines that keep each value beside its header.

A row read alone, "100 | 2024 | 済", answers nothing; "件数: 100; 年度: 2024; 状況: 済" lets
a question that names a column find the row, lexically and densely.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

_SEPARATOR = "; "
MAX_HEADER = 60  # a "header" cell longer than this is a sentence: the table has no header row


def rows_to_lines(rows: Iterable[Sequence[object]]) -> list[str]:
    """One line per row: "header: value; …" under the first row that has two or more cells; empty cells left out."""
    lines: list[str] = []
    header: list[str] | None = None
    for row in rows:
        cells = [_cell(value) for value in row]
        while cells and not cells[-1]:
            cells.pop()
        filled = [c for c in cells if c]
        if not filled:
            continue
        if header is None and len(filled) >= 2 and all(len(c) <= MAX_HEADER for c in filled):
            header = cells
            lines.append(" / ".join(filled))
            continue
        if header is None or len(filled) == 1:
            lines.append(" ".join(filled))
            continue
        pairs = []
        for i, value in enumerate(cells):
            if not value:
                continue
            name = header[i] if i < len(header) else ""
            pairs.append(f"{name}: {value}" if name and name != value else value)
        lines.append(_SEPARATOR.join(pairs))
    return lines


def attach_to_pages(pages: list, tables: Iterable[Sequence[Sequence[object]]]) -> None:
    """Add each table's rows, with headers, to the printed page that shows its cells.

    A table printed to PDF reads row by row with its headers only at the top ("登録手数料 0 円");
    the header-beside-value lines go on the page where most of the table's cells are found.
    """
    for rows in tables:
        lines = rows_to_lines(rows)
        if not any(": " in line for line in lines):
            continue  # no header row: the printed rows say as much
        cells = {_compact(_cell(v)) for row in rows for v in row} - {""}
        if not cells or not pages:
            continue
        found = [(sum(cell in _compact(page.text) for cell in cells), -n) for n, page in enumerate(pages)]
        count, minus_n = max(found)
        if count * 2 >= len(cells):
            page = pages[-minus_n]
            page.text = page.text + "\n" + "\n".join(lines)


def _compact(text: str) -> str:
    return "".join(text.split())


def csv_rows(text: str) -> list[list[str]]:
    """The rows of CSV or TSV text, its delimiter sniffed (comma, tab, semicolon)."""
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel_tab if sample.count("\t") > sample.count(",") else csv.excel
    return list(csv.reader(io.StringIO(text), dialect))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())
