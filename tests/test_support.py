"""`govqa support`: an article's claims, their footnotes, and the passages that back them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import SEED

from govqa.claims import (
    ArticleError,
    footnote_markers,
    parse_article,
    read_article,
    split_claims,
)

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "corpus" / "sources.toml"


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run `govqa ARGS...` in-process; (exit code, stdout, stderr)."""
    from govqa import cli

    monkeypatch.setattr(sys, "argv", ["govqa", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.run()
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


# --- footnote markers -------------------------------------------------------------------

@pytest.mark.parametrize("sentence, clean, numbers", [
    ("with many of them now officially adopted by them4.", "with many of them now officially adopted by them.", [4]),
    ("the need for human intervention or labour2.", "the need for human intervention or labour.", [2]),
    ("maturity in “digital transformation (DX)”3, which may", "maturity in “digital transformation (DX)”, which may", [3]),
    ("Automation (RPA)1 solutions in many industries", "Automation (RPA) solutions in many industries", [1]),
    ("the top concerns were cost and staff[4].", "the top concerns were cost and staff.", [4]),
    ("as the survey shows^5 and [6, 7] and [8-10].", "as the survey shows and and .", [5, 6, 7, 8, 9, 10]),
    ("自治体の多くが生成AIを導入している※3。", "自治体の多くが生成AIを導入している。", [3]),
    ("superscripts work too¹².", "superscripts work too.", [12]),
    ("The plan was adopted by them.4", "The plan was adopted by them.", [4]),
])
def test_footnote_markers_are_found_and_removed(sentence, clean, numbers):
    assert footnote_markers(sentence, max_footnote=20) == (clean, numbers)


@pytest.mark.parametrize("sentence", [
    "completing revisions of approximately 98% of the seven common types of analog regulations.",
    "In 2025 the agency published its plan, version 3.5, for G7 members.",
    "（問１）MF登録は任意である。",
    "平成17年7月28日付け事務連絡により示した。",
    "COVID-19 and Web 3 changed the picture.",
])
def test_numbers_that_are_not_footnotes_stay(sentence):
    assert footnote_markers(sentence, max_footnote=11) == (" ".join(sentence.split()), [])


def test_glued_digits_above_the_last_footnote_are_not_markers():
    assert footnote_markers("the ministry ran 12 pilots in Osaka12.", max_footnote=11)[1] == []
    assert footnote_markers("the ministry ran pilots in Osaka12.", max_footnote=None)[1] == [12]


def test_the_seed_article_footnotes_map_to_its_claims():
    article_file = SEED / "article.txt"
    if not article_file.is_file():
        pytest.skip(f"seed article not present at {article_file}")
    article = read_article(article_file)
    assert article.footnote_count == 11
    claims = split_claims(article)
    footnoted = [(c.footnotes, c.text[-25:]) for c in claims if c.footnotes]
    assert [f for f, _ in footnoted] == [[1, 2], [3], [4], [5], [6], [6], [7], [8], [9], [10], [11]]
    assert footnoted[2][1].endswith("adopted by them4.")
    quote = next(c for c in claims if "98%" in c.text)
    assert quote.footnotes == [6] and quote.inherited  # the quotation introduced by "…, citing:"
    texts = " ".join(c.text for c in claims)
    assert "Ministerial (National) Level" not in texts  # a heading
    assert "Footnotes" not in texts and "Rashid" not in texts and "Hugo" not in texts  # the footnote section


# --- claim sentences --------------------------------------------------------------------

def test_english_sentences_split_at_stops_but_not_at_abbreviations():
    text = ("Local governments, e.g. Osaka, use RPA for payroll2. Rashid, A.B. reviewed 20 studies in 2024. "
            "Is that enough? Costs rose by 3.5 percent.")
    assert [c.query for c in split_claims(text, 11)] == [
        "Local governments, e.g. Osaka, use RPA for payroll.",
        "Rashid, A.B. reviewed 20 studies in 2024.",
        "Costs rose by 3.5 percent.",  # the question is not a claim
    ]


def test_japanese_sentences_and_headings():
    text = "第１ 一般的事項\nMF登録は任意の制度である。登録申請に費用はかからない[3]。\n\n脚注\n3. 事務連絡\n"
    claims = split_claims(parse_article(text))
    assert [(c.text, c.footnotes) for c in claims] == [("MF登録は任意の制度である。", []),
                                                       ("登録申請に費用はかからない[3]。", [3])]


def test_markdown_headings_links_and_footnote_definitions():
    text = ("# Survey results\n\nThe [cabinet office](https://example.org) surveyed all ministries[^1].\n\n"
            "[^1]: Cabinet Office (2023) survey.\n")
    article = parse_article(text, "markdown")
    assert article.footnote_count == 1
    assert [(c.query, c.footnotes) for c in split_claims(article)] == [
        ("The cabinet office surveyed all ministries.", [1])]


def test_html_articles_keep_their_sup_footnote_markers():
    html = ("<html><body><article><h1>AI in government</h1><p>Police trialled AI to find drug sales on social "
            "media<sup id=\"fnref:5\"><a href=\"#fn:5\">5</a></sup>. Ministries now use translation tools "
            "widely across their offices.</p><div class=\"footnotes\"><ol><li id=\"fn:5\">NPA (2023)</li></ol>"
            "</div></article></body></html>")
    article = parse_article(html, "html")
    claims = split_claims(article)
    assert article.footnote_count == 5  # numbered by the list item's id, as its marker is
    assert [(r.n, r.text) for r in article.references] == [(5, "NPA (2023)")]
    assert [c.footnotes for c in claims] == [[5], []]
    assert "NPA (2023)" not in " ".join(c.text for c in claims)


def test_unreadable_articles_are_one_line_errors(tmp_path):
    with pytest.raises(ArticleError, match="no such file"):
        read_article(tmp_path / "missing.txt")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Caf\xe9 claims".encode("latin-1"))
    with pytest.raises(ArticleError, match="not UTF-8"):
        read_article(latin1)
    empty = tmp_path / "empty.md"
    empty.write_text("Footnotes\n- a note\n", encoding="utf-8")
    with pytest.raises(ArticleError, match="no text"):
        read_article(empty)


# --- verdicts on the sample index -------------------------------------------------------

def _mhlw_claims(lang: str | None = None, answerable: bool = True) -> list[dict]:
    rows = [json.loads(line) for line in (REPO / "eval" / "mhlw-claims.jsonl").read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if bool(r["relevant"]) == answerable and (lang is None or r["lang"] == lang)]


def test_japanese_claims_find_the_page_behind_them_in_the_top_3(sample_engine):
    """Issue 5's bar: the page behind each claim in the top 3 for at least 9 claims in 10."""
    from govqa.support import SupportChecker

    rows = _mhlw_claims("ja")
    article = "\n".join(r["claim"] for r in rows)  # one claim per line, as an author would paste them
    results = SupportChecker(sample_engine).check_article(article)
    assert [r.claim.text for r in results] == [r["claim"] for r in rows]
    found = [any((h.doc_id, h.page) in {(g["doc_id"], g["page"]) for g in row["relevant"]} for h in result.passages[:3])
             for row, result in zip(rows, results)]
    assert sum(found) / len(found) >= 0.9
    assert sum(r.verdict == "supported" for r in results) / len(results) >= 0.9


def test_off_topic_claims_are_unsupported_and_near_misses_are_not_supported(sample_engine):
    from govqa.claims import Claim
    from govqa.support import SupportChecker

    checker = SupportChecker(sample_engine)
    for n, row in enumerate(_mhlw_claims(answerable=False), start=1):
        result = checker.check(Claim(n=n, text=row["claim"], query=row["claim"]))
        if row.get("near_miss"):
            assert result.verdict != "supported", row["claim"]
        else:
            assert result.verdict == "unsupported", row["claim"]


def test_a_claim_citing_a_source_that_is_not_indexed_says_so(sample_engine):
    from govqa.support import SupportChecker, load_footnote_sources

    checker = SupportChecker(sample_engine, load_footnote_sources(MANIFEST))
    results = checker.check_article("Many local governments automate meeting transcripts with generative AI9.")
    assert len(results) == 1
    data = results[0].to_dict()
    assert data["footnotes"] == [9]
    assert data["cited"] == [{"footnote": 9, "source_id": "soumu-genai-cases-2024", "indexed": False,
                              "locator": None, "reference": None}]
    assert "not indexed: soumu-genai-cases-2024" in data["note"]
    assert data["verdict"] == "unsupported"
    assert set(data["passages"][0]) >= {"rank", "score", "doc_id", "title", "page", "text", "source", "url", "lang",
                                        "support", "cited"}


def test_passages_of_an_indexed_cited_source_come_first(sample_engine):
    from govqa.sources import Source
    from govqa.support import SupportChecker

    cited = Source(id="000203155", title="指針", title_en="Guideline", publisher="MHLW", year=2014, lang="ja",
                   kind="pdf", footnotes=(1,), url="https://example.org/000203155.pdf")
    checker = SupportChecker(sample_engine, {1: [cited]})
    result = checker.check_article("MF登録証には非開示情報は含まれない[1]。")[0]
    assert result.passages[0].doc_id == "000203155" and result.passages[0].page == 4
    assert result.to_dict()["passages"][0]["cited"] is True
    assert result.verdict == "supported" and result.note is None


# --- the command line -------------------------------------------------------------------

def test_cli_support_prints_json_and_writes_a_report(sample_index, tmp_path, monkeypatch, capsys):
    article = tmp_path / "claims.md"
    article.write_text("# Claims\n\nMF登録申請には費用がかからない。\n\n自治体の約半数が生成AIを導入している[10]。\n",
                       encoding="utf-8")
    report = tmp_path / "support.md"
    code, out, _ = run_cli(monkeypatch, capsys, "support", str(article), "--json", "--report", str(report),
                           "--index-dir", str(sample_index), "--manifest", str(MANIFEST))
    assert code == 0
    claims = json.loads(out)["claims"]
    assert [(c["n"], c["footnotes"], c["verdict"]) for c in claims] == [(1, [], "supported"), (2, [10], "unsupported")]
    assert claims[0]["passages"][0]["doc_id"] == "000160131" and claims[0]["passages"][0]["page"] == 3
    markdown = report.read_text(encoding="utf-8")
    assert "## 1. supported" in markdown and "000160131.pdf#page=3" in markdown
    assert "soumu-genai-cases-2024" in markdown  # the footnote's source, not indexed


def test_cli_support_errors_are_one_line(sample_index, tmp_path, monkeypatch, capsys):
    code, out, err = run_cli(monkeypatch, capsys, "support", str(tmp_path / "nope.txt"), "--index-dir", str(sample_index))
    assert code == 2 and out == ""
    assert err.strip().startswith("error:") and "nope.txt" in err and len(err.strip().splitlines()) == 1
    article = tmp_path / "a.txt"
    article.write_text("MF登録申請には費用がかからない。\n", encoding="utf-8")
    code, _, err = run_cli(monkeypatch, capsys, "support", str(article), "--index-dir", str(tmp_path / "no-index"))
    assert code == 2 and "no index" in err and len(err.strip().splitlines()) == 1


def test_post_support_answers_the_contract_shape(sample_engine):
    from fastapi.testclient import TestClient

    from api.app import create_app

    client = TestClient(create_app(sample_engine.settings, sample_engine), base_url="http://localhost")
    response = client.post("/support", json={"text": "MF登録申請には費用がかからない。\nThe plan was adopted by them4."})
    assert response.status_code == 200
    claims = response.json()["claims"]
    assert [(c["n"], c["footnotes"]) for c in claims] == [(1, []), (2, [4])]
    assert claims[0]["verdict"] == "supported" and claims[0]["passages"][0]["page"] == 3
    assert {"support", "cited", "url", "doc_id", "page"} <= set(claims[0]["passages"][0])
    assert client.post("/support", json={"text": ""}).status_code == 422
    assert client.post("/support", json={"text": "x", "format": "pdf"}).status_code == 422


# --- contradictions, the article's own references, the report -----------------------------------

def test_an_altered_claim_is_contradicted_with_the_differing_spans(sample_engine):
    from govqa.support import SupportChecker, summary_line

    article = ("本通知は、平成26年11月25日から適用される。\n"
               "本通知は、平成27年11月25日から適用される。\n"
               "MF登録申請は必須事項であり、任意ではない。\n"
               "承認審査でMF登録事項に照会がある場合は、厚生労働省からMF登録者に対して直接照会が行われる。\n"
               "警察庁はSNS上の薬物取引の検出にAIを活用している。\n")
    results = SupportChecker(sample_engine).check_article(article)
    assert [r.verdict for r in results] == ["supported", "contradicted", "contradicted", "contradicted", "unsupported"]
    date = results[1].to_dict()["conflicts"][0]
    assert date["claim"] == "平成27年11月25日" and "平成26" in date["passage"] and date["kind"] == "date"
    assert (date["doc_id"], date["page"]) == ("000203155", 1)
    assert results[2].conflicts[0].kind == "obligation" and "必須事項ではありません" in results[2].conflicts[0].passage
    assert results[3].conflicts[0].claim == "厚生労働省"
    assert summary_line(results) == "1 supported, 0 weak, 3 contradicted, 1 unsupported"


def test_a_number_the_sources_do_not_state_keeps_a_close_claim_from_supported(sample_engine):
    from govqa.claims import Claim
    from govqa.support import SupportChecker

    result = SupportChecker(sample_engine).check(Claim(1, "審査は90日以内に必ず完了する。", "審査は90日以内に必ず完了する。"))
    assert result.verdict in ("weak", "unsupported")


def test_english_claims_are_checked_across_languages_and_say_so(sample_engine):
    from govqa.claims import Claim
    from govqa.support import SupportChecker

    checker = SupportChecker(sample_engine)
    true = checker.check(Claim(1, "x", "The guideline on the use of the master file applies from 25 November 2014."))
    assert true.verdict == "supported" and true.cross_language and true.to_dict()["cross_language"] is True
    changed = checker.check(Claim(2, "x", "The MF system is compulsory, so filing an MF registration is mandatory."))
    assert changed.verdict == "contradicted" and changed.conflicts[0].claim in ("compulsory", "mandatory")


def test_footnotes_follow_the_articles_own_references_not_the_bundled_manifest(sample_index, tmp_path, monkeypatch,
                                                                              capsys):
    article = tmp_path / "mf.txt"
    article.write_text("MF登録申請は、無料で行っています[1]。\n海外の原薬等製造業者は原薬等国内管理人を選任する[2]。\n\n"
                       "[1] 厚生労働省「原薬等登録原簿に関する質疑応答集(Q&A)について」 "
                       "https://www.mhlw.go.jp/file/06-Seisakujouhou/0000160131.pdf\n"
                       "[2] 厚生労働省「存在しない通知」 https://example.org/missing.pdf\n", encoding="utf-8")
    monkeypatch.chdir(REPO)  # corpus/sources.toml is the default manifest there: it must not be used
    code, out, err = run_cli(monkeypatch, capsys, "support", str(article), "--json", "--index-dir", str(sample_index))
    assert code == 0
    data = json.loads(out)
    assert len(data["claims"]) == 2  # the reference lines are not claims
    first, second = data["claims"]
    assert first["cited"][0]["source_id"] == "000160131" and first["passages"][0]["cited"] is True
    assert first["verdict"] == "supported"
    assert second["cited"][0]["source_id"] is None and "reference 2 matches no indexed document" in second["note"]
    assert "manifest" not in json.dumps(data, ensure_ascii=False)
    assert [r["doc_id"] for r in data["references"]] == ["000160131", None]
    assert data["summary"].startswith("1 supported") or "supported" in data["summary"]


def test_the_report_shows_the_summary_conflicts_side_by_side_references_and_a_figure_hook(sample_engine):
    from govqa.claims import parse_article
    from govqa.support import SupportChecker
    from govqa.supportreport import report_markdown

    article = parse_article("本通知は、平成27年11月25日から適用される[1]。\n\n参考文献\n[1] 厚生労働省「原薬等登録原簿の利用に関する指針について」\n")
    checker = SupportChecker(sample_engine)
    references = checker.match(article)
    results = checker.check_article(article)
    markdown = report_markdown(results, "a.txt", references=references,
                               figure=lambda result, hit: f"![page {hit.page}](crop.png)")
    assert "1 claims: 0 supported, 0 weak, 1 contradicted, 0 unsupported." in markdown
    assert "| 平成27年11月25日 |" in markdown and "page 1](" in markdown
    assert "![page 1](crop.png)" in markdown
    assert "1 of 1 references match an indexed document" in markdown and "`000203155` (by title)" in markdown
    pictured = report_markdown(results, "a.txt", {(1, 0): "images/1-0.png"})
    assert f"![the passage on page {results[0].passages[0].page} of {results[0].passages[0].doc_id}](images/1-0.png)" in pictured


@pytest.mark.parametrize("name, content, message", [
    ("empty.txt", b"", "empty"),
    ("blank.md", b"  \n\n", "empty"),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "binary"),
    ("huge.txt", ("MF登録申請は無料である。" * 120_000).encode("utf-8"), "at most"),
])
def test_bad_articles_get_one_line_and_no_traceback(sample_index, tmp_path, monkeypatch, capsys, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    code, out, err = run_cli(monkeypatch, capsys, "support", str(path), "--index-dir", str(sample_index))
    assert code == 2 and out == ""
    assert err.strip().startswith("error:") and message in err and name in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_html_with_scripts_and_a_500_entry_reference_list_give_reports(sample_index, tmp_path, monkeypatch, capsys):
    html = tmp_path / "page.html"
    html.write_text("<html><head><script>alert('MF登録申請は有料である。')</script></head><body>"
                    "<p>MF登録申請は、無料で行っています<sup>1</sup>。</p><script>document.write('x')</script>"
                    "<ol class='footnotes'><li id='fn1'>厚生労働省「原薬等登録原簿に関する質疑応答集(Q&amp;A)について」</li></ol>"
                    "</body></html>", encoding="utf-8")
    code, out, _ = run_cli(monkeypatch, capsys, "support", str(html), "--json", "--index-dir", str(sample_index))
    assert code == 0
    data = json.loads(out)
    assert [(c["verdict"], c["footnotes"]) for c in data["claims"]] == [("supported", [1])]
    assert data["references"][0]["doc_id"] == "000160131"
    long_list = tmp_path / "long.md"
    entries = "\n".join(f"{n}. Ministry {n} (2021) \"Report {n}\", https://example.org/{n}.pdf" for n in range(1, 501))
    long_list.write_text(f"MF登録申請は、無料で行っています[^7].\n\n## References\n\n{entries}\n", encoding="utf-8")
    report = tmp_path / "report.md"
    code, out, err = run_cli(monkeypatch, capsys, "support", str(long_list), "--report", str(report),
                             "--index-dir", str(sample_index))
    assert code == 0 and "0 of 500 references match" in err
    assert "0 of 500 references match an indexed document" in report.read_text(encoding="utf-8")


def test_eval_support_prints_precision_and_recall_per_verdict(sample_index, tmp_path, monkeypatch, capsys):
    claims = tmp_path / "claims.jsonl"
    rows = [{"claim": "本通知は、平成26年11月25日から適用される。", "lang": "ja", "kind": "true", "expect": "supported"},
            {"claim": "本通知は、平成27年11月25日から適用される。", "lang": "ja", "kind": "altered", "expect": "contradicted"},
            {"claim": "警察庁はSNS上の薬物取引の検出にAIを活用している。", "lang": "ja", "kind": "off-topic",
             "expect": "unsupported"}]
    claims.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    code, out, _ = run_cli(monkeypatch, capsys, "eval-support", str(claims), "--json", "--index-dir", str(sample_index),
                           "--articles", str(REPO / "eval" / "support-articles.jsonl"))
    assert code == 0
    data = json.loads(out)
    assert data["verdicts"]["contradicted"] == {"precision": 1.0, "recall": 1.0, "predicted": 1, "gold": 1}
    assert data["targets"]["altered_contradicted"] == 1.0
    assert all(not a["leaked"] and a["references_right"] == a["references"] for a in data["articles"])
    code, _, err = run_cli(monkeypatch, capsys, "eval-support", str(tmp_path / "none.jsonl"), "--index-dir", str(sample_index))
    assert code == 2 and "none.jsonl" in err and len(err.strip().splitlines()) == 1
