"""An article's own reference list: the forms it takes, matching references to indexed documents,
and fetching the ones the index lacks (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pymupdf
import pytest

from govqa.claims import parse_article, split_claims
from govqa.references import fetch_missing, match_references, split_text_references
from govqa.store import DocRecord

REPO = Path(__file__).resolve().parents[1]
ARTICLES = REPO / "eval" / "support-articles"


def doc(doc_id: str, title: str, path: str | None = None, url: str | None = None) -> DocRecord:
    return DocRecord(doc_id=doc_id, title=title, path=path or f"corpus/raw/{doc_id}.pdf", sha256="0" * 64, pages=3,
                     lang="ja", kind="pdf", url=url)


DOCS = {d.doc_id: d for d in [
    doc("000160131", "原薬等登録原簿に関する質疑応答集(Q&A)について"),
    doc("000161338", "原薬等韻録原短に関する質疑応答集(Q&A)について(その2)"),  # an OCR-damaged title
    doc("000159994", "原薬等登録原簿に関する質疑応答集(Q&A)について(その4)"),
    doc("000227202", "000227202"),  # a slide deck without a title: only its file name can match it
    doc("guide", "Guideline on generative AI in local government", url="https://example.go.jp/ai/guide/"),
]}


@pytest.mark.parametrize("text, expected", [
    ("本文です[1]。\n\n参考文献\n[1] 厚生労働省「資料」\n[2] 別の資料\n", [(1, "厚生労働省「資料」"), (2, "別の資料")]),
    ("Body text[1].\n\nReferences\n1. First source, 2024.\n2. Second source, 2023.\n",
     [(1, "First source, 2024."), (2, "Second source, 2023.")]),
    ("本文※1。\n\n出典：\n※1 厚生労働省「資料」\n※2 総務省「調査」\n", [(1, "厚生労働省「資料」"), (2, "総務省「調査」")]),
    ("Text.[^1]\n\n[^1]: The footnote, defined anywhere.\n", [(1, "The footnote, defined anywhere.")]),
    ("Body.\n\nSources\n- Ministry A (2020) report\n  continued on a second line\n- Ministry B (2021)\n",
     [(1, "Ministry A (2020) report continued on a second line"), (2, "Ministry B (2021)")]),
    ("本文です。\n\n注\n(1) 第一の注\n(2) 第二の注\n", [(1, "第一の注"), (2, "第二の注")]),
])
def test_reference_lists_in_every_form_are_parsed(text, expected):
    body, references, count = split_text_references(text)
    assert [(r.n, r.text) for r in references] == expected
    assert count == expected[-1][0]
    assert all(r.text not in body for r in references)


def test_a_trailing_reference_block_without_a_heading_is_still_a_reference_list():
    text = ("MF登録申請は無料である[1]。MF制度は任意の制度である[2]。\n\n"
            "[1] 厚生労働省「原薬等登録原簿に関する質疑応答集(Q&A)について」平成17年\n"
            "[2] 厚生労働省「指針」 https://www.mhlw.go.jp/file/0000203155.pdf\n")
    claims = split_claims(parse_article(text))
    assert [c.query for c in claims] == ["MF登録申請は無料である。", "MF制度は任意の制度である。"]
    assert [c.footnotes for c in claims] == [[1], [2]]


def test_numbered_lists_in_the_body_stay_claims_but_captions_tables_and_contents_do_not():
    text = ("目次\n1. はじめに ........ 3\n2. 制度の概要 ........ 5\n\n"
            "図1 MF登録の流れ\n\n| 項目 | 内容 |\n|---|---|\n\n"
            "1. MF登録申請は無料で行われている。\n2. MF制度は任意の登録制度である。\n")
    claims = split_claims(parse_article(text, "markdown"))
    assert [c.query[-17:] for c in claims] == ["MF登録申請は無料で行われている。", "MF制度は任意の登録制度である。"]


def test_html_footnote_lists_give_numbers_links_and_no_claims():
    html = (ARTICLES / "mf-cells.html").read_text(encoding="utf-8")
    article = parse_article(html, "html")
    assert [r.n for r in article.references] == [1, 2, 3, 4]
    assert article.references[0].urls[0].endswith("0000160536.pdf")
    texts = " ".join(c.text for c in split_claims(article))
    assert "何も含まれない" not in texts and "当選" not in texts  # script text
    assert "図2" not in texts and "References" not in texts and "ホーム" not in texts
    assert "厚生労働省「" not in texts  # the reference list


def test_references_match_by_url_file_name_and_title_and_say_when_nothing_matches():
    text = ("Body[1][2][3][4][5][6].\n\nReferences\n"
            "[1] https://www.mhlw.go.jp/file/06-Seisakujouhou/0000160131.pdf\n"  # a file name (leading zero)
            "[2] 厚生労働省「原薬等登録原簿に関する質疑応答集(Q&A)について(その2)」\n"  # title, OCR-damaged in the index
            "[3] 厚生労働省「原薬等登録原簿に関する質疑応答集(Q&A)について(その4)」\n"  # title: (その4), not the base
            "[4] PMDA slides, 000227202.pdf\n"
            "[5] Guideline, https://www.example.go.jp/ai/guide\n"  # the document's URL without www and slash
            "[6] 厚生労働省「医薬品の承認申請について」 https://example.org/other.pdf\n")
    matches = match_references(parse_article(text).references, DOCS)
    assert [(m.reference.n, m.doc_id, m.how) for m in matches] == [
        (1, "000160131", "file name"), (2, "000161338", "title"), (3, "000159994", "title"),
        (4, "000227202", "file name"), (5, "guide", "url"), (6, None, None)]
    assert matches[5].to_dict()["urls"] == ["https://example.org/other.pdf"]


def test_every_reference_of_the_evaluation_articles_matches_its_gold_document(sample_engine):
    from govqa.claims import read_article

    for line in (REPO / "eval" / "support-articles.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        article = read_article(REPO / "eval" / row["file"])
        found = {str(m.reference.n): m.doc_id for m in match_references(article.references, sample_engine.reader.documents)}
        assert found == row["references"], row["file"]
        claims = [c.text for c in split_claims(article, article.footnote_count)]
        assert len(claims) == row["claims"], row["file"]
        assert not [t for t in row["not_claims"] if any(t in c for c in claims)], row["file"]


def test_a_500_entry_reference_list_is_parsed_and_matched():
    entries = "\n".join(f"[{n}] Ministry {n} (2020) report number {n}, https://example.org/r{n}.pdf" for n in range(1, 501))
    article = parse_article(f"The claim is made here in a sentence[499].\n\nReferences\n{entries}\n")
    assert len(article.references) == 500 and article.footnote_count == 500
    assert split_claims(article)[0].footnotes == [499]
    assert sum(m.doc_id is None for m in match_references(article.references, DOCS)) == 500


# --- fetching what the index lacks ---------------------------------------------------------------

def make_pdf(text: str) -> bytes:
    pdf = pymupdf.open()
    pdf.new_page().insert_text((72, 72), text)
    data = pdf.tobytes()
    pdf.close()
    return data


class Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[bytes, str]] = {}

    def do_GET(self) -> None:
        body, content_type = self.routes.get(self.path, (b"not found", "text/plain"))
        self.send_response(200 if self.path in self.routes else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Handler.routes = {
        "/report.pdf": (make_pdf("MF report"), "application/pdf"),
        "/page": (b"<!DOCTYPE html><html><body><p>A page</p></body></html>", "text/html; charset=utf-8"),
        "/download?id=7": (make_pdf("served without .pdf"), "application/pdf"),
        "/fake.pdf": (b"<html><body>Please log in</body></html>", "text/html"),
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_fetch_missing_downloads_unmatched_references_with_the_type_checks_and_lock_of_fetch(site, tmp_path):
    text = ("Claims[1].\n\nReferences\n"
            f"[1] Report {site}/report.pdf\n[2] Page {site}/page\n[3] Download {site}/download?id=7\n"
            f"[4] A login page posing as a PDF {site}/fake.pdf\n[5] No URL at all\n"
            "[6] Indexed already https://www.mhlw.go.jp/file/0000160131.pdf\n")
    matches = match_references(parse_article(text).references, DOCS)
    lock = tmp_path / "sources.lock"
    results = fetch_missing(matches, tmp_path / "raw", lock)
    by_n = {r.source.footnotes[0]: r for r in results}
    assert sorted(by_n) == [1, 2, 3, 4]  # 5 has no URL, 6 is indexed
    assert [by_n[n].status for n in (1, 2, 3)] == ["ok", "ok", "ok"]
    assert by_n[1].path.read_bytes().startswith(b"%PDF-") and by_n[1].path.name == "report.pdf"
    assert by_n[3].path.suffix == ".pdf"  # a URL without .pdf that serves one is kept as a PDF
    assert by_n[4].status == "failed" and "not a PDF" in by_n[4].message
    pinned = json.loads(lock.read_text(encoding="utf-8"))["sources"]
    assert {entry["url"] for entry in pinned.values()} == {f"{site}/report.pdf", f"{site}/page", f"{site}/download?id=7"}
    fetched = {p.stem: doc(p.stem, p.stem, str(p)) for p in (tmp_path / "raw").iterdir()}  # as `govqa index` names them
    assert [m.doc_id is not None for m in match_references([m.reference for m in matches[:3]], fetched)] == [True] * 3
    again = fetch_missing(matches, tmp_path / "raw", lock)
    assert [r.status for r in again if r.source.footnotes[0] != 4] == ["cached", "cached", "cached"]
    assert not list((tmp_path / "raw").glob("*.part"))


def test_the_bundled_manifest_applies_only_to_the_article_it_describes():
    from govqa.claims import read_article
    from govqa.support import manifest_for

    manifest = REPO / "corpus" / "sources.toml"
    seed = REPO.parent / "shared" / "seed" / "article.txt"
    if not seed.is_file():
        pytest.skip(f"seed article not present at {seed}")
    assert 10 in manifest_for(read_article(seed), manifest)  # the article the manifest describes
    assert manifest_for(parse_article("MF登録申請は無料である[10]。"), manifest) == {}
    assert manifest_for(parse_article("MF登録申請は無料である[10]。"), None) == {}


def test_support_fetch_missing_on_the_command_line(site, sample_index, tmp_path, monkeypatch, capsys):
    import sys

    from govqa import cli

    article = tmp_path / "a.md"
    article.write_text(f"MF登録申請は、無料で行っています[^1]。\n\n[^1]: 報告書 {site}/report.pdf\n", encoding="utf-8")
    monkeypatch.setattr(sys, "argv", ["govqa", "support", str(article), "--fetch-missing", "--dest", str(tmp_path / "raw"),
                                      "--lock", str(tmp_path / "sources.lock"), "--index-dir", str(sample_index)])
    with pytest.raises(SystemExit) as exit_info:
        cli.run()
    err = capsys.readouterr().err
    assert exit_info.value.code == 0
    assert "1 of 1 missing references fetched" in err and f"govqa index {tmp_path / 'raw'}" in err
    assert (tmp_path / "raw" / "report.pdf").read_bytes().startswith(b"%PDF-")
