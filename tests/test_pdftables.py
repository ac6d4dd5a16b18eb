"""Tables in PDFs: each row indexed beside its column headers, a continued table keeps its header."""

from __future__ import annotations

from pathlib import Path

import pymupdf

from govqa import pagetables
from govqa.build import build_index
from govqa.config import Settings
from govqa.engine import Engine
from govqa.parse import parse_file
from govqa.pdftables import document_tables

HEADER = ["順位", "製品名", "登録件数", "前年度件数"]
PRODUCTS = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India", "Juliet",
            "Kilo", "Lima", "Mike", "November", "Oscar", "Papa", "Quebec", "Romeo"]
PROSE = ("本報告書は、脆弱性対策情報データベースに登録された情報の傾向をまとめたものです。"
         "登録された情報は、製品の利用者や開発者が対策に役立てることを目的として公開しています。")
AFTERWORD = "各製品の開発者は、修正版の提供状況を利用者へ速やかに周知することが望まれます。"
COLUMNS = [72, 130, 300, 400, 500]


def _row(page: pymupdf.Page, y: float, cells: list[str]) -> None:
    for x, cell in zip(COLUMNS, cells):
        page.insert_text((x + 6, y + 14), cell, fontname="japan", fontsize=10)
    page.draw_line((COLUMNS[0], y + 20), (COLUMNS[-1], y + 20))


def _table(page: pymupdf.Page, top: float, rows: list[list[str]]) -> None:
    page.draw_line((COLUMNS[0], top), (COLUMNS[-1], top))
    for i, cells in enumerate(rows):
        _row(page, top + 20 * i, cells)
    for x in COLUMNS:
        page.draw_line((x, top), (x, top + 20 * len(rows)))


def ranked_table_pdf(path: Path) -> Path:
    """Page 1: prose, a caption and a ruled table's header and first rows; page 2: the table goes on
    without its header; page 3: prose only."""
    rows = [[str(i + 1), name, str(300 - 13 * i), str(280 - 11 * i)] for i, name in enumerate(PRODUCTS)]
    with pymupdf.open() as doc:
        first = doc.new_page(width=595, height=842)
        first.insert_textbox(pymupdf.Rect(72, 72, 523, 160), PROSE, fontname="japan", fontsize=10.5)
        first.insert_text((72, 190), "表1 製品別の脆弱性対策情報の登録件数", fontname="japan", fontsize=10.5)
        _table(first, 200, [HEADER, *rows[:9]])
        second = doc.new_page(width=595, height=842)
        _table(second, 72, rows[9:])
        second.insert_textbox(pymupdf.Rect(72, 500, 523, 560), AFTERWORD, fontname="japan", fontsize=10.5)
        third = doc.new_page(width=595, height=842)
        third.insert_textbox(pymupdf.Rect(72, 72, 523, 200), PROSE + AFTERWORD, fontname="japan", fontsize=10.5)
        doc.save(path)
    return path


def test_rows_carry_their_headers_and_a_continued_table_its_header(tmp_path):
    with pymupdf.open(ranked_table_pdf(tmp_path / "report.pdf")) as doc:
        lines = document_tables(doc, [1, 2, 3])

    assert lines[1][0] == "表1 製品別の脆弱性対策情報の登録件数"
    assert "順位: 1; 製品名: Alpha; 登録件数: 300; 前年度件数: 280" in lines[1]
    # Page 2's rows have no header of their own: they take page 1's.
    assert "順位: 11; 製品名: Kilo; 登録件数: 170; 前年度件数: 170" in lines[2]
    assert 3 not in lines  # prose only: nothing added


def test_a_question_naming_a_row_and_a_column_finds_the_continued_page(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    pdf = ranked_table_pdf(folder / "report.pdf")
    settings = Settings(index_dir=tmp_path / "index", manifest=tmp_path / "none.toml")
    events: list[str] = []
    build_index([folder], settings, on_event=events.append)
    engine = Engine.open(settings)

    hits = engine.search("Kiloの登録件数は何件ですか", k=3)
    assert (hits[0].doc_id, hits[0].page) == ("report", 2), [(h.page, h.text[:40]) for h in hits]
    assert "製品名: Kilo; 登録件数: 170" in hits[0].text
    answer = engine.ask("Kiloの登録件数は何件ですか", llm="extractive")
    assert "製品名: Kilo; 登録件数: 170" in answer.answer  # the quoted row says what 170 counts
    pages = {p.page: p.text for p in engine.reader.pages_of("report")}
    assert pages[3] == parse_file(pdf).pages[2].text  # a page without a table is left as read
    assert not any("upgraded: table rows" in e for e in events)  # a new index is not an upgrade


def test_an_index_built_without_table_rows_is_upgraded_by_indexing_again(tmp_path, monkeypatch):
    folder = tmp_path / "docs"
    folder.mkdir()
    ranked_table_pdf(folder / "report.pdf")
    settings = Settings(index_dir=tmp_path / "index", manifest=tmp_path / "none.toml")
    monkeypatch.setattr(pagetables, "ENABLED", False)
    before = build_index([folder], settings)
    monkeypatch.setattr(pagetables, "ENABLED", True)
    events: list[str] = []

    after = build_index([folder], settings, on_event=events.append)

    assert [e for e in events if e.startswith("index upgraded: table rows")] == [
        ("index upgraded: table rows on 2 page(s) now carry their column headers "
         "(only those pages' passages are embedded again)")]
    assert before.chunks < after.chunks and 0 < after.embedded < after.chunks  # only the table pages' passages
    events.clear()
    again = build_index([folder], settings, on_event=events.append)
    assert again.embedded == 0 and not any("upgraded" in e for e in events)  # once upgraded, nothing to say
