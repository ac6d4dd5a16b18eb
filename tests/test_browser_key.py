"""The staff page on a server with GOVQA_API_KEY: it asks for the key once, then works as usual."""

from __future__ import annotations

import re

import httpx
import pytest
from apiserver import LiveServer
from test_browser import browser, expect, page  # noqa: F401, F811 - test_browser's fixtures

from govqa.config import Settings

KEY = "browser-test-key-42"


@pytest.fixture(scope="module")
def locked_url(api_index):
    from api.app import create_app

    server = LiveServer(create_app(Settings(index_dir=api_index, api_key=KEY))).start()
    try:
        yield server.url
    finally:
        server.stop()


def test_the_page_asks_for_the_key_once_and_keeps_it_for_the_tab(locked_url, page, tmp_path):  # noqa: F811
    page.goto(locked_url + "/")
    expect(page.locator("#key-form")).to_be_hidden()
    page.fill("#q", "zanzibar kiosk security notice")
    page.press("#q", "Enter")

    expect(page.locator("#key-form")).to_be_visible()
    page.screenshot(path=tmp_path / "key-prompt.png", full_page=True)
    page.fill("#api-key", "not-the-key")
    page.press("#api-key", "Enter")
    expect(page.locator("#key-wrong")).to_be_visible()
    page.fill("#api-key", KEY)
    page.press("#api-key", "Enter")

    expect(page.locator("#key-form")).to_be_hidden()
    passage = page.locator(".card .passage", has_text="<script>alert(1)</script>")
    expect(passage.first).to_be_visible()
    assert page.locator("#results script").count() == 0
    link = page.locator(".card a.open-pdf").first.get_attribute("href")
    assert re.fullmatch(r"/documents/[^/]+/file\?exp=\d+&sig=[0-9a-f]{64}#page=\d+", link)
    opened = httpx.get(locked_url + link.split("#")[0], timeout=60)  # no header: the signature lets it open
    assert opened.status_code == 200 and opened.content.startswith(b"%PDF")

    page.click("#tab-documents")  # the key is remembered: no second prompt
    expect(page.locator("#documents-body tr").first).to_be_visible()
    expect(page.locator("#key-form")).to_be_hidden()
    page.reload()
    page.click("#tab-documents")
    expect(page.locator("#documents-body tr").first).to_be_visible()
    expect(page.locator("#key-form")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('govqa.apiKey')") == KEY
    page.watch.assert_quiet()
