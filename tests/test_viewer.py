"""The citation viewer in Debian's Chromium: the cited page opens with the passage marked where it really is.

Screenshots go to $GOVQA_TEST_ARTIFACTS (default test-artifacts/ at the top of the repository).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pymupdf
import pytest
from axecheck import assert_accessible
from pagetruth import as_lines, iou, tesseract_rects, text_layer_rects
from test_browser import browser, expect, fake_answer, page, search  # noqa: F401 - test_browser's fixtures
from viewercorpus import HTML_PASSAGE

from govqa.config import Settings
from govqa.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
TEXT_PDF_QUESTION = "細胞・組織加工医薬品等を新たに登録の対象とした理由"  # answered in 000160536 (text layer)
SCAN_QUESTION = "MF事前登録の変更登録申請を行う際の注意点や手続き方法"  # answered only in 000161338 (a scan)


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("GOVQA_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "viewer"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_viewer_from_first_card(page):
    card = page.locator("#hit-1")
    card.locator("button.thumb").click()
    dialog = page.locator("#viewer")
    expect(dialog).to_be_visible()
    wait_for_image(page)
    return card, dialog


def wait_for_image(page) -> None:
    page.wait_for_function("""() => {
        const img = document.getElementById('viewer-img');
        return img.complete && img.naturalWidth > 0 && !document.getElementById('viewer-frame').hasAttribute('aria-busy');
    }""")


def drawn_boxes(page) -> list[tuple[float, float, float, float]]:
    """The highlight rectangles as drawn on screen, relative to the page image."""
    return [tuple(b) for b in page.evaluate("""() => {
        const img = document.getElementById('viewer-img').getBoundingClientRect();
        return [...document.querySelectorAll('#viewer-frame .hl')].map(el => {
            const r = el.getBoundingClientRect();
            return [(r.left - img.left) / img.width, (r.top - img.top) / img.height,
                    (r.right - img.left) / img.width, (r.bottom - img.top) / img.height];
        });
    }""")]


def check_citation(page, sample_engine, question: str, scanned: bool, artifacts: Path, name: str) -> None:
    search(page, question)
    hit = page.evaluate("document.getElementById('hit-1').hit")
    record = sample_engine.document(hit["doc_id"])
    assert (hit["page"] in record.ocr_pages) == scanned
    assert hit["ocr"] == scanned  # the API says which passages were read by OCR
    expect(page.locator("#hit-1 .card-meta .ocr")).to_have_count(1 if scanned else 0)  # and the card says so
    expect(page.locator("#hit-1 .thumb .hl").first).to_be_attached()  # the card's thumbnail marks it too
    _, dialog = open_viewer_from_first_card(page)
    expect(page.locator("#viewer-where")).to_have_text(f"{hit['page']}ページ（全{record.pages}ページ）")
    assert page.evaluate("document.getElementById('viewer-frame').dataset.page") == str(hit["page"])
    expect(page.locator("#viewer-frame .hl").first).to_be_in_viewport()
    with pymupdf.open(record.file) as doc:
        pdf_page = doc[hit["page"] - 1]
        truth = tesseract_rects(pdf_page, hit["text"]) if scanned else text_layer_rects(pdf_page, hit["text"])
    overlap = iou(drawn_boxes(page), as_lines(truth))
    page.screenshot(path=artifacts / f"{name}.png")
    assert overlap >= 0.8, f"highlight vs {'Tesseract' if scanned else 'PyMuPDF'}: IoU {overlap:.3f}"
    assert_accessible(page, f"the viewer ({name})")


def test_a_text_pdf_citation_opens_on_its_page_with_the_passage_marked(sample_api_url, sample_index, page,
                                                                     artifacts):
    page.goto(sample_api_url + "/")
    check_citation(page, Engine.open(Settings(index_dir=sample_index)), TEXT_PDF_QUESTION, False, artifacts,
                   "text-pdf")
    page.watch.assert_quiet()


def test_a_scanned_page_citation_is_marked_where_tesseract_reads_it(sample_api_url, sample_engine, page,
                                                                   artifacts):
    page.goto(sample_api_url + "/")
    check_citation(page, sample_engine, SCAN_QUESTION, True, artifacts, "scan")
    page.watch.assert_quiet()


def test_the_viewer_turns_pages_zooms_and_gives_focus_back(viewer_url, page, artifacts):
    page.goto(viewer_url + "/")
    search(page, "mooring fee per year")
    assert_accessible(page, "the results with thumbnails")
    card, dialog = open_viewer_from_first_card(page)
    expect(page.locator("#viewer-close")).to_be_focused()
    expect(page.locator("#viewer-title")).to_have_text("Harbour Rules")
    expect(page.locator("#viewer-where")).to_have_text("2ページ（全3ページ）")
    assert page.locator("#viewer-frame .hl").count() >= 1
    assert "引用箇所を黄色の枠で示しています" in page.get_attribute("#viewer-img", "alt")
    assert re.fullmatch(r"/documents/harbour-rules/file#page=2", page.get_attribute("#viewer-pdf", "href"))
    expect(page.locator("#viewer-passage")).to_have_text(
        "Fees. The mooring fee is 12,000 yen a year, payable in April. Boats left without a permit are removed "
        "after thirty days' notice.")

    page.keyboard.press("ArrowRight")  # the next page: no passage on it, a way back to the cited one
    expect(page.locator("#viewer-where")).to_have_text("3ページ（全3ページ）")
    wait_for_image(page)
    assert page.locator("#viewer-frame .hl").count() == 0
    expect(page.locator("#viewer-next")).to_be_disabled()
    expect(page.locator("#viewer-back")).to_be_visible()
    assert page.get_attribute("#viewer-pdf", "href").endswith("#page=3")
    page.click("#viewer-back")
    expect(page.locator("#viewer-where")).to_have_text("2ページ（全3ページ）")
    page.keyboard.press("PageUp")
    expect(page.locator("#viewer-where")).to_have_text("1ページ（全3ページ）")
    expect(page.locator("#viewer-prev")).to_be_disabled()
    page.click("#viewer-next")

    page.click("#viewer-zoom-in")
    expect(page.locator("#viewer-zoom-level")).to_have_text("表示倍率 150%")
    wait_for_image(page)
    assert page.evaluate("document.getElementById('viewer-scroll').scrollWidth > "
                         "document.getElementById('viewer-scroll').clientWidth")
    page.screenshot(path=artifacts / "zoomed-150.png")
    page.keyboard.press("-")
    expect(page.locator("#viewer-zoom-level")).to_have_text("表示倍率 100%")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(card.locator("button.thumb")).to_be_focused()

    page.click(".lang-toggle button[data-lang=en]")
    card.locator("button.thumb").click()
    expect(page.locator("#viewer-where")).to_have_text("Page 2 of 3")
    expect(page.locator("#viewer-prev")).to_have_text("Previous page")
    wait_for_image(page)
    assert_accessible(page, "the viewer in English")
    page.set_viewport_size({"width": 400, "height": 860})
    page.screenshot(path=artifacts / "viewer-400.png")
    page.click("#viewer-close")
    page.watch.assert_quiet()


def test_an_answer_citation_opens_the_viewer_and_focus_returns_to_its_card(viewer_url, page):
    def build(query, hits):
        return {"query": query, "hits": hits, "llm": "test", "abstained": False,
                "answer": "The mooring fee is 12,000 yen a year [1].",
                "citations": [{"n": 1, "doc_id": hits[0]["doc_id"], "page": hits[0]["page"]}]}

    page.route("**/ask", lambda route: fake_answer(route, viewer_url, build))
    page.goto(viewer_url + "/")
    search(page, "mooring fee per year")
    page.locator("#answer-text a.cite").first.click()
    expect(page.locator("#viewer")).to_be_visible()
    expect(page.locator("#viewer-where")).to_have_text("2ページ（全3ページ）")
    page.keyboard.press("Escape")
    expect(page.locator("#hit-1")).to_be_focused()
    expect(page.locator("#hit-1")).to_have_class(re.compile(r"\bis-cited\b"))
    page.watch.assert_quiet()


def test_an_html_source_shows_its_text_with_the_passage_marked(viewer_url, page, artifacts):
    page.goto(viewer_url + "/")
    search(page, "bicycle parking permits renewed every spring")
    card = page.locator(".card", has_text=HTML_PASSAGE).first
    card.locator("button.thumb").click()
    expect(page.locator("#viewer-doc-text mark.doc-passage")).to_contain_text(HTML_PASSAGE)
    expect(page.locator("#viewer-frame")).to_be_hidden()
    expect(page.locator("#viewer-page-tools")).to_be_hidden()
    expect(page.locator("#viewer-doc-text")).to_contain_text("Residents may park at the station.")
    page.screenshot(path=artifacts / "html-source.png")
    assert_accessible(page, "the viewer on an HTML source")
    page.watch.assert_quiet()
