"""Tokens and collections on a live server: a reader of one collection learns nothing of another, on every route."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx
import pytest
from apiserver import LiveServer, write_pdf

from govqa.build import build_index
from govqa.config import Settings
from govqa.tokens import TokenStore

API_KEY = "admin-key-for-access-tests-0123"
SECRET_DOC = "zaisei-yobihi"
SECRET_WORDS = "Zebra reserve fund"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("access")
    (root / "zaisei").mkdir()
    (root / "zenchou").mkdir()
    write_pdf(root / "zaisei" / f"{SECRET_DOC}.pdf", [
        f"{SECRET_WORDS}: the finance section holds 320 million yen for the Zebra project.",
        "Page two of the finance memo: the Zebra project reserve is settled in March."])
    write_pdf(root / "zenchou" / "zenchou-guide.pdf", [
        "Staff guide for all sections. Leave requests go to the personnel section two days ahead.",
        "The Zebra project briefing for residents is held in the town hall in May."])
    index_dir = root / "index"
    settings = Settings(index_dir=index_dir, manifest=root / "none.toml")
    build_index([root / "zenchou"], settings, collection="zenchou")
    build_index([root / "zaisei"], settings, collection="zaisei")
    return index_dir


@pytest.fixture(scope="module")
def tokens(index_dir):
    store = TokenStore(index_dir)
    known = {"zenchou", "zaisei", "default"}
    made = {name: store.create(role, cols, label=name, known_collections=known)[0] for name, role, cols in (
        ("reader_zenchou", "reader", ["zenchou"]), ("reader_zaisei", "reader", ["zaisei"]),
        ("editor_zenchou", "editor", ["zenchou"]), ("admin", "admin", None))}
    return made


@pytest.fixture(scope="module")
def server(index_dir, tokens):
    from api.app import create_app

    live = LiveServer(create_app(Settings(index_dir=index_dir, api_key=API_KEY))).start()
    try:
        yield live.url
    finally:
        live.stop()


def client(url: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=300)


# Every route that can reveal a document, asked about SECRET_DOC (collection zaisei) by a reader of zenchou.
WRONG_COLLECTION = [
    ("GET", f"/documents/{SECRET_DOC}/pages/1", None),
    ("GET", f"/documents/{SECRET_DOC}/file", None),
    ("DELETE", f"/documents/{SECRET_DOC}", None),
    ("PUT", f"/documents/{SECRET_DOC}", None),
    ("GET", f"/documents/{SECRET_DOC}/pages/1/image?width=200", None),
    ("GET", "/documents?collection=zaisei", None),
    ("POST", "/search", {"query": "Zebra reserve fund", "collections": ["zaisei"]}),
    ("POST", "/ask", {"query": "Zebra reserve fund", "collections": ["zaisei"], "llm": "none"}),
    ("POST", "/support", {"text": "The Zebra project reserve is 320 million yen.", "collections": ["zaisei"]}),
]


@pytest.mark.parametrize(("method", "path", "body"), WRONG_COLLECTION, ids=[f"{m} {p}" for m, p, _ in WRONG_COLLECTION])
def test_another_collections_document_answers_like_one_that_does_not_exist(server, tokens, method, path, body):
    with client(server, tokens["reader_zenchou"]) as http:
        hidden = http.request(method, path, json=body)
        missing = http.request(method, path.replace(SECRET_DOC, "no-such-doc").replace("zaisei", "no-such"), json=body
                               and json.loads(json.dumps(body).replace("zaisei", "no-such")))
    assert hidden.status_code == missing.status_code == 404, hidden.text
    # the same words, but for the name the caller typed itself
    assert hidden.json()["detail"].replace(SECRET_DOC, "X").replace("zaisei", "X") == \
        missing.json()["detail"].replace("no-such-doc", "X").replace("no-such", "X")
    with client(server, tokens["reader_zaisei"]) as http:  # the right token sees it (deletion aside: a reader)
        if method == "GET" and "/image" not in path:
            assert http.request(method, path).status_code == 200


def test_every_route_about_a_document_is_in_the_wrong_collection_list(index_dir):
    """A route added later (page images, say) must be added to WRONG_COLLECTION above, so it is tested too."""
    from api.app import create_app

    app = create_app(Settings(index_dir=index_dir))
    routes = {(method, route.path) for route in app.routes if "{doc_id}" in getattr(route, "path", "")
              for method in getattr(route, "methods", ()) if method != "HEAD"}
    listed = {(method, path.split("?")[0].replace(SECRET_DOC, "{doc_id}").replace("/pages/1", "/pages/{page}"))
              for method, path, _ in WRONG_COLLECTION}
    assert routes <= listed, routes - listed


def test_searches_lists_and_counts_leave_out_other_collections(server, tokens):
    with client(server, tokens["reader_zenchou"]) as http:
        for route, body in (("/search", {"query": SECRET_WORDS, "k": 20}),
                            ("/ask", {"query": SECRET_WORDS, "k": 20, "llm": "extractive"}),
                            ("/support", {"text": "The Zebra project reserve is settled in March."})):
            answer = http.post(route, json=body)
            assert answer.status_code == 200 and SECRET_DOC not in answer.text and "finance" not in answer.text
        assert {d["doc_id"] for d in http.get("/documents").json()} == {"zenchou-guide"}
        assert [c["name"] for c in http.get("/collections").json()["collections"]] == ["zenchou"]
        health = http.get("/health").json()
        assert health["documents"] == 1
        assert http.post("/admin/reload").status_code == 404
    with client(server, tokens["reader_zaisei"]) as http:
        hits = http.post("/search", json={"query": SECRET_WORDS, "k": 1}).json()["hits"]
        assert hits[0]["doc_id"] == SECRET_DOC and hits[0]["collection"] == "zaisei"


def test_without_a_token_only_health_and_the_page_answer_and_health_tells_nothing(server):
    with client(server, None) as http:
        for method, path, body in [*WRONG_COLLECTION, ("GET", "/documents", None), ("GET", "/collections", None),
                                   ("GET", "/jobs/abc", None), ("GET", "/openapi.json", None)]:
            assert http.request(method, path, json=body).status_code == 401, path
        health = http.get("/health").json()
        assert health["documents"] == 0 and health["chunks"] == 0 and health["generation"] is None
        assert http.get("/").status_code == 200 and http.get("/static/app.js").status_code == 200
    with client(server, "gq_not-a-real-token") as http:
        assert http.post("/search", json={"query": "guide"}).status_code == 401


def test_the_api_key_is_an_admin_token(server):
    with client(server, API_KEY) as http:
        assert {d["doc_id"] for d in http.get("/documents").json()} == {SECRET_DOC, "zenchou-guide"}


def test_signed_file_links_are_bound_to_the_token_and_die_with_it(server, index_dir):
    store = TokenStore(index_dir)
    token, record = store.create("reader", ["zenchou"], known_collections={"zenchou"})
    with client(server, token) as http:
        hit = http.post("/search", json={"query": "leave requests personnel", "k": 1}).json()["hits"][0]
    link = hit["file_url"].split("#")[0]
    assert "tok=" in link and "sig=" in link
    with client(server, None) as anonymous:
        assert anonymous.get(link).status_code == 200
        query = urlsplit(link).query
        assert anonymous.get(f"/documents/{SECRET_DOC}/file?{query}").status_code == 401  # signed for another doc
        store.revoke(record.id)
        assert anonymous.get(link).status_code == 401
    with client(server, token) as http:
        assert http.get("/documents").status_code == 401


def test_a_signed_link_of_a_token_cannot_open_a_document_outside_its_collections(server, index_dir):
    from api.auth import FILE_LINK_SECONDS, _token_signature

    store = TokenStore(index_dir)
    _, record = store.create("reader", ["zenchou"], known_collections={"zenchou"})
    expires = int(time.time() + FILE_LINK_SECONDS)
    # A correctly signed link for the secret document, as if the server had made one for this token:
    sig = _token_signature(store.link_secret(), SECRET_DOC, expires, record.id)
    with client(server, None) as anonymous:
        assert anonymous.get(f"/documents/{SECRET_DOC}/file?exp={expires}&tok={record.id}&sig={sig}").status_code == 404


def test_tokens_cli_prints_the_token_once_and_keeps_only_its_hash(index_dir):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = lambda *args: subprocess.run([sys.executable, "-m", "govqa.cli", *args, "--index-dir", str(index_dir)],
                                       capture_output=True, text=True, env=env)
    made = run("tokens", "create", "--role", "editor", "--collections", "zaisei", "--label", "finance", "--json")
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["token"]
    stored = (index_dir / "tokens.json").read_text(encoding="utf-8")
    assert token not in stored
    listed = run("tokens", "list", "--json")
    assert token not in listed.stdout
    finance = [t for t in json.loads(listed.stdout)["tokens"] if t["label"] == "finance"]
    assert finance and finance[0]["collections"] == ["zaisei"] and finance[0]["role"] == "editor"
    assert run("tokens", "revoke", finance[0]["id"]).returncode == 0
    assert TokenStore(index_dir).verify(token) is None
    bad = run("tokens", "create", "--role", "reader", "--collections", "no-such")
    assert bad.returncode != 0 and "no-such" in bad.stderr and "Traceback" not in bad.stderr
    bad = run("tokens", "create", "--role", "boss")
    assert bad.returncode != 0 and "--role" in bad.stderr and "Traceback" not in bad.stderr
    log = [json.loads(line) for line in (index_dir / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {"token.create", "token.revoke"} <= {entry["event"] for entry in log}


def mcp_call(http: httpx.Client, name: str, arguments: dict) -> httpx.Response:
    return http.post("/mcp", headers={"Accept": "application/json, text/event-stream"}, json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}})


def test_the_mcp_mount_answers_for_the_tokens_collections_only(server, tokens):
    with client(server, tokens["reader_zenchou"]) as http:
        for name, arguments in (("search", {"query": SECRET_WORDS, "k": 10}),
                                ("search", {"query": SECRET_WORDS, "k": 10, "collections": ["zaisei"]}),
                                ("list_documents", {})):
            answer = mcp_call(http, name, arguments)
            assert answer.status_code == 200, answer.text
            assert SECRET_DOC not in answer.text and "finance" not in answer.text
    with client(server, tokens["reader_zaisei"]) as http:
        assert SECRET_DOC in mcp_call(http, "search", {"query": SECRET_WORDS, "k": 1}).text
    with client(server, None) as http:
        assert mcp_call(http, "list_documents", {}).status_code == 401


def test_an_articles_reference_matches_only_documents_the_caller_may_read(server, tokens):
    article = {"text": f"The Zebra project briefing is held in May[1].\n\nReferences\n[1] Finance memo, {SECRET_DOC}.pdf\n"}
    with client(server, tokens["reader_zenchou"]) as http:
        answer = http.post("/support", json=article)
        assert answer.status_code == 200
        assert [r["doc_id"] for r in answer.json()["references"]] == [None]  # as if it were not indexed
        assert f'"doc_id":"{SECRET_DOC}"' not in answer.text.replace(" ", "")
        assert all(c["source_id"] is None for c in answer.json()["claims"][0]["cited"])
    with client(server, tokens["reader_zaisei"]) as http:
        assert [r["doc_id"] for r in http.post("/support", json=article).json()["references"]] == [SECRET_DOC]
