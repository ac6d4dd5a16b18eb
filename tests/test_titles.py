"""Which title a document is shown under: manifest, PDF metadata, first heading, then OCR only if the document backs it."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from govqa.build import build_index
from govqa.config import Settings
from govqa.engine import Engine
from govqa.parse import ocr_available, parse_file

BODY = [
    "原薬等登録原簿の登録申請の手続を次のとおり定めました。",
    "原薬等登録原簿の登録申請は、独立行政法人医薬品医療機器総合機構に",
    "提出してください。手数料は無料です。",
    "登録証の交付を受けた後に登録事項を変更するときは、変更登録の申請",
    "又は軽微変更届出が必要です。",
]


def need_ocr() -> None:
    if not ocr_available("jpn+eng"):
        pytest.skip("Tesseract with jpn+eng is not usable here (apt-get install tesseract-ocr tesseract-ocr-jpn)")


def scanned_notice(path: Path, title: str) -> Path:
    """A one-page scan: a title line above the body, as a picture with no text layer."""
    source = pymupdf.open()
    page = source.new_page(width=595, height=842)
    page.insert_text((120, 110), title, fontname="japan", fontsize=14)
    for i, line in enumerate(BODY):
        page.insert_text((72, 170 + i * 20), line, fontname="japan", fontsize=12)
    picture = page.get_pixmap(dpi=200)
    doc = pymupdf.open()
    doc.new_page(width=595, height=842).insert_image(pymupdf.Rect(0, 0, 595, 842), pixmap=picture)
    doc.save(path)
    return path


@pytest.mark.slow
def test_an_ocr_title_the_document_backs_is_kept(tmp_path):
    need_ocr()
    notes: list[str] = []
    doc = parse_file(scanned_notice(tmp_path / "scan.pdf", "登録申請の手続について"), warn=notes.append)
    assert doc.title == "登録申請の手続について" and not notes


@pytest.mark.slow
def test_an_ocr_title_nothing_in_the_document_backs_falls_back_to_the_file_name_with_a_note(tmp_path):
    need_ocr()
    notes: list[str] = []
    path = scanned_notice(tmp_path / "0001234.pdf", "除雪計画の見直しについて")

    doc = parse_file(path, warn=notes.append)

    assert doc.title == "0001234"
    assert len(notes) == 1 and notes[0].startswith(f"{path}: the title read by OCR looks unreliable")
    assert "[titles] in corpus/sources.toml" in notes[0]


@pytest.mark.slow
@pytest.mark.parametrize("name, pages, title", [
    # OCR of the whole page reads 「原薬等韻録原短に関する…」; the title line read again, and backed by the text, is right.
    ("000161338", [1, 2], "原薬等登録原簿に関する質疑応答集(Q&A)について(その2)"),
    # Here the second reading is the wrong one (「原息」); the page's own reading stays.
    ("000160131", [1, 2], "原薬等登録原簿に関する質疑応答集(Q&A)について"),
])
def test_sample_scans_get_their_notice_titles(samples_dir, name, pages, title):
    need_ocr()
    notes: list[str] = []
    doc = parse_file(samples_dir / f"{name}.pdf", pages=pages, warn=notes.append)
    assert doc.title == title and not notes


@pytest.mark.slow
def test_a_title_picture_ocr_cannot_read_gives_the_file_name_and_a_note(samples_dir):
    """000227202's page 1 has only its publisher as text; the title 「MF制度概要(承認審査)」 is a picture."""
    need_ocr()
    notes: list[str] = []
    doc = parse_file(samples_dir / "000227202.pdf", pages=[1, 2, 3], warn=notes.append)
    assert doc.title == "000227202"
    assert len(notes) == 1 and "000227202.pdf: the title picture on page 1 could not be read reliably" in notes[0]


def test_metadata_title_wins_over_the_first_heading(tmp_path):
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 100), "Section 1 Overview", fontsize=20)
    doc.set_metadata({"title": "Guide to the Drug Master File"})
    doc.save(tmp_path / "guide.pdf")
    assert parse_file(tmp_path / "guide.pdf").title == "Guide to the Drug Master File"


def test_titles_set_in_the_manifest_win_and_can_be_edited(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "000227202.txt").write_text("独立行政法人医薬品医療機器総合機構\nMF制度の概要を説明します。\n", encoding="utf-8")
    (folder / "memo.txt").write_text("窓口の混雑について\n年度末は混み合います。\n", encoding="utf-8")
    manifest = tmp_path / "sources.toml"
    settings = Settings(index_dir=tmp_path / "index", manifest=manifest)

    manifest.write_text('[titles]\n"000227202.txt" = "MF制度概要(承認審査)"\n', encoding="utf-8")
    build_index([folder], settings)
    first = {d.doc_id: d.title for d in Engine.open(settings).documents()}
    manifest.write_text('[titles]\n"000227202.txt" = "MF制度の概要"\nmemo = "窓口案内"\n', encoding="utf-8")
    build_index([folder], settings)
    second = {d.doc_id: d.title for d in Engine.open(settings).documents()}

    assert first == {"000227202": "MF制度概要(承認審査)", "memo": "窓口の混雑について"}
    assert second == {"000227202": "MF制度の概要", "memo": "窓口案内"}


def test_a_malformed_titles_table_is_named_and_ignored(tmp_path):
    (tmp_path / "memo.txt").write_text("窓口の混雑について\n年度末は混み合います。\n", encoding="utf-8")
    manifest = tmp_path / "sources.toml"
    manifest.write_text('[titles]\n"memo.txt" = 3\n', encoding="utf-8")
    events: list[str] = []

    build_index([tmp_path / "memo.txt"], Settings(index_dir=tmp_path / "index", manifest=manifest), on_event=events.append)

    assert any(e.startswith("titles ignored:") and str(manifest) in e for e in events)
