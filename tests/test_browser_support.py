"""The article check on the staff page, in Debian's Chromium against a live server: paste, check, read the
verdicts, the conflicting spans and the references, in Japanese and English, with 0 axe-core violations."""

from __future__ import annotations


import pytest
from axecheck import assert_accessible
from browserpage import new_page
from test_browser import browser  # noqa: F401 - test_browser's fixture


ARTICLE = ("MF制度の基本\n\n"
           "MF登録申請は、無料で行っています[1]。\n"
           "本通知は、平成27年11月25日から適用される[2]。\n"
           "警察庁はSNS上の薬物取引の検出にAIを活用している。\n\n"
           "参考文献\n"
           "[1] 厚生労働省「原薬等登録原簿に関する質疑応答集(Q&A)について」\n"
           "[2] 厚生労働省「原薬等登録原簿の利用に関する指針について」 https://www.mhlw.go.jp/file/0000203155.pdf\n"
           "[3] 厚生労働省「存在しない通知」 https://example.org/missing.pdf\n")


@pytest.fixture
def page(browser):
    page = new_page(browser, "ja-JP")
    yield page
    page.context.close()


def test_an_author_pastes_an_article_and_reads_verdicts_conflicts_and_references(sample_api_url, page):
    from playwright.sync_api import expect

    page.goto(f"{sample_api_url}/#support")
    expect(page.locator("#support-view")).to_be_visible()
    expect(page.locator("#tab-support")).to_have_attribute("aria-current", "page")
    assert_accessible(page, "the empty article check (ja)")
    page.click("#support-submit")
    expect(page.locator("#support-status")).to_contain_text("貼り付けて")
    page.fill("#support-text", ARTICLE)
    page.click("#support-submit")
    claims = page.locator("#support-claims > li")
    expect(claims).to_have_count(3)
    assert [claims.nth(i).get_attribute("class") for i in range(3)] == [
        "claim claim-supported", "claim claim-contradicted", "claim claim-unsupported"]
    expect(page.locator("#support-summary")).to_have_text(
        "3件の主張: 裏付けあり 1、弱い 0、食い違い 1、裏付けなし 1")
    conflict = claims.nth(1).locator("table.conflicts")
    expect(conflict.locator(".conflict-claim")).to_have_text("平成27年11月25日")
    expect(conflict.locator(".conflict-passage")).to_contain_text("平成26年11月25日")
    link = claims.nth(1).locator(".claim-passage a").first
    assert "/documents/000203155/file" in link.get_attribute("href") and "#page=1" in link.get_attribute("href")
    references = page.locator("#support-reference-list > li")
    expect(references).to_have_count(3)
    expect(references.nth(0)).to_contain_text("000160131")
    expect(references.nth(2)).to_contain_text("--fetch-missing")
    assert "参考文献" not in " ".join(claims.all_inner_texts()[:1])
    assert_accessible(page, "the article check with results (ja)")

    # The contradicting passage's page, framed, opens in the citation viewer; Esc gives focus back.
    thumb = claims.nth(1).locator(".claim-passage button.thumb").first
    expect(thumb.locator(".hl").first).to_be_attached()
    thumb.click()
    expect(page.locator("#viewer")).to_be_visible()
    expect(page.locator("#viewer-where")).to_contain_text("1ページ")
    assert "/documents/000203155/pages/1/image" in page.get_attribute("#viewer-img", "src")
    expect(page.locator("#viewer-frame .hl").first).to_be_attached()
    assert_accessible(page, "the citation viewer opened from the article check (ja)")
    page.keyboard.press("Escape")
    expect(page.locator("#viewer")).to_be_hidden()
    expect(thumb).to_be_focused()

    page.click(".lang-toggle button[data-lang='en']")
    expect(page.locator("#support-heading")).to_have_text("Check an article's claims against the documents")
    expect(page.locator("#support-summary")).to_have_text(
        "3 claims: 1 supported, 0 weak, 1 contradicted, 1 unsupported")
    expect(claims.nth(1).locator(".verdict")).to_have_text("Contradicted")
    assert_accessible(page, "the article check with results (en)")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.problems == []


def test_server_errors_show_as_a_message_not_a_blank_view(sample_api_url, page):
    from playwright.sync_api import expect

    page.goto(f"{sample_api_url}/#support")
    page.fill("#support-text", "短い。")  # no claim sentence at all
    page.click("#support-submit")
    expect(page.locator("#support-status")).to_contain_text("主張として扱える文が見つかりませんでした")
    page.evaluate("document.getElementById('support-text').removeAttribute('maxlength')")
    page.fill("#support-text", "あ" * 60_001)  # over the server's limit: a 422 with a reason
    page.click("#support-submit")
    expect(page.locator("#support-status.status-error")).to_be_visible()
    assert_accessible(page, "the article check with an error (ja)")
    assert page.problems == []
