"""The HTTP API against a real uvicorn server on 127.0.0.1 over real indexes: every route, bad input, traversal."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest
from apiserver import FETCHED_URL, SCRIPT_PASSAGE, Corpus

HIT_FIELDS = {"rank", "score", "doc_id", "title", "page", "text", "source", "url", "lang"}
DOCUMENT_FIELDS = {"doc_id", "title", "pages", "source", "url", "lang"}
JA_QUESTION = "MF登録申請に費用はかかりますか"


@pytest.fixture(scope="module")
def client(api_url):
    with httpx.Client(base_url=api_url, timeout=120) as http:
        yield http


@pytest.fixture(scope="module")
def sample_client(sample_api_url):
    with httpx.Client(base_url=sample_api_url, timeout=300) as http:
        yield http


def raw_get(base_url: str, path: str) -> tuple[int, bytes]:
    """GET a path exactly as written: no client-side normalisation of `..` or percent escapes."""
    where = urlsplit(base_url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def doc_ids(client) -> set[str]:
    return {d["doc_id"] for d in client.get("/documents").json()}


# ---- service ----

def test_health_reports_the_loaded_index(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["documents"] == 5  # the symlink to /etc/passwd was not indexed
    assert body["chunks"] >= body["documents"]
    assert body["embedder"]


def test_every_response_carries_the_security_headers(client):
    for response in (client.get("/"), client.get("/health"), client.post("/search", json={"query": ""}),
                     client.get("/documents/nope/file"), client.get("/static/app.js")):
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        assert response.headers["x-content-type-options"] == "nosniff"


def test_openapi_documents_every_route_and_body(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/health", "/search", "/ask", "/documents", "/documents/{doc_id}/pages/{page}",
                 "/documents/{doc_id}/file"):
        assert path in paths
    schema_of = lambda op, status="200": op["responses"][status]["content"]["application/json"]["schema"]
    assert paths["/search"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/SearchRequest")
    assert paths["/ask"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/AskRequest")
    assert schema_of(paths["/search"]["post"])["$ref"].endswith("/SearchResponse")
    assert schema_of(paths["/ask"]["post"])["$ref"].endswith("/AskResponse")
    assert schema_of(paths["/health"]["get"])["$ref"].endswith("/HealthOut")
    assert schema_of(paths["/documents"]["get"])["items"]["$ref"].endswith("/DocumentOut")
    assert schema_of(paths["/documents/{doc_id}/pages/{page}"]["get"])["$ref"].endswith("/PageOut")
    assert schema_of(paths["/search"]["post"], "422")["$ref"].endswith("/ErrorOut")
    assert "application/pdf" in paths["/documents/{doc_id}/file"]["get"]["responses"]["200"]["content"]
    hit = spec["components"]["schemas"]["HitOut"]["properties"]
    assert HIT_FIELDS <= set(hit)


def test_docs_page_is_served(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert "openapi.json" in response.text


# ---- the web page ----

def test_root_serves_the_page_without_inline_script_or_outside_resources(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handlers would break under the CSP"
    assert not re.search(r"\sstyle\s*=", html), "inline styles would break under the CSP"
    for asset, media in (("app.js", "text/javascript"), ("i18n.js", "text/javascript"), ("app.css", "text/css"),
                         ("favicon.svg", "image/svg+xml")):
        response = client.get(f"/static/{asset}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media)
    for text in (html, *(client.get(f"/static/{name}").text for name in ("app.js", "i18n.js", "app.css"))):
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text), "no CDN, no external fonts"
        assert "@import" not in text and "@font-face" not in text
    assert client.get("/static/secret.txt").status_code == 404
    assert client.get("/favicon.ico").status_code == 200


# ---- search and ask ----

def test_search_returns_contract_hits_with_local_file_urls(client):
    response = client.post("/search", json={"query": "How often must a library card be renewed?", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "How often must a library card be renewed?"
    hits = body["hits"]
    assert 1 <= len(hits) <= 3
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))
    for hit in hits:
        assert HIT_FIELDS <= set(hit)
        assert hit["page"] >= 1
        assert {"publisher", "year", "file_url", "highlights"} <= set(hit)
    top = hits[0]
    assert top["doc_id"] == "city-library-guide" and top["page"] == 1
    assert top["url"] == top["file_url"] == f"/documents/city-library-guide/file#page={top['page']}"
    marked = [top["text"][start:end].lower() for start, end in top["highlights"]]
    assert "library" in marked and "card" in marked


def test_fetched_sources_link_to_their_original_url_at_the_page(client):
    hits = client.post("/search", json={"query": "When are glass bottles collected?", "k": 5}).json()["hits"]
    fetched = [h for h in hits if h["doc_id"] == "fetched-notice"]
    assert fetched
    for hit in fetched:
        assert hit["url"] == f"{FETCHED_URL}#page={hit['page']}"
        assert hit["file_url"] == f"/documents/fetched-notice/file#page={hit['page']}"
        assert hit["publisher"] == "Example City Environment Bureau" and hit["year"] == 2024


def test_search_defaults_to_ten_hits_at_most(client):
    hits = client.post("/search", json={"query": "library"}).json()["hits"]
    assert 1 <= len(hits) <= 10


def test_a_query_at_the_length_limit_is_accepted(client):
    from govqa.engine import MAX_QUERY_CHARS

    response = client.post("/search", json={"query": "library " * (MAX_QUERY_CHARS // 8), "k": 1})
    assert response.status_code == 200


def test_ask_follows_the_contract_shape(client):
    response = client.post("/ask", json={"query": "公用車の利用申請はいつまでに出しますか"})
    assert response.status_code == 200
    body = response.json()
    assert {"query", "answer", "citations", "hits", "llm", "abstained"} <= set(body)
    assert isinstance(body["answer"], str) and isinstance(body["abstained"], bool) and body["llm"]
    assert 1 <= len(body["hits"]) <= 8
    assert all(HIT_FIELDS <= set(hit) for hit in body["hits"])
    numbers = {c["n"] for c in body["citations"]}
    assert {int(n) for n in re.findall(r"\[(\d+)\]", body["answer"])} <= numbers
    cited_pages = {(h["doc_id"], h["page"]) for h in body["hits"]}
    assert all((c["doc_id"], c["page"]) in cited_pages for c in body["citations"])
    assert body["hits"][0]["doc_id"] == "koyousha"


def test_ask_with_llm_none_gives_the_passages(client):
    body = client.post("/ask", json={"query": "library opening hours", "k": 2, "llm": "none"}).json()
    assert body["llm"] == "none"
    assert 1 <= len(body["hits"]) <= 2


def test_an_unknown_llm_is_a_client_error(client):
    response = client.post("/ask", json={"query": "library", "llm": "no-such-backend"})
    assert 400 <= response.status_code < 500
    assert isinstance(response.json()["detail"], str)


BAD_BODIES = [
    pytest.param({"query": ""}, id="empty"),
    pytest.param({"query": "  \n\t "}, id="whitespace"),
    pytest.param({"query": "x" * 2001}, id="too-long"),
    pytest.param({"query": "library", "k": 0}, id="k-zero"),
    pytest.param({"query": "library", "k": 101}, id="k-over-100"),
    pytest.param({"query": "library", "k": -3}, id="k-negative"),
    pytest.param({"query": "library", "k": "5"}, id="k-string"),
    pytest.param({"query": "library", "k": 2.5}, id="k-float"),
    pytest.param({"query": "library", "k": True}, id="k-bool"),
    pytest.param({"query": "library", "k": None}, id="k-null"),
    pytest.param({"query": 123}, id="query-number"),
    pytest.param({"query": None}, id="query-null"),
    pytest.param({"query": ["library"]}, id="query-list"),
    pytest.param({}, id="no-query"),
    pytest.param([], id="array-body"),
    pytest.param("library", id="string-body"),
    pytest.param({"query": "library", "kk": 5}, id="unknown-field"),
]


@pytest.mark.parametrize("route", ["/search", "/ask"])
@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_bodies_get_422_with_a_reason(client, route, body):
    response = client.post(route, json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail


@pytest.mark.parametrize("route", ["/search", "/ask"])
@pytest.mark.parametrize("raw", [b"", b"{not json", b"\xff\xfe", b'{"query": "library", "k": 1e999}'])
def test_unparseable_bodies_get_422(client, route, raw):
    response = client.post(route, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], str)


def test_wrong_llm_type_and_wrong_method(client):
    assert client.post("/ask", json={"query": "library", "llm": 5}).status_code == 422
    assert client.get("/search").status_code == 405
    assert client.post("/health").status_code == 405


def test_an_oversized_body_is_refused_before_parsing(client):
    response = client.post("/search", content=b'{"query": "' + b"x" * 100_000 + b'"}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_concurrent_requests_share_one_engine(client, api_url):
    questions = ["library card renewal", "公用車 事故", "glass bottles", "parking permits"] * 3
    expected = {q: client.post("/search", json={"query": q, "k": 3}).json() for q in set(questions)}

    def ask(question: str):
        with httpx.Client(base_url=api_url, timeout=120) as http:
            return question, http.post("/search", json={"query": question, "k": 3})

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(ask, questions))
    for question, response in results:
        assert response.status_code == 200
        assert response.json() == expected[question]


# ---- documents and pages ----

def test_documents_lists_every_indexed_document(client):
    documents = client.get("/documents").json()
    assert {d["doc_id"] for d in documents} == {"city-library-guide", "koyousha", "xss-probe", "fetched-notice",
                                                "swap-target"}
    for document in documents:
        assert DOCUMENT_FIELDS <= set(document)
        assert document["pages"] >= 1
        assert document["file_url"] == f"/documents/{quote(document['doc_id'], safe='')}/file"
    by_id = {d["doc_id"]: d for d in documents}
    assert by_id["fetched-notice"]["url"] == FETCHED_URL
    assert by_id["koyousha"]["lang"] == "ja" and by_id["city-library-guide"]["lang"] == "en"
    assert by_id["city-library-guide"]["pages"] == 2


def test_page_text(client):
    response = client.get("/documents/city-library-guide/pages/2")
    assert response.status_code == 200
    body = response.json()
    assert body["doc_id"] == "city-library-guide" and body["page"] == 2
    assert "Opening hours" in body["text"]
    assert "<script>alert(1)</script>" in client.get("/documents/xss-probe/pages/1").json()["text"]


@pytest.mark.parametrize("path", [
    "/documents/no-such-doc/pages/1",
    "/documents/city-library-guide/pages/0",
    "/documents/city-library-guide/pages/3",
    "/documents/city-library-guide/pages/-1",
    "/documents/city-library-guide/pages/99999999999999999999999999",
    "/documents/no-such-doc/file",
    "/documents/passwd/file",
    "/no-such-route",
])
def test_unknown_documents_and_pages_are_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert isinstance(response.json()["detail"], str)


def test_a_page_that_is_not_a_number_is_422(client):
    assert client.get("/documents/city-library-guide/pages/two").status_code == 422


def test_the_recorded_file_is_served_as_pdf(client, api_corpus: Corpus):
    response = client.get("/documents/city-library-guide/file")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content == (api_corpus.folder / "city-library-guide.pdf").read_bytes()
    assert response.headers["content-disposition"].startswith("inline")


# ---- traversal: the file route serves only what the index recorded ----

TRAVERSALS = [
    "/documents/../../etc/passwd/file",
    "/documents/../../../../../../etc/passwd",
    "/documents/%2e%2e/%2e%2e/etc/passwd/file",
    "/documents/%2e%2e%2f%2e%2e%2fetc%2fpasswd/file",
    "/documents/..%2F..%2F..%2Fetc%2Fpasswd/file",
    "/documents/%252e%252e%252fetc%252fpasswd/file",
    "/documents/..%5c..%5cetc%5cpasswd/file",
    "/documents//etc/passwd/file",
    "/documents/%2Fetc%2Fpasswd/file",
    "/documents/passwd/file",
    "/documents/passwd.pdf/file",
    "/documents/city-library-guide/file/../../../../etc/passwd",
    "/documents/city-library-guide/file%2f..%2f..%2f..%2fetc%2fpasswd",
    "/static/../../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2fetc%2fpasswd",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_attempts_never_return_a_file(api_url, path):
    status, body = raw_get(api_url, path)
    assert 400 <= status < 500
    assert b"root:" not in body and b"%PDF" not in body


def test_absolute_paths_of_real_files_are_not_document_ids(api_url, api_corpus: Corpus):
    for target in (Path("/etc/passwd"), api_corpus.folder / "city-library-guide.pdf", api_corpus.secret):
        for path in (f"/documents/{quote(str(target), safe='')}/file", f"/documents/{target}/file",
                     f"/documents/{quote(str(target), safe='')}/pages/1"):
            status, body = raw_get(api_url, path)
            assert status == 404, path
            assert b"root:" not in body and b"%PDF" not in body


def test_no_document_serves_a_file_from_outside_the_corpus(client):
    for doc_id in doc_ids(client):
        response = client.get(f"/documents/{doc_id}/file")
        assert response.status_code == 200
        assert response.content.startswith(b"%PDF") and b"root:" not in response.content
        assert b"TOP SECRET" not in response.content


def test_a_symlink_swapped_in_for_a_recorded_file_is_not_followed(client, api_corpus: Corpus):
    target = api_corpus.swap_target
    original = target.read_bytes()
    assert client.get("/documents/swap-target/file").content == original
    backup = target.with_name("swap-target.bak")
    os.rename(target, backup)
    try:
        for outside in (api_corpus.secret, Path("/etc/passwd")):
            os.symlink(outside, target)
            response = client.get("/documents/swap-target/file")
            assert 400 <= response.status_code < 500
            assert b"TOP SECRET" not in response.content and b"root:" not in response.content
            assert "index" in response.json()["detail"]
            target.unlink()
        # A symlinked folder on the recorded path is as bad as a symlinked file.
        os.rename(api_corpus.folder, api_corpus.folder.with_name("corpus-real"))
        try:
            os.symlink(api_corpus.outside, api_corpus.folder)
            shutil.copy(api_corpus.secret, api_corpus.outside / "swap-target.pdf")
            response = client.get("/documents/swap-target/file")
            assert 400 <= response.status_code < 500 and b"TOP SECRET" not in response.content
        finally:
            api_corpus.folder.unlink(missing_ok=True)
            (api_corpus.outside / "swap-target.pdf").unlink(missing_ok=True)
            os.rename(api_corpus.folder.with_name("corpus-real"), api_corpus.folder)
    finally:
        os.rename(backup, target)
    assert client.get("/documents/swap-target/file").content == original


def test_a_recorded_file_whose_bytes_changed_is_not_served(client, api_corpus: Corpus):
    target = api_corpus.swap_target
    original = target.read_bytes()
    try:
        target.write_bytes(api_corpus.secret.read_bytes())
        response = client.get("/documents/swap-target/file")
        assert response.status_code == 409
        assert b"TOP SECRET" not in response.content
    finally:
        target.write_bytes(original)
    assert client.get("/documents/swap-target/file").content == original


def test_a_missing_recorded_file_is_404(client, api_corpus: Corpus):
    target = api_corpus.swap_target
    backup = target.with_name("swap-target.gone")
    os.rename(target, backup)
    try:
        assert client.get("/documents/swap-target/file").status_code == 404
    finally:
        os.rename(backup, target)


# ---- the sample government PDFs ----

def test_sample_index_answers_a_japanese_question(sample_client):
    response = sample_client.post("/ask", json={"query": JA_QUESTION})
    assert response.status_code == 200
    body = response.json()
    assert body["hits"]
    for hit in body["hits"]:
        assert HIT_FIELDS <= set(hit) and hit["page"] >= 1
        assert hit["url"].endswith(f"#page={hit['page']}")
        assert hit["url"].startswith(("https://", "http://", "/documents/"))
    assert any(hit["highlights"] for hit in body["hits"])
    first = body["hits"][0]
    pdf = sample_client.get(first["file_url"].split("#")[0])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"


def test_sample_documents_and_pages(sample_client):
    documents = sample_client.get("/documents").json()
    health = sample_client.get("/health").json()
    assert len(documents) == health["documents"] >= 8  # two of the nine files are byte-identical
    scanned = next(d for d in documents if d["source"].endswith("000160131.pdf"))
    page = sample_client.get(f"/documents/{scanned['doc_id']}/pages/1").json()
    assert page["text"].strip(), "the scanned page was OCR'd"
    assert sample_client.get(f"/documents/{scanned['doc_id']}/pages/{scanned['pages'] + 1}").status_code == 404


def test_script_passage_is_returned_verbatim_as_json_text(client):
    hits = client.post("/search", json={"query": "zanzibar kiosk security notice", "k": 1}).json()["hits"]
    assert hits[0]["text"] == SCRIPT_PASSAGE


# ---- govqa serve ----

def test_govqa_serve_runs_the_api_over_an_index(api_index):
    command = [sys.executable, "-m", "govqa.cli", "serve", "--port", "0", "--index-dir", str(api_index)]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        banner = server.stderr.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/", banner)
        assert found, banner
        health = httpx.get(found.group(0) + "health", timeout=60)
        assert health.status_code == 200 and health.json()["documents"] == 5
        assert httpx.get(found.group(0), timeout=60).headers["content-type"].startswith("text/html")
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_govqa_serve_without_an_index_fails_in_one_line(tmp_path):
    command = [sys.executable, "-m", "govqa.cli", "serve", "--port", "0", "--index-dir", str(tmp_path / "none")]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no index" in result.stderr and "Traceback" not in result.stderr


def test_govqa_serve_on_a_busy_port_fails_in_one_line(api_index):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        command = [sys.executable, "-m", "govqa.cli", "serve", "--port", str(port), "--index-dir", str(api_index)]
        result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cannot listen" in result.stderr


def test_ask_marks_the_sentences_its_answer_quotes(sample_client):
    """/ask gives each passage the code-point spans of the sentences the answer quotes from it, found in the
    passage's own text (line breaks and all); /search marks none."""
    body = sample_client.post("/ask", json={"query": "MFの登録申請に手数料は必要ですか。"}).json()
    first = body["hits"][0]
    assert "無料で行っています。[1]" in body["answer"].replace(" ", "")
    quoted = ["".join(first["text"][start:end].split()) for start, end in first["quoted"]]
    assert "MF登録申請は、無料で行っています。" in quoted
    cited = {c["n"] for c in body["citations"]}
    assert all(not hit["quoted"] for hit in body["hits"] if hit["rank"] not in cited)
    searched = sample_client.post("/search", json={"query": "MFの登録申請に手数料は必要ですか。"}).json()
    assert all(hit["quoted"] == [] for hit in searched["hits"])
