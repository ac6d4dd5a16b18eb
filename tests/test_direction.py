"""Pages that are not one column of left-to-right lines: vertical writing (縦書き), turned tables and pages,
sideways scans, two columns."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pymupdf
import pytest

from govqa.parse import ocr_available, parse_file
from govqa.textdirection import ACROSS, DOWN, Placed, reading_runs

from conftest import SAMPLES

PARAGRAPHS = [
    "令和六年度の調査では、回答した市区町村のうち約三割が生成AIを業務に導入していると答えた。",
    "導入していない団体の多くは、情報漏えいへの懸念を理由に挙げている。",
]
FODT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" office:version="1.3"
 office:mimetype="application/vnd.oasis.opendocument.text">
<office:styles><style:default-style style:family="paragraph"><style:text-properties style:font-size-asian="12pt"
 style:language-asian="ja" style:country-asian="JP"/></style:default-style></office:styles>
<office:automatic-styles><style:page-layout style:name="pm1"><style:page-layout-properties fo:page-width="21cm"
 fo:page-height="29.7cm" style:writing-mode="tb-rl" fo:margin="2cm"/></style:page-layout></office:automatic-styles>
<office:master-styles><style:master-page style:name="Standard" style:page-layout-name="pm1"/></office:master-styles>
<office:body><office:text><text:h text:outline-level="1">生成AIの利用について</text:h>{body}</office:text></office:body>
</office:document>"""


def vertical_writing_pdf(path: Path, tiers: list[list[str]], size: float = 12) -> Path:
    """What word processors print for 縦書き: every character placed on its own, columns from the right.
    Each tier (段) is a list of columns, read before the tier below it."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    top = 60.0
    for columns in tiers:
        x = 520.0
        for column in columns:
            for i, char in enumerate(column):
                page.insert_text((x, top + (i + 1) * size), char, fontname="japan", fontsize=size)
            x -= 2 * size
        top += (max(map(len, columns)) + 3) * size
    doc.save(path)
    return path


def test_vertical_writing_from_libreoffice_reads_column_after_column(tmp_path):
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    source = tmp_path / "tategaki.fodt"
    source.write_text(FODT.format(body="".join(f"<text:p>{p}</text:p>" for p in PARAGRAPHS)), encoding="utf-8")
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True, timeout=180)

    doc = parse_file(tmp_path / "tategaki.pdf")

    assert doc.title == "生成AIの利用について"
    assert doc.pages[0].text.splitlines() == ["生成AIの利用について", *PARAGRAPHS]


def test_vertical_writing_in_tiers_reads_each_tier_from_the_right(tmp_path):
    first = ["地方公共団体の", "生成AIの導入は", "三割に達した。"]
    second = ["RPAは都道府", "県の全団体が", "導入済みである。"]

    text = parse_file(vertical_writing_pdf(tmp_path / "dan.pdf", [first, second])).pages[0].text

    assert text.replace("\n", "") == "".join(first + second)


def test_a_table_turned_on_its_page_reads_row_after_row(tmp_path):
    rows = ["年度 導入団体数 割合", "令和4年度 512 29.4%", "令和5年度 731 42.0%", "令和6年度 905 52.0%"]
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 60), "表1 生成AIを導入した市区町村", fontname="japan", fontsize=12)
    for i, row in enumerate(rows):  # landscape: each row runs up the portrait page, the next one to its right
        page.insert_text((150 + i * 24, 700), row, fontname="japan", fontsize=12, rotate=90)
    doc.save(tmp_path / "turned.pdf")

    text = parse_file(tmp_path / "turned.pdf").pages[0].text

    assert [text.index(row) for row in rows] == sorted(text.index(row) for row in rows)
    assert "表1 生成AIを導入した市区町村" in text


def test_left_to_right_pages_come_back_as_given():
    # A column of single digits in a table (one per row, a row apart) is not vertical writing.
    digits = [Placed(str(i), (300, 100 + 20 * i, 306, 110 + 20 * i), ACROSS, 10, i) for i in range(8)]
    labels = [Placed(f"項目{i}の件数", (72, 100 + 20 * i, 140, 110 + 20 * i), ACROSS, 10, 10 + i) for i in range(8)]
    lines = [line for pair in zip(labels, digits) for line in pair]

    [run] = reading_runs(lines, 595, 842)

    assert run.lines == lines and not run.whole


def test_vertical_characters_stack_into_columns_read_from_the_right():
    right = [Placed(c, (500, 60 + 12 * i, 512, 72 + 12 * i), ACROSS, 12, 0) for i, c in enumerate("地方公共団体")]
    latin = Placed("AI", (476, 60, 488, 72), DOWN, 12, 1)  # a Latin word set sideways inside the column
    left = [Placed(c, (476, 72 + 12 * i, 488, 84 + 12 * i), ACROSS, 12, 1) for i, c in enumerate("の導入")]

    [run] = reading_runs(right + [latin] + left, 595, 842)

    assert run.whole and [line.text for line in run.lines] == ["地方公共団体", "AIの導入"]


@pytest.mark.slow
def test_a_page_turned_in_the_pdf_reads_in_order():
    # A landscape chart page of a real white paper, stored as a portrait page turned by /Rotate.
    path = SAMPLES.parent / "allganize-dev" / "pdfs" / "1c202401.pdf"
    if not path.is_file():
        pytest.skip(f"{path} is not present")

    text = parse_file(path, pages=[10]).pages[0].text

    assert text.index("各調査時期における計数の年度見通しの推移") < text.index("(1)売上高") < text.index("(2)経常利益")


def scanned(path: Path, turn: int, rotate: int = 0) -> Path:
    """A scan of a notice: a picture of the text turned `turn` degrees clockwise, shown turned by /Rotate."""
    source = pymupdf.open()
    page = source.new_page(width=595, height=842)
    for i, line in enumerate(PARAGRAPHS + ["各団体は利用の手引きを定め、職員の研修を行うこととする。"]):
        page.insert_text((60, 120 + 30 * i), line, fontname="japan", fontsize=14)
    picture = page.get_pixmap(matrix=pymupdf.Matrix(200 / 72, 200 / 72).prerotate(turn))
    doc = pymupdf.open()
    width, height = (595, 842) if turn in (0, 180) else (842, 595)
    shown = doc.new_page(width=width, height=height)
    shown.insert_image(shown.rect, pixmap=picture)
    shown.set_rotation(rotate)
    doc.save(path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("turn, rotate", [(0, 0), (90, 0), (270, 0), (90, 270)])
def test_scans_lying_on_their_side_are_read_upright(tmp_path, turn, rotate):
    if not ocr_available("jpn+eng") or shutil.which("tesseract") is None:
        pytest.skip("Tesseract with jpn+eng and its command are not installed here")

    page = parse_file(scanned(tmp_path / "scan.pdf", turn, rotate)).pages[0]

    assert page.ocr
    text = page.text.replace(" ", "")
    assert "回答した市区町村のうち" in text and "情報漏えいへの懸念" in text
    assert text.index("回答した市区町村") < text.index("情報漏えい") < text.index("職員の研修")


def test_an_index_read_by_the_older_parser_is_read_again_with_one_message(tmp_path, monkeypatch):
    from govqa import build, buildfiles, pdflayout
    from govqa.build import build_index
    from govqa.config import Settings
    from govqa.engine import Engine
    from govqa.textdirection import Run

    folder = tmp_path / "docs"
    folder.mkdir()
    columns = ["地方公共団体の", "生成AIの導入は", "三割に達した。"]
    vertical_writing_pdf(folder / "tategaki.pdf", [columns])
    # Parsed in this process (no time or memory limit), where the older parser can be stood in for.
    settings = Settings(index_dir=tmp_path / "index", manifest=tmp_path / "none.toml", parse_timeout=0, parse_memory_mb=0)
    with monkeypatch.context() as old:  # what parser version 1 did: every line laid out left to right
        old.setattr(buildfiles, "PARSER_VERSION", "1")
        old.setattr(build, "PARSER_VERSION", "1")
        old.setattr(pdflayout, "reading_runs", lambda lines, width, height: [Run(lines, whole=False)])
        build_index([folder], settings)
    assert "".join(columns) not in Engine.open(settings).reader.pages_of("tategaki")[0].text
    events: list[str] = []

    build_index([folder], settings, on_event=events.append)

    assert [e for e in events if e.startswith("index upgraded")] == [
        f"index upgraded: 1 file(s) read again by parser version {buildfiles.PARSER_VERSION} "
        f"({buildfiles.PARSER_CHANGE})"]
    assert "".join(columns) in Engine.open(settings).reader.pages_of("tategaki")[0].text
    events.clear()
    build_index([folder], settings, on_event=events.append)
    assert not any("upgraded" in e for e in events)  # read once by this parser: nothing more to say


def test_a_passage_in_vertical_writing_is_boxed_column_by_column(tmp_path):
    from govqa.pageboxes import locate, read_glyphs

    columns = ["地方公共団体の", "生成AIの導入は", "三割に達した。"]
    path = vertical_writing_pdf(tmp_path / "tategaki.pdf", [columns])
    text = parse_file(path).pages[0].text

    [boxes] = locate(text, [(0, len(text))], read_glyphs(pymupdf.open(path)[0]))

    assert len(boxes) == len(columns)
    assert all(y1 - y0 > 3 * (x1 - x0) for x0, y0, x1, y1 in boxes)  # tall and narrow: columns, not characters
    assert [b[0] for b in boxes] == sorted((b[0] for b in boxes), reverse=True)  # from the right


def test_two_columns_keep_each_paragraph_whole(tmp_path):
    # Each paragraph wraps over three lines of its column; the left column's lines end well short of the
    # right column's edge, which must not read as paragraphs ending.
    rest = ["況を調べた結果、文書作成の効", "率化が最も多かった。"]
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for column, left in enumerate((50, 310)):
        for p in range(4):
            lines = [f"第{column * 4 + p + 1}段落では生成AIの利用状", *rest]  # justified: 14 characters a line
            for i, line in enumerate(lines):
                page.insert_text((left, 80 + (p * 3 + i) * 16), line, fontname="japan", fontsize=12)
    doc.save(tmp_path / "columns.pdf")

    lines = parse_file(tmp_path / "columns.pdf").pages[0].text.splitlines()

    assert lines == [f"第{n}段落では生成AIの利用状{''.join(rest)}" for n in range(1, 9)]


@pytest.mark.slow
def test_a_scan_of_vertical_writing_is_read_with_the_vertical_model(tmp_path):
    from govqa.parse import find_tessdata

    tessdata = find_tessdata()
    if not ocr_available("jpn+eng") or not tessdata or not (Path(tessdata) / "jpn_vert.traineddata").is_file():
        pytest.skip("Tesseract's vertical Japanese model is not installed (apt-get install tesseract-ocr-jpn-vert)")
    columns = ["地方公共団体における生成AIの", "利用状況を調べたところ、文書作成の", "効率化が最も多い目的であった。"]
    printed = pymupdf.open(vertical_writing_pdf(tmp_path / "printed.pdf", [columns], size=16))
    doc = pymupdf.open()
    doc.new_page(width=595, height=842).insert_image(pymupdf.Rect(0, 0, 595, 842),
                                                     pixmap=printed[0].get_pixmap(dpi=200))
    doc.save(tmp_path / "scan.pdf")

    page = parse_file(tmp_path / "scan.pdf").pages[0]

    assert page.ocr
    text = page.text.replace(" ", "")
    assert text.index("地方公共団体における") < text.index("利用状況を調べたところ") < text.index("効率化が最も多い目的")


def test_a_word_written_down_a_page_written_across_reads_whole_after_the_text(tmp_path):
    # A diagram's box or a side tab: 「医薬品医療機器総合機構」 stacked a character a line beside text written across.
    body = ["申請者は登録申請書を機構に提出する。", "機構は書面による審査を行い、その結果を申請者に通知する。"]
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for i, line in enumerate(body):
        page.insert_text((72, 100 + 20 * i), line, fontname="japan", fontsize=12)
    for i, char in enumerate("医薬品医療機器総合機構"):
        page.insert_text((540, 90 + 12 * i), char, fontname="japan", fontsize=12)
    page.insert_text((290, 815), "- 3 -", fontname="helv", fontsize=9)
    doc.save(tmp_path / "diagram.pdf")

    lines = parse_file(tmp_path / "diagram.pdf").pages[0].text.splitlines()

    assert lines == [*body, "医薬品医療機器総合機構"]  # the page number, last, is still dropped


def test_a_side_tab_repeated_on_every_page_is_dropped_and_paragraphs_stay_whole(tmp_path):
    # A white paper's tab, 「概要・主なポイント」 written down the left edge of even pages and the right edge of odd
    # ones; its lines reached past the text's right edge, so every line of prose looked cut short.
    wrapped = ["金融をめぐる環境が大きく変化し、国民のニーズも多様化する中、", "金融行政に求められる役割も変化している。"]
    doc = pymupdf.open()
    for number in range(4):
        page = doc.new_page(width=595, height=842)
        for p in range(3):
            for i, line in enumerate(wrapped):
                page.insert_text((60, 200 + (p * 3 + i) * 18), line, fontname="japan", fontsize=12)
        x = 12 if number % 2 else 573
        for i, char in enumerate("概要・主なポイント"):
            page.insert_text((x, 220 + 12 * i), char, fontname="japan", fontsize=10)
    page.insert_text((300, 600), "".join(wrapped), fontname="japan", fontsize=12)
    for i, char in enumerate("医薬品医療機器総合機構"):  # a word written down one page only: kept
        page.insert_text((540, 600 + 12 * i), char, fontname="japan", fontsize=12)
    doc.save(tmp_path / "tabs.pdf")

    pages = parse_file(tmp_path / "tabs.pdf").pages

    assert [p.text.splitlines()[:3] for p in pages] == [["".join(wrapped)] * 3] * 4
    assert not any("概要・主なポイント" in p.text for p in pages)
    assert pages[-1].text.splitlines()[-1] == "医薬品医療機器総合機構"


def test_a_table_of_one_digit_cells_is_read_row_by_row_not_as_vertical_writing(tmp_path):
    # Every line is one character stacked under another, as in vertical writing, but none is Japanese.
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for row in range(40):
        for column in range(12):
            page.insert_text((40 + 40 * column, 40 + 13 * row), str((row + column) % 10), fontname="helv", fontsize=9)
    doc.save(tmp_path / "digits.pdf")

    digits = parse_file(tmp_path / "digits.pdf").pages[0].text.split()

    assert digits[:24] == [str((row + column) % 10) for row in range(2) for column in range(12)]  # across, row 1 first
