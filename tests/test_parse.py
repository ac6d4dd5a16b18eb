"""parse_file: PDF, scanned PDF, HTML, text and Markdown -> Document of 1-based Pages."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pymupdf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govqa import parse
from govqa.errors import ParseError
from govqa.parse import detect_lang, normalize, ocr_available, parse_file

NOTICE_TITLE = "原薬等登録原簿の登録手続について"


def write_lines(page: pymupdf.Page, lines: list[str], *, top: float, size: float = 10.5, font: str = "japan") -> None:
    for i, text in enumerate(lines):
        page.insert_text((72, top + i * 1.6 * size), text, fontname=font, fontsize=size)


def japanese_notice(path: Path) -> Path:
    """Three pages with a running header and '- n -' footers, then a page with nothing else."""
    doc = pymupdf.open()
    for number in range(1, 5):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 40), f"厚生労働省 事務連絡 {number}/4", fontname="japan", fontsize=9)
        page.insert_text((290, 815), f"- {number} -", fontname="helv", fontsize=9)
        if number == 1:
            page.insert_text((120, 120), NOTICE_TITLE, fontname="japan", fontsize=14)
        if number < 4:
            write_lines(page, [
                f"第{number}項 原薬等登録原簿の登録申請は、独立行政法人医薬品医療機器総",
                "合機構の審査管理部に提出してください。",
                "登録証の交付を受けた後に登録事項を変更するときは、変更登録の申請",
                "又は軽微変更届出が必要です。",
            ], top=200)
    doc.save(path)
    return path


SCANNED_LINES = [
    "原薬等登録原簿の登録申請は、独立行政法人医薬品医療機器総合機構に",
    "提出してください。手数料は無料です。",
    "登録証の交付を受けた後に登録事項を変更するときは、変更登録の申請",
    "又は軽微変更届出が必要です。",
]


def image_only_pdf(path: Path, pages: int = 1) -> Path:
    """What a scanner makes: each page is one picture of text, with no text layer."""
    source = pymupdf.open()
    page = source.new_page(width=595, height=842)
    write_lines(page, SCANNED_LINES, top=150, size=12)
    picture = page.get_pixmap(dpi=200)
    doc = pymupdf.open()
    for _ in range(pages):
        doc.new_page(width=595, height=842).insert_image(pymupdf.Rect(0, 0, 595, 842), pixmap=picture)
    doc.save(path)
    return path


def need_ocr() -> None:
    if not ocr_available("jpn+eng"):
        pytest.skip("Tesseract with jpn+eng is not usable here (apt-get install tesseract-ocr tesseract-ocr-jpn)")


# --- text PDFs ---------------------------------------------------------------------------------

def test_pdf_pages_are_one_based_in_order_without_headers_or_page_numbers(tmp_path):
    doc = parse_file(japanese_notice(tmp_path / "notice.pdf"))

    assert doc.kind == "pdf" and doc.lang == "ja"
    assert [p.page for p in doc.pages] == [1, 2, 3, 4]
    for number in (1, 2, 3):
        assert f"第{number}項" in doc.pages[number - 1].text
    assert doc.pages[3].text == ""  # a page with only header and footer is still a page
    for page in doc.pages:
        assert "事務連絡" not in page.text
        assert f"- {page.page} -" not in page.text


def test_pdf_japanese_lines_join_without_spaces_and_paragraphs_stay(tmp_path):
    page = parse_file(japanese_notice(tmp_path / "notice.pdf")).pages[0]

    assert "独立行政法人医薬品医療機器総合機構の審査管理部に提出してください。" in page.text
    assert "変更登録の申請又は軽微変更届出が必要です。" in page.text
    # "。" ends a paragraph, and each paragraph is one line of the page text
    assert page.text.splitlines()[-1] == (
        "登録証の交付を受けた後に登録事項を変更するときは、変更登録の申請又は軽微変更届出が必要です。"
    )


def test_pdf_title_is_the_notice_subject(tmp_path):
    assert parse_file(japanese_notice(tmp_path / "notice.pdf")).title == NOTICE_TITLE


def test_pdf_english_lines_keep_spaces_and_lose_line_end_hyphens(tmp_path):
    path = tmp_path / "guidance.pdf"
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 90), "Drug Master File Guidance", fontname="helv", fontsize=20)
    write_lines(page, [
        "Applications for registration must be sent to the Pharmaceuticals and Medical",
        "Devices Agency together with all the technical infor-",
        "mation on the manufacturing process.",
    ], top=150, size=11, font="helv")
    doc.save(path)

    parsed = parse_file(path)

    assert parsed.lang == "en"
    assert parsed.title == "Drug Master File Guidance"  # the largest line on page 1
    assert ("Applications for registration must be sent to the Pharmaceuticals and Medical Devices "
            "Agency together with all the technical information on the manufacturing process.") in parsed.pages[0].text


def test_pdf_title_prefers_meaningful_metadata_and_falls_back_to_file_name(tmp_path):
    path = tmp_path / "plain-notes.pdf"
    doc = pymupdf.open()
    write_lines(doc.new_page(), ["Some plain text of one size.", "Nothing stands out here."], top=100, font="helv")
    doc.set_metadata({"title": "Microsoft Word - notes.docx"})
    doc.save(path)
    assert parse_file(path).title == "plain-notes"

    doc = pymupdf.open(path)
    doc.set_metadata({"title": "Annual Report on Drug Safety"})
    doc.save(tmp_path / "with-title.pdf")
    assert parse_file(tmp_path / "with-title.pdf").title == "Annual Report on Drug Safety"


# --- scanned PDFs ------------------------------------------------------------------------------

@pytest.mark.slow
def test_scanned_page_is_read_with_ocr(tmp_path):
    need_ocr()
    path = image_only_pdf(tmp_path / "scan.pdf")

    page = parse_file(path).pages[0]

    assert page.ocr is True
    # Tesseract spaces out Japanese characters; the text must not keep those spaces.
    assert "登録申請" in page.text and "手数料は無料です。" in page.text and "必要です。" in page.text


def test_without_ocr_scanned_pages_are_listed_and_warned_about_once(tmp_path, monkeypatch):
    monkeypatch.setattr(parse, "ocr_available", lambda lang="jpn+eng": False)
    monkeypatch.setattr(parse, "_WARNED", set())
    path = image_only_pdf(tmp_path / "scan.pdf", pages=2)
    warnings: list[str] = []

    first = parse_file(path, warn=warnings.append)
    second = parse_file(path, warn=warnings.append)

    assert first.unindexed_pages == second.unindexed_pages == [1, 2]
    assert [p.page for p in first.pages] == [1, 2] and not any(p.ocr or p.text for p in first.pages)
    assert len(warnings) == 1
    assert "tesseract-ocr-jpn" in warnings[0] and "not be indexed" in warnings[0]


# --- files that are not what they claim ----------------------------------------------------------

def encrypted(path: Path) -> Path:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret", fontname="helv")
    doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="user", owner_pw="owner")
    return path


def truncated(path: Path) -> Path:
    doc = pymupdf.open()
    for number in range(3):
        doc.new_page().insert_text((72, 72), f"page {number} " * 20, fontname="helv")
    data = doc.tobytes(garbage=3, deflate=True, use_objstms=1)  # the page tree sits near the end
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (encrypted, "encrypted PDF (password required)"),
        (truncated, "damaged"),
        (lambda p: p.write_bytes(b""), "empty file"),
        (lambda p: p.write_bytes(b"<!DOCTYPE html><html><body>Not found</body></html>"), "not a PDF (looks like HTML)"),
        (lambda p: p.write_bytes(os.urandom(4096).replace(b"%PDF", b"")), "not a PDF"),
    ],
    ids=["encrypted", "truncated", "empty", "html-as-pdf", "random-bytes"],
)
def test_unreadable_pdfs_raise_parse_error_naming_the_file(tmp_path, make, reason):
    path = tmp_path / "broken.pdf"
    make(path)

    with pytest.raises(ParseError) as caught:
        parse_file(path)

    assert "broken.pdf" in str(caught.value)
    assert caught.value.reason.startswith(reason)


def test_truncated_pdf_that_mupdf_can_repair_still_gives_its_pages(tmp_path):
    doc = pymupdf.open()
    for number in range(3):
        doc.new_page().insert_text((72, 72), f"page {number}", fontname="helv")
    data = doc.tobytes()
    (tmp_path / "cut.pdf").write_bytes(data[: len(data) // 2])
    warnings: list[str] = []

    parsed = parse_file(tmp_path / "cut.pdf", warn=warnings.append)

    assert [p.page for p in parsed.pages] == [1, 2, 3]
    assert any("repaired" in w for w in warnings)


def test_missing_and_unsupported_files_raise_parse_error(tmp_path):
    with pytest.raises(ParseError, match="nowhere.pdf: file not found"):
        parse_file(tmp_path / "nowhere.pdf")
    (tmp_path / "report.key").write_bytes(b"PK\x03\x04")
    with pytest.raises(ParseError, match="report.key: unsupported file type '.key'"):
        parse_file(tmp_path / "report.key")


# --- HTML, text, Markdown ------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>MF制度の概要 | 厚生労働省</title>
<meta name="date" content="2024-03-01">
<script>var tracking = "do not index this";</script><style>body {color: red}</style></head>
<body>
<nav><ul><li><a href="/">ホーム</a></li><li><a href="/menu">メニュー一覧</a></li></ul></nav>
<article><h1>MF制度の概要</h1>
<p>原薬等登録原簿（MF）は、原薬等の製造業者が品質及び製造方法に関する情報を登録する制度です。
登録された情報は、製剤の承認審査において利用されます。</p>
<p>登録の申請は独立行政法人医薬品医療機器総合機構に行います。申請書の様式は省令で定められています。</p>
</article>
<footer>Copyright Ministry of Health, Labour and Welfare</footer>
</body></html>"""


@pytest.fixture(params=["trafilatura", "basic"])
def html_reader(request, monkeypatch):
    """Both readers: trafilatura, and the plain one used when trafilatura cannot be imported."""
    if request.param == "trafilatura":
        try:
            import trafilatura  # noqa: F401
        except Exception as exc:
            pytest.skip(f"trafilatura cannot be imported here: {exc}")
    else:
        monkeypatch.setitem(sys.modules, "trafilatura", None)
    return request.param


def test_html_main_text_title_and_date(tmp_path, html_reader):
    path = tmp_path / "mf.html"
    path.write_text(PAGE, encoding="utf-8")

    doc = parse_file(path, warn=lambda message: None)

    assert doc.kind == "html" and doc.lang == "ja" and [p.page for p in doc.pages] == [1]
    assert doc.title.startswith("MF制度の概要")
    assert doc.date == "2024-03-01"
    text = doc.pages[0].text
    assert "原薬等登録原簿(MF)は、原薬等の製造業者が" in text  # NFKC: （ -> (
    assert "制度です。登録された情報は" in text  # a line wrapped in the source is no space in Japanese
    assert "独立行政法人医薬品医療機器総合機構に行います" in text
    assert "do not index" not in text and "color: red" not in text and "メニュー一覧" not in text


def test_html_in_shift_jis_is_decoded(tmp_path, html_reader):
    path = tmp_path / "old.htm"
    path.write_bytes(PAGE.replace('charset="utf-8"', 'charset="Shift_JIS"').encode("shift_jis"))

    doc = parse_file(path, warn=lambda message: None)

    assert "独立行政法人医薬品医療機器総合機構に行います" in doc.pages[0].text


@pytest.mark.parametrize("encoding", ["shift_jis", "euc_jp", "utf-8"])
def test_text_files_in_japanese_encodings_are_decoded(tmp_path, encoding):
    path = tmp_path / "memo.txt"
    path.write_bytes("MF登録の手引き\r\n\r\n申請は電子で受け付けます。\r\n".encode(encoding))

    doc = parse_file(path)

    assert doc.title == "MF登録の手引き"
    assert doc.pages[0].text == "MF登録の手引き\n申請は電子で受け付けます。"
    assert doc.lang == "ja" and doc.pages[0].page == 1


def test_markdown_title_is_its_first_heading(tmp_path):
    path = tmp_path / "guide.md"
    path.write_text("<!-- draft -->\n\n# Filing a Drug Master File\n\nSend it to the agency.\n", encoding="utf-8")

    doc = parse_file(path)

    assert doc.title == "Filing a Drug Master File"
    assert doc.lang == "en" and "Send it to the agency." in doc.pages[0].text


def test_a_file_opening_with_a_table_row_or_a_date_is_titled_by_its_name(tmp_path):
    """A citation names the document by its title; 「| 2000年度 | 0件 |」 or 「2024.06.13」 names nothing."""
    rows = "".join(f"<tr><td>{2000 + i}年度</td><td>{i}件</td></tr>" for i in range(3))
    (tmp_path / "kensu.html").write_text(f"<html><body><table>{rows}</table></body></html>", encoding="utf-8")
    (tmp_path / "dated.txt").write_text("2024.06.13\n手数料は政令で定める。\n", encoding="utf-8")
    (tmp_path / "memo.txt").write_text("\n\n登録の手引き\n申請は電子で受け付けます。\n", encoding="utf-8")

    assert parse_file(tmp_path / "kensu.html").title == "kensu"
    assert parse_file(tmp_path / "dated.txt").title == "dated"
    assert parse_file(tmp_path / "memo.txt").title == "登録の手引き"  # the first line with words, past blank ones


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=2048), suffix=st.sampled_from(sorted(parse.SUPPORTED_SUFFIXES)))
def test_any_bytes_give_a_document_or_a_parse_error(data, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"file{suffix}"
        path.write_bytes(data if suffix != ".pdf" else b"%PDF-1.7\n" + data)
        try:
            doc = parse_file(path, warn=lambda message: None)
        except ParseError as error:
            assert error.path == str(path)
        else:
            assert all(page.page >= 1 for page in doc.pages)


def small_pdf() -> bytes:
    doc = pymupdf.open()
    for number in range(2):
        write_lines(doc.new_page(), [f"第{number}頁の本文です。", "Second line."], top=100)
    return doc.tobytes()


SMALL_PDF = small_pdf()


@settings(max_examples=60, deadline=None)
@given(at=st.integers(0, len(SMALL_PDF)), junk=st.binary(max_size=64), cut=st.booleans())
def test_damaged_pdfs_give_a_document_or_a_parse_error(at, junk, cut):
    data = SMALL_PDF[:at] if cut else SMALL_PDF[:at] + junk + SMALL_PDF[at + len(junk):]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.pdf"
        path.write_bytes(data)
        try:
            doc = parse_file(path, warn=lambda message: None)
        except ParseError as error:
            assert error.path == str(path) and error.reason
        else:
            assert [page.page for page in doc.pages] == list(range(1, len(doc.pages) + 1))


# --- the shared helpers --------------------------------------------------------------------------

def test_normalize_and_detect_lang():
    assert normalize("ＭＦ　登録\u200b\r\n\r\n  ｶﾀｶﾅ  と  (１)  ") == "MF 登録\nカタカナ と (1)"
    assert detect_lang("原薬等登録原簿(MF)の申請") == "ja"
    assert detect_lang("Drug master files (原薬等登録原簿) are registered with the PMDA.") == "en"
    assert detect_lang("") == "en"


def test_a_line_wrapped_inside_a_word_carries_on_the_line_above(tmp_path):
    # A slide's text box and a footnote beside a chart wrap where the box ends, inside a word; no Japanese line
    # starts with ン, a small kana or closing punctuation (行頭禁則), so such a line is never a new paragraph.
    doc = pymupdf.open()
    page = doc.new_page(width=842, height=595)
    page.insert_text((60, 100), "スプリントプラ", fontname="japan", fontsize=14)
    page.insert_text((60, 118), "ンニング", fontname="japan", fontsize=14)
    page.insert_text((60, 200), "保険各社は資産運用の高度化を進めた。", fontname="japan", fontsize=12)
    for i, line in enumerate(["(注2)主要3グループ(連結)。ただし、ソルベンシー・マージ", "ン比率は計4社(単体)。"]):
        page.insert_text((480, 400 + 9 * i), line, fontname="japan", fontsize=7)
    doc.save(tmp_path / "slide.pdf")

    text = parse_file(tmp_path / "slide.pdf").pages[0].text

    assert "スプリントプランニング" in text.splitlines()
    assert "ただし、ソルベンシー・マージン比率は計4社(単体)。" in text


def test_radicals_in_a_text_layer_read_as_the_ideographs_they_stand_for(tmp_path):
    # Some PDF producers map glyphs to radicals: 「国⺠」 (U+2EA0) for 国民, 「⻑期」 (U+2ED1) for 長期,
    # 「⽣活」 (Kangxi U+2F63) for 生活. A search for 国民 must find the page.
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 100), "国⺠の⻑期的な⽣活の安定", fontname="japan", fontsize=12)
    doc.save(tmp_path / "radicals.pdf")

    assert parse_file(tmp_path / "radicals.pdf").pages[0].text == "国民の長期的な生活の安定"


# --- the real notices in ../shared/samples -------------------------------------------------------

@pytest.mark.slow
def test_sample_text_pdf(samples_dir):
    doc = parse_file(samples_dir / "000159994.pdf")

    assert doc.title == "原薬等登録原簿に関する質疑応答集(Q&A)について(その4)"
    assert [p.page for p in doc.pages] == [1, 2, 3] and not any(p.ocr for p in doc.pages)
    assert "軽微変更届出で差し支えない。" in doc.pages[2].text
    assert not any(line.strip().isdigit() for p in doc.pages for line in p.text.splitlines())


@pytest.mark.slow
def test_sample_scanned_pdf_page_is_ocred(samples_dir):
    need_ocr()
    doc = parse_file(samples_dir / "000160131.pdf", pages=[3])

    [page] = doc.pages
    assert page.page == 3 and page.ocr
    assert "費用がかかるか" in page.text and "無料で行っています" in page.text
