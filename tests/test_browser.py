"""The staff page in Debian's Chromium, driven by Playwright against a live server: what a person sees and clicks."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
JA_QUESTION = "MF登録申請に費用はかかりますか"
# Generous limits so a slow CI machine waits instead of failing; nothing here measures time.
WAIT_MS = 180_000


@dataclass
class Watch:
    """What the page did behind our back: JS dialogs, uncaught errors, CSP violations."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)

    def assert_quiet(self) -> None:
        assert not self.dialogs, f"a JS dialog fired: {self.dialogs}"
        assert not self.errors, f"uncaught page errors: {self.errors}"
        assert not self.csp, f"Content-Security-Policy violations: {self.csp}"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not at /usr/bin/chromium (apt-get install chromium); no browser is downloaded")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    watch = Watch()

    def on_dialog(dialog) -> None:
        watch.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: watch.errors.append(str(error)))
    page.on("console", lambda msg: watch.csp.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.watch = watch
    yield page
    context.close()


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def search(page, query: str) -> None:
    page.fill("#q", query)
    page.press("#q", "Enter")
    page.wait_for_selector(".card, .status-empty, .status-error, .status-offline")


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_japanese_question_gives_cards_citations_and_documents(sample_api_url, page, tmp_path):
    page.goto(sample_api_url + "/")
    expect(page.locator("#status")).to_contain_text("件の文書")
    search(page, JA_QUESTION)

    cards = page.locator(".card")
    assert cards.count() >= 1
    for i in range(cards.count()):
        card = cards.nth(i)
        number = int(card.get_attribute("data-page"))
        assert number >= 1
        expect(card.locator(".page")).to_have_text(f"{number}ページ")
        link = card.locator("a.open-pdf")
        expect(link).to_have_text("PDFをこのページで開く")
        assert re.fullmatch(rf"/documents/[^/]+/file#page={number}", link.get_attribute("href"))
    assert page.locator(".card .passage mark").count() >= 1, "the query's terms are highlighted"

    # With a summarizer the answer panel cites cards; without one (llm "none") there is no panel.
    cites = page.locator("#answer-text a.cite")
    if page.locator("#answer").is_visible() and cites.count():
        cite = cites.first
        target = cite.get_attribute("href").lstrip("#")
        cite.click()
        page.keyboard.press("Escape")
        card = page.locator(f"#{target}")
        expect(card).to_have_class(re.compile(r"\bis-cited\b"))
        expect(card).to_be_focused()
        expect(card).to_be_in_viewport()
    page.screenshot(path=tmp_path / "search-1280.png", full_page=True)

    pdf = httpx.get(sample_api_url + cards.first.locator("a.open-pdf").get_attribute("href").split("#")[0], timeout=60)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    page.set_viewport_size({"width": 400, "height": 860})
    assert no_sideways_scroll(page)
    page.screenshot(path=tmp_path / "search-400.png", full_page=True)

    page.click("#tab-documents")
    rows = page.locator("#documents-body tr")
    expect(rows.first).to_be_visible()
    documents = httpx.get(sample_api_url + "/documents", timeout=60).json()
    assert rows.count() == len(documents)
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        assert int(cells.nth(1).inner_text()) >= 1
        assert cells.nth(2).inner_text() in ("日本語", "英語")
        assert re.fullmatch(r"/documents/[^/]+/file", cells.nth(3).locator("a").first.get_attribute("href"))
    assert no_sideways_scroll(page)
    page.screenshot(path=tmp_path / "documents-400.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=tmp_path / "documents-1280.png", full_page=True)
    page.watch.assert_quiet()


def test_a_passage_with_a_script_tag_is_shown_as_text(api_url, page, tmp_path):
    page.goto(api_url + "/")
    search(page, "zanzibar kiosk security notice")
    passage = page.locator(".card .passage", has_text="<script>alert(1)</script>")
    expect(passage.first).to_be_visible()
    assert page.locator("#results script, #answer script").count() == 0
    page.screenshot(path=tmp_path / "script-passage.png", full_page=True)
    page.watch.assert_quiet()


def test_the_interface_language_toggles_and_is_remembered(api_url, page):
    page.goto(api_url + "/")
    expect(page.locator("label[for=q]")).to_have_text("質問またはキーワード")
    page.click(".lang-toggle button[data-lang=en]")
    expect(page.locator("label[for=q]")).to_have_text("Question or keywords")
    assert page.evaluate("document.documentElement.lang") == "en"
    search(page, "library card renewal")
    expect(page.locator(".card .page").first).to_have_text(re.compile(r"^Page \d+$"))
    expect(page.locator(".card a.open-pdf").first).to_have_text("Open PDF at this page")

    page.reload()
    expect(page.locator("label[for=q]")).to_have_text("Question or keywords")
    expect(page.locator(".lang-toggle button[data-lang=en]")).to_have_attribute("aria-pressed", "true")
    # The reloaded URL keeps the question, so the results come back too.
    expect(page.locator(".card").first).to_be_visible()
    page.click(".lang-toggle button[data-lang=ja]")
    expect(page.locator("label[for=q]")).to_have_text("質問またはキーワード")
    expect(page.locator(".card .page").first).to_have_text(re.compile(r"^\d+ページ$"))
    page.watch.assert_quiet()


def fake_answer(route, api_url: str, build) -> None:
    """Answer POST /ask with the server's real hits and an answer of our making."""
    query = json.loads(route.request.post_data)["query"]
    hits = httpx.post(api_url + "/search", json={"query": query, "k": 8}, timeout=120).json()["hits"]
    route.fulfill(status=200, content_type="application/json", body=json.dumps(build(query, hits)))


def test_citation_markers_scroll_to_and_highlight_their_card(api_url, page, tmp_path):
    def build(query, hits):
        first, second = hits[0], hits[1]
        return {"query": query, "hits": hits, "llm": "test", "abstained": False,
                "answer": "Library cards are renewed every three years [1]. The hours are given too [2].",
                "citations": [{"n": 1, "doc_id": first["doc_id"], "page": first["page"]},
                              {"n": 2, "doc_id": second["doc_id"], "page": second["page"]}]}

    page.route("**/ask", lambda route: fake_answer(route, api_url, build))
    page.set_viewport_size({"width": 1280, "height": 500})
    page.goto(api_url + "/")
    search(page, "library card renewal")
    expect(page.locator("#answer")).to_be_visible()
    expect(page.locator("#answer-text")).to_contain_text("renewed every three years")
    cites = page.locator("#answer-text a.cite")
    assert cites.count() == 2
    cites.nth(1).click()
    expect(page.locator("#viewer")).to_be_visible()  # the cited page opens (test_viewer.py); Esc returns to the card
    page.keyboard.press("Escape")
    second = page.locator("#hit-2")
    expect(second).to_have_class(re.compile(r"\bis-cited\b"))
    expect(second).to_be_focused()
    expect(second).to_be_in_viewport()
    expect(second.locator(".cited-as")).to_have_text("引用 [2]")
    page.screenshot(path=tmp_path / "citation-clicked.png", full_page=False)
    cites.nth(0).click()
    page.keyboard.press("Escape")
    expect(page.locator("#hit-1")).to_have_class(re.compile(r"\bis-cited\b"))
    expect(second).not_to_have_class(re.compile(r"\bis-cited\b"))
    page.watch.assert_quiet()


def test_an_abstention_says_the_sources_do_not_answer(api_url, page, tmp_path):
    def build(query, hits):
        return {"query": query, "hits": hits, "llm": "test", "abstained": True, "answer": "", "citations": []}

    page.route("**/ask", lambda route: fake_answer(route, api_url, build))
    page.goto(api_url + "/")
    search(page, "How tall is Mount Fuji?")
    expect(page.locator("#answer-abstained")).to_be_visible()
    expect(page.locator("#answer-abstained")).to_contain_text("資料には回答が見つかりません")
    assert page.locator(".card").count() >= 1, "the nearest passages are still shown"
    page.click(".lang-toggle button[data-lang=en]")
    expect(page.locator("#answer-abstained")).to_contain_text("The sources do not answer this")
    page.screenshot(path=tmp_path / "abstained.png", full_page=True)
    page.watch.assert_quiet()


def test_loading_empty_and_error_states(api_url, page):
    held = []
    page.route("**/ask", lambda route: held.append(route))
    page.goto(api_url + "/")
    page.fill("#q", "library")
    page.press("#q", "Enter")
    expect(page.locator("#status.status-loading")).to_be_visible()
    expect(page.locator("#status")).to_contain_text("検索しています")
    held[0].fulfill(status=200, content_type="application/json", body=json.dumps(
        {"query": "library", "answer": "", "citations": [], "hits": [], "llm": "none", "abstained": False}))
    expect(page.locator("#status.status-empty")).to_be_visible()
    assert page.locator(".card").count() == 0

    page.unroute("**/ask")
    page.route("**/ask", lambda route: route.fulfill(status=503, content_type="application/json",
                                                     body=json.dumps({"detail": "the LLM server is down"})))
    search(page, "library card renewal")
    expect(page.locator(".card").first).to_be_visible()
    expect(page.locator("#answer")).to_contain_text("the LLM server is down")

    page.unroute("**/ask")
    page.route("**/ask", lambda route: fake_answer(route, api_url, lambda query, hits: {
        "query": query, "hits": hits, "llm": "openai", "abstained": False, "answer": "", "citations": [],
        "message": "the openai backend did not answer"}))
    search(page, "library card renewal")
    expect(page.locator("#answer")).to_contain_text("the openai backend did not answer")
    expect(page.locator(".card").first).to_be_visible()

    page.unroute("**/ask")
    page.route("**/ask", lambda route: route.fulfill(status=502, content_type="application/json",
                                                     body=json.dumps({"detail": "bad gateway"})))
    page.route("**/search", lambda route: route.fulfill(status=500, content_type="application/json",
                                                        body=json.dumps({"detail": "index unavailable"})))
    search(page, "library card renewal")
    expect(page.locator("#status.status-error")).to_contain_text("index unavailable")
    assert page.locator(".card").count() == 0

    page.unroute("**/ask")
    page.unroute("**/search")
    page.fill("#q", "   ")
    page.press("#q", "Enter")
    expect(page.locator("#status")).to_contain_text("入力してください")
    page.watch.assert_quiet()


def test_the_api_docs_render_with_no_outside_request(api_url, page):
    """Swagger UI comes from the server itself: on a closed network it still works."""
    outside: list[str] = []
    page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"), lambda route: (outside.append(route.request.url), route.abort()))
    page.goto(f"{api_url}/docs")
    expect(page.locator(".opblock-summary-path", has_text="/search").first).to_be_visible(timeout=WAIT_MS)
    page.locator(".opblock-summary-path", has_text="/search").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    assert outside == []
    page.watch.assert_quiet()
