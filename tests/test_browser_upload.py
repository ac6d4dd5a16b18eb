"""Staff add a PDF by dragging it onto the page, follow its progress, then find it; another department cannot."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from apiserver import LiveServer, write_pdf
from axecheck import assert_accessible
from test_browser import browser, expect, page  # noqa: F401 - test_browser's fixtures

from govqa import catalog
from govqa.build import build_index
from govqa.config import Settings
from govqa.tokens import TokenStore

QUESTION = "How much is the Quokka kiosk budget for fiscal 2026?"
ANSWER_TEXT = ("Quokka kiosk budget. The Quokka kiosk budget for fiscal 2026 is 48 million yen, "
               "approved by the finance section in February.")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-upload")
    (root / "docs").mkdir()
    write_pdf(root / "docs" / "zenchou-guide.pdf", [
        "Staff guide for all sections. Leave requests go to the personnel section two days ahead."])
    index_dir = root / "index"
    build_index([root / "docs"], Settings(index_dir=index_dir, manifest=root / "none.toml"), collection="zenchou")
    catalog.create(index_dir, "zaisei", "財政課")
    store = TokenStore(index_dir)
    known = {"zenchou", "zaisei"}
    editor, _ = store.create("editor", ["zaisei"], "finance editor", known)
    reader, _ = store.create("reader", ["zenchou"], "all-staff reader", known)
    from api.app import create_app

    server = LiveServer(create_app(Settings(index_dir=index_dir))).start()
    try:
        yield {"url": server.url, "editor": editor, "reader": reader, "root": root}
    finally:
        server.stop()


def enter_key(page, token: str) -> None:
    expect(page.locator("#key-form")).to_be_visible()
    page.fill("#api-key", token)
    page.press("#api-key", "Enter")
    expect(page.locator("#key-form")).to_be_hidden()


def drop_file(page, selector: str, path: Path, mime: str) -> None:
    """A real drop event carrying the file, as a person dragging it from their desktop makes."""
    page.evaluate("""([selector, name, mime, data]) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, {type: mime}));
        const zone = document.querySelector(selector);
        for (const type of ['dragenter', 'dragover', 'drop']) {
            zone.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }
    }""", [selector, path.name, mime, base64.b64encode(path.read_bytes()).decode()])


def test_an_editor_drops_a_pdf_and_a_reader_of_another_collection_never_sees_it(site, page, browser, tmp_path):  # noqa: F811
    pdf = write_pdf(tmp_path / "quokka-kiosk-budget.pdf", [ANSWER_TEXT])
    page.goto(site["url"] + "/#upload")
    enter_key(page, site["editor"])
    expect(page.locator("#upload-form")).to_be_visible()
    expect(page.locator("#upload-collection option")).to_have_text(["財政課 (zaisei)"])
    assert_accessible(page, "the upload view (Japanese)")

    # A bad file first: the page says why, in words.
    bad = tmp_path / "not-really.pdf"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    page.set_input_files("#upload-file", str(bad))
    page.click("#upload-submit")
    failed = page.locator(".upload-item.is-failed .upload-stage")
    expect(failed).to_contain_text("not a PDF")

    drop_file(page, "#drop-zone", pdf, "application/pdf")
    done = page.locator(".upload-item.is-done", has_text="quokka-kiosk-budget.pdf")
    expect(done).to_be_visible()
    expect(done.locator(".upload-stage")).to_contain_text("完了")
    assert done.locator("progress").get_attribute("value") == "100"
    page.screenshot(path=tmp_path / "upload-done.png", full_page=True)
    assert_accessible(page, "the upload view with a finished and a failed upload")
    page.click(".lang-toggle button[data-lang='en']")
    expect(done.locator(".upload-stage")).to_contain_text("Done")
    expect(page.locator("#upload-heading")).to_have_text("Add documents")
    assert_accessible(page, "the upload view (English)")

    # Ask what only that PDF answers, and open its citation.
    page.click("#tab-search")
    page.fill("#q", QUESTION)
    page.press("#q", "Enter")
    card = page.locator(".card[data-doc-id='quokka-kiosk-budget']")
    expect(card.first).to_be_visible()
    cite = page.locator("#answer-text a.cite").first
    expect(cite).to_be_visible()
    cite.click()
    expect(page.locator("#viewer")).to_be_visible()  # the cited page opens in the viewer; Esc goes back to the card
    page.keyboard.press("Escape")
    expect(page.locator(".card.is-cited")).to_have_attribute("data-doc-id", "quokka-kiosk-budget")
    with page.expect_popup() as popup:
        card.first.locator("a.open-pdf").click()
    opened = popup.value.url
    assert "/documents/quokka-kiosk-budget/file?" in opened and opened.endswith("#page=1")
    assert httpx.get(opened.split("#")[0], timeout=60).content == pdf.read_bytes()  # the signed link, no header
    page.watch.assert_quiet()

    # Another department's reader: the same question finds nothing of it, its links give 404.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    other = context.new_page()
    other.goto(site["url"] + "/")
    other.fill("#q", QUESTION)
    other.press("#q", "Enter")
    enter_key(other, site["reader"])
    other.wait_for_selector(".card, .status-empty")
    assert other.locator(".card[data-doc-id='quokka-kiosk-budget']").count() == 0
    assert "Quokka" not in other.locator("#main").inner_text()
    headers = {"Authorization": f"Bearer {site['reader']}"}
    for path in ("/documents/quokka-kiosk-budget/file", "/documents/quokka-kiosk-budget/pages/1/image?width=400",
                 "/documents/quokka-kiosk-budget/pages/1"):
        assert httpx.get(site["url"] + path, headers=headers, timeout=60).status_code == 404, path
    other.goto(site["url"] + "/#upload")
    expect(other.locator("#upload-status")).to_contain_text("追加できません")
    expect(other.locator("#upload-form")).to_be_hidden()
    assert_accessible(other, "the upload view for a reader")
    other.goto(site["url"] + "/#documents")
    expect(other.locator("#documents-body tr").first).to_be_visible()
    assert other.locator(".doc-actions").count() == 0  # a reader gets no replace or delete
    context.close()

    # The editor replaces the document in the list, then deletes it.
    page.click("#tab-documents")
    row = page.locator("#documents-body tr[data-doc-id='quokka-kiosk-budget']")
    expect(row.locator(".doc-delete")).to_be_visible()
    assert_accessible(page, "the documents list with replace and delete")
    (tmp_path / "revised").mkdir()
    revised = write_pdf(tmp_path / "revised" / "quokka-kiosk-budget.pdf", [ANSWER_TEXT.replace("48", "52")])
    row.locator("input[type=file]").set_input_files(str(revised))
    page.wait_for_function("""() => {
        const row = document.querySelector("#documents-body tr[data-doc-id='quokka-kiosk-budget']");
        return row && !row.querySelector('.doc-note')?.textContent;
    }""")
    text = httpx.get(site["url"] + "/documents/quokka-kiosk-budget/pages/1", timeout=60,
                     headers={"Authorization": f"Bearer {site['editor']}"}).json()["text"]
    assert "52 million" in text
    row = page.locator("#documents-body tr[data-doc-id='quokka-kiosk-budget']")
    row.locator(".doc-delete").click()
    expect(row.locator(".doc-delete")).to_have_attribute("data-armed", "1")
    row.locator(".doc-delete").click()
    expect(page.locator("#documents-body tr[data-doc-id='quokka-kiosk-budget']")).to_have_count(0)
    gone = httpx.get(site["url"] + "/documents/quokka-kiosk-budget/pages/1", timeout=60,
                     headers={"Authorization": f"Bearer {site['editor']}"})
    assert gone.status_code == 404
    page.watch.assert_quiet()


def test_someone_reading_two_collections_can_untick_one(site, browser, tmp_path):  # noqa: F811
    store = TokenStore(site["root"] / "index")
    both, _ = store.create("reader", ["zenchou", "zaisei"], "two sections", {"zenchou", "zaisei"})
    pdf = write_pdf(tmp_path / "wallaby-fees.pdf", ["Wallaby park fees: adults pay 300 yen, children enter free."])
    editor = {"Authorization": f"Bearer {site['editor']}"}
    job = httpx.post(site["url"] + "/documents", headers=editor, timeout=300, data={"collection": "zaisei"},
                     files={"file": (pdf.name, pdf.read_bytes(), "application/pdf")}).json()
    while job["status"] not in ("done", "failed"):
        job = httpx.get(f"{site['url']}/jobs/{job['id']}", headers=editor, timeout=60).json()
    assert job["status"] == "done", job

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page = context.new_page()
    page.goto(site["url"] + "/")
    page.fill("#q", "Wallaby park fees for adults")
    page.press("#q", "Enter")
    enter_key(page, both)
    expect(page.locator(".card[data-doc-id='wallaby-fees']").first).to_be_visible()
    expect(page.locator("#collection-filter")).to_be_visible()
    expect(page.locator("#collection-options label")).to_have_text(["財政課 (zaisei)", "zenchou"])
    assert_accessible(page, "the search view with the collection filter")
    page.locator("#collection-options input[value='zaisei']").uncheck()
    page.press("#q", "Enter")
    page.wait_for_selector(".card, .status-empty")
    expect(page.locator(".card[data-doc-id='wallaby-fees']")).to_have_count(0)
    page.locator("#collection-options input[value='zaisei']").check()
    page.press("#q", "Enter")
    expect(page.locator(".card[data-doc-id='wallaby-fees']").first).to_be_visible()
    context.close()
