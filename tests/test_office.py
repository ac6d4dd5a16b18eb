"""Word, Excel and PowerPoint files: cited by printed page with LibreOffice, by page break, sheet or slide without."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import docx
import openpyxl
import pytest
from pptx import Presentation
from pptx.util import Inches

from govqa.build import build_index
from govqa.config import Settings
from govqa.engine import Engine
from govqa.errors import ParseError
from govqa.parse import parse_file

HAS_SOFFICE = shutil.which("soffice") is not None
needs_soffice = pytest.mark.skipif(not HAS_SOFFICE, reason="LibreOffice (soffice) is not installed")


def make_docx(path: Path) -> Path:
    document = docx.Document()
    document.core_properties.title = "様式第1号の記入要領"
    document.add_heading("様式第1号の記入要領", 1)
    document.add_paragraph("申請者の氏名と住所を記入してください。")
    document.add_page_break()
    document.add_paragraph("登録に係る手数料は次の表のとおりです。")
    table = document.add_table(rows=3, cols=2)
    for r, row in enumerate([("項目", "金額"), ("登録手数料", "0円"), ("変更手数料", "500円")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.save(path)
    return path


def make_xlsx(path: Path) -> Path:
    book = openpyxl.Workbook()
    first = book.active
    first.title = "一覧"
    first.append(["自治体", "導入年度", "用途"])
    first.append(["横浜市", 2023, "議事録作成"])
    second = book.create_sheet("集計")
    second.append(["年度", "件数"])
    second.append([2024, 120])
    book.save(path)
    return path


def make_pptx(path: Path) -> Path:
    deck = Presentation()
    for title, body in [("説明資料", "生成AIの導入について"), ("課題", "職員の研修が必要です"),
                        ("費用", "年間の利用料を見積もりました")]:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    table = deck.slides[2].shapes.add_table(2, 2, Inches(1), Inches(4), Inches(4), Inches(1)).table
    for (r, c), value in {(0, 0): "区分", (0, 1): "金額", (1, 0): "利用料", (1, 1): "三百万円"}.items():
        table.cell(r, c).text = value
    deck.save(path)
    return path


def converted_by_libreoffice(path: Path, suffix: str, tmp_path: Path) -> Path:
    """An old binary Office file (.doc, .xls, .ppt) made from a new one."""
    subprocess.run(["soffice", f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
                    "--convert-to", suffix, "--outdir", str(tmp_path / "old"), str(path)],
                   check=True, capture_output=True, timeout=300)
    return tmp_path / "old" / f"{path.stem}.{suffix}"


def page_with(doc, words: str) -> int:
    pages = [p.page for p in doc.pages if words in p.text.replace(" ", "")]
    assert len(pages) == 1, [(p.page, p.text) for p in doc.pages]
    return pages[0]


@pytest.fixture
def no_converter(monkeypatch, tmp_path):
    monkeypatch.setenv("GOVQA_OFFICE_CONVERTER", str(tmp_path / "no-such-soffice"))


# --- without LibreOffice: page breaks, sheets, slides -----------------------------------------------

def test_word_without_libreoffice_is_paged_by_its_page_breaks_with_table_headers(tmp_path, no_converter):
    doc = parse_file(make_docx(tmp_path / "form.docx"))

    assert doc.kind == "docx" and doc.title == "様式第1号の記入要領"
    assert [p.page for p in doc.pages] == [1, 2]
    assert page_with(doc, "申請者の氏名") == 1
    assert "項目: 変更手数料; 金額: 500円" in doc.pages[1].text


def test_excel_without_libreoffice_cites_the_sheet_and_keeps_rows_with_headers(tmp_path, no_converter):
    doc = parse_file(make_xlsx(tmp_path / "list.xlsx"))

    assert doc.kind == "xlsx" and [p.page for p in doc.pages] == [1, 2]
    assert doc.pages[0].text.splitlines() == ["一覧", "自治体 / 導入年度 / 用途", "自治体: 横浜市; 導入年度: 2023; 用途: 議事録作成"]
    assert doc.pages[1].text.splitlines()[0] == "集計" and "年度: 2024; 件数: 120" in doc.pages[1].text


def test_powerpoint_without_libreoffice_cites_the_slide(tmp_path, no_converter):
    doc = parse_file(make_pptx(tmp_path / "deck.pptx"))

    assert doc.kind == "pptx" and doc.title == "説明資料"
    assert [p.page for p in doc.pages] == [1, 2, 3]
    assert page_with(doc, "職員の研修") == 2
    assert "区分: 利用料; 金額: 三百万円" in doc.pages[2].text


@pytest.mark.parametrize("suffix, package", [("doc", "libreoffice-writer"), ("xls", "libreoffice-calc"),
                                             ("ppt", "libreoffice-impress")])
def test_old_binary_office_files_without_libreoffice_say_what_to_install(tmp_path, no_converter, suffix, package):
    path = tmp_path / f"old.{suffix}"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(ParseError) as caught:
        parse_file(path)
    assert caught.value.path == str(path) and package in caught.value.reason


def test_a_damaged_office_file_is_one_error_naming_it(tmp_path, no_converter):
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ParseError) as caught:
        parse_file(path)
    assert caught.value.path == str(path) and "damaged or unreadable .docx" in caught.value.reason


def test_a_damaged_office_file_is_one_error_with_libreoffice_too(tmp_path):
    path = tmp_path / "broken.pptx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    warnings: list[str] = []
    with pytest.raises(ParseError, match="damaged or unreadable .pptx"):
        parse_file(path, warn=warnings.append)
    assert not warnings


# --- with LibreOffice: the printed page -------------------------------------------------------------

@needs_soffice
def test_word_with_libreoffice_cites_the_printed_page(tmp_path):
    doc = parse_file(make_docx(tmp_path / "form.docx"))

    assert doc.kind == "docx" and doc.path == str(tmp_path / "form.docx")
    assert doc.title == "様式第1号の記入要領"
    assert len(doc.pages) == 2
    assert page_with(doc, "申請者の氏名") == 1 and page_with(doc, "変更手数料") == 2
    assert "項目: 変更手数料; 金額: 500円" in doc.pages[1].text  # the table's rows with headers, on its page


@needs_soffice
def test_powerpoint_with_libreoffice_prints_one_page_per_slide(tmp_path):
    doc = parse_file(make_pptx(tmp_path / "deck.pptx"))

    assert doc.title == "説明資料" and len(doc.pages) == 3
    assert page_with(doc, "職員の研修") == 2
    assert "区分: 利用料; 金額: 三百万円" in doc.pages[2].text


@needs_soffice
@pytest.mark.parametrize("make, suffix, words, page", [(make_docx, "doc", "変更手数料", 2), (make_pptx, "ppt", "職員の研修", 2),
                                                       (make_xlsx, "xls", "件数:120", 2)])
def test_old_binary_office_files_are_read_through_libreoffice(tmp_path, make, suffix, words, page):
    modern = make(tmp_path / f"made.{ {'doc': 'docx', 'ppt': 'pptx', 'xls': 'xlsx'}[suffix] }")
    old = converted_by_libreoffice(modern, suffix, tmp_path)

    doc = parse_file(old)

    assert doc.kind == suffix and doc.path == str(old)
    assert page_with(doc, words) == page


# --- in an index: the citation a user sees ------------------------------------------------------------

@pytest.mark.parametrize("converter", ["soffice", "absent"])
def test_office_files_in_an_index_are_cited_by_page_sheet_and_slide(tmp_path, monkeypatch, converter):
    if converter == "soffice" and not HAS_SOFFICE:
        pytest.skip("LibreOffice (soffice) is not installed")
    if converter == "absent":
        monkeypatch.setenv("GOVQA_OFFICE_CONVERTER", str(tmp_path / "no-such-soffice"))
    folder = tmp_path / "shared-drive"
    folder.mkdir()
    make_docx(folder / "form.docx"), make_xlsx(folder / "list.xlsx"), make_pptx(folder / "deck.pptx")
    # Parsed in this process, so that the converter setting above is the one used.
    settings = Settings(index_dir=tmp_path / "index", manifest=tmp_path / "none.toml", parse_timeout=0, parse_memory_mb=0)

    report = build_index([folder], settings)
    engine = Engine.open(settings)

    assert report.documents == 3 and not report.skipped
    for query, doc_id, page in [("変更手数料はいくらですか", "form", 2), ("横浜市は議事録作成に導入しましたか", "list", 1),
                                ("2024年度の件数", "list", 2), ("職員の研修", "deck", 2)]:
        hits = [(h.doc_id, h.page) for h in engine.search(query, k=3)]
        assert hits[0] == (doc_id, page), (query, hits)


@needs_soffice
def test_libreoffice_runs_inside_the_parse_child_under_its_limits(tmp_path):
    from govqa.isolate import parse_isolated

    warnings: list[str] = []
    doc = parse_isolated(make_docx(tmp_path / "form.docx"), ocr_lang="jpn+eng", ocr_dpi=300, warn=warnings.append,
                         timeout=300, memory_mb=4096)

    assert page_with(doc, "変更手数料") == 2 and not warnings
