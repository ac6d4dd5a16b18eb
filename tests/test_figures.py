"""Text inside pictures on pages that have a text layer (figures.py): read by OCR, indexed, cached."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
# Words only the picture holds; the page's text layer never says them.
CHART = ["訓練参加者数の推移", "令和5年度 避難訓練 1200人", "令和6年度 避難訓練 1500人"]


def _chart_png() -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (1400, 520), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 64)
    for i, line in enumerate(CHART):
        draw.text((60, 50 + 150 * i), line, fill="black", font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _pdf(path: Path) -> Path:
    """Page 1: a paragraph and, under it, a chart pasted as a picture; page 2: a paragraph only."""
    import pymupdf

    doc = pymupdf.open()
    first = doc.new_page(width=595, height=842)
    first.insert_text((60, 90), "防災に関する各地域の取組の状況を以下の図に示す。", fontname="japan", fontsize=12)
    first.insert_image(pymupdf.Rect(60, 140, 535, 316), stream=_chart_png())
    second = doc.new_page(width=595, height=842)
    second.insert_text((60, 90), "本資料は各地域における防災の取組についてまとめたものである。", fontname="japan", fontsize=12)
    doc.save(path)
    doc.close()
    return path


def _need_ocr() -> None:
    from govqa.parse import ocr_available

    if not FONT.is_file() or not ocr_available("jpn+eng"):
        pytest.skip("fonts-noto-cjk or Tesseract (jpn) not present")


def test_words_in_a_picture_become_searchable_on_their_page_and_are_read_once(tmp_path):
    from govqa.build import build_index
    from govqa.config import Settings
    from govqa.engine import Engine
    from govqa.figures import read_by_ocr
    from govqa.search.retrieve import retrieve

    _need_ocr()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _pdf(corpus / "bousai.pdf")
    settings = Settings(index_dir=tmp_path / "index", manifest=tmp_path / "none.toml")
    events: list[str] = []
    build_index([corpus], settings, on_event=events.append)
    assert any("picture(s) read by OCR" in e for e in events), events

    engine = Engine.open(settings)
    record = engine.reader.documents["bousai"]
    assert record.figure_pages == [1] and record.ocr_pages == []
    assert record.figure_starts == [len("防災に関する各地域の取組の状況を以下の図に示す。") + 1]
    first, second = engine.reader.pages_of("bousai")
    assert first.text.startswith("防災に関する各地域の取組の状況を以下の図に示す。")  # the text layer first, untouched
    assert "訓練参加者数の推移" in first.text and "1500人" in first.text.replace(" ", "")
    assert second.text == "本資料は各地域における防災の取組についてまとめたものである。"  # no picture: nothing added
    hits = retrieve(engine.reader, engine.embedder, "訓練参加者数の推移", mode="page-bm25")
    assert (hits[0].doc_id, hits[0].page) == ("bousai", 1)
    hits = retrieve(engine.reader, engine.embedder, "訓練参加者数の推移", mode="hybrid")
    chart = next(h for h in hits if "訓練参加者数" in h.text)
    assert read_by_ocr(record, 1, chart.end) and not read_by_ocr(record, 2, 10 ** 6)
    assert not read_by_ocr(record, 1, len("防災に関する各地域の取組の状況を以下の図に示す。"))  # the text layer's own sentence
    # The viewer can mark it: rectangles from Tesseract's word boxes, inside the picture.
    inside = [b for b in chart.boxes if b[1] >= 140 / 842 - 0.01 and b[3] <= 316 / 842 + 0.01]
    assert chart.page == 1 and inside and all(60 / 595 - 0.01 <= b[0] < b[2] <= 535 / 595 + 0.01 for b in inside)

    again: list[str] = []
    build_index([corpus], settings, on_event=again.append)
    assert not any("read by OCR" in e for e in again), again  # every figure came from the cache
    assert Engine.open(settings).reader.pages_of("bousai")[0].text == first.text


def test_an_index_built_without_figure_text_is_upgraded_by_indexing_again(tmp_path):
    from govqa.build import build_index
    from govqa.config import Settings
    from govqa.engine import Engine

    _need_ocr()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _pdf(corpus / "bousai.pdf")
    before = Settings(index_dir=tmp_path / "index", manifest=tmp_path / "none.toml", figure_ocr=False)
    build_index([corpus], before)
    record = Engine.open(before).reader.documents["bousai"]
    assert record.figure_pages is None and "訓練参加者数" not in Engine.open(before).reader.pages_of("bousai")[0].text

    events: list[str] = []
    report = build_index([corpus], before.model_copy(update={"figure_ocr": True}), on_event=events.append)
    assert [e for e in events if e.startswith("index upgraded: text inside figures")] == [
        "index upgraded: text inside figures read by OCR and added to 1 page(s) (only their passages are embedded again)"]
    assert report.reused >= 1  # page 2's passage kept its vector
    assert "訓練参加者数の推移" in Engine.open(before).reader.pages_of("bousai")[0].text
