"""The optional API key, closed CORS by default, and many clients at once on a real server."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import httpx
import pytest
from apiserver import LiveServer
from fastapi.testclient import TestClient

from govqa.config import Settings
from govqa.engine import Engine

KEY = "k3y-for-tests-0123456789"
PROTECTED = [
    ("POST", "/search", {"query": "library", "k": 1}),
    ("POST", "/ask", {"query": "library", "k": 1, "llm": "none"}),
    ("POST", "/support", {"text": "Library cards must be renewed every three years."}),
    ("GET", "/documents", None),
    ("GET", "/documents/city-library-guide/pages/1", None),
    ("GET", "/documents/city-library-guide/file", None),
    ("POST", "/admin/reload", None),
    ("GET", "/openapi.json", None),
    ("GET", "/docs", None),
]


@pytest.fixture(scope="module")
def engine(api_index):
    return Engine.open(Settings(index_dir=api_index))


def client_for(engine, api_index, **settings) -> TestClient:
    from api.app import create_app

    # The server answers only to its own host names (api/guard.py), not TestClient's "testserver".
    return TestClient(create_app(Settings(index_dir=api_index, **settings), engine=engine), base_url="http://localhost")


@pytest.fixture(scope="module")
def locked(engine, api_index):
    with client_for(engine, api_index, api_key=KEY) as client:
        yield client


def call(client, method: str, path: str, body, headers=None):
    return client.request(method, path, json=body, headers=headers or {})


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
def test_with_a_key_set_every_route_but_health_needs_it(locked, method, path, body):
    refused = call(locked, method, path, body)
    assert refused.status_code == 401
    assert "API key" in refused.json()["detail"] and refused.headers["www-authenticate"] == "Bearer"
    assert refused.headers["content-security-policy"].startswith("default-src 'self'")
    assert call(locked, method, path, body, {"Authorization": "Bearer wrong-key"}).status_code == 401
    assert call(locked, method, path, body, {"X-API-Key": KEY[:-1]}).status_code == 401
    for headers in ({"Authorization": f"Bearer {KEY}"}, {"X-API-Key": KEY}):
        assert call(locked, method, path, body, headers).status_code == 200


def test_health_and_the_page_itself_need_no_key(locked):
    assert locked.get("/health").json()["status"] == "ok"
    page = locked.get("/")
    assert page.status_code == 200 and 'id="key-form"' in page.text
    assert locked.get("/static/app.js").status_code == 200


def test_file_links_in_answers_are_signed_and_open_without_the_header(locked):
    headers = {"X-API-Key": KEY}
    hit = locked.post("/search", json={"query": "library card renewal", "k": 1}, headers=headers).json()["hits"][0]
    link = hit["file_url"]
    assert link.startswith(f"/documents/{hit['doc_id']}/file?exp=") and "&sig=" in link and link.endswith(f"#page={hit['page']}")
    opened = locked.get(link.split("#")[0])
    assert opened.status_code == 200 and opened.content.startswith(b"%PDF")
    documents = locked.get("/documents", headers=headers).json()
    other = next(d for d in documents if d["doc_id"] != hit["doc_id"])
    query = urlsplit(link).query
    assert locked.get(f"/documents/{other['doc_id']}/file?{query}").status_code == 401  # a signature is per document
    assert locked.get(link.split("#")[0][:-4] + "0000").status_code == 401
    assert locked.get(f"/documents/{hit['doc_id']}/pages/1?{query}").status_code == 401  # and only for the file


def test_an_expired_file_link_is_refused():
    from api.auth import ApiKeyGate, file_link_query

    gate = ApiKeyGate(app=None, key=KEY)
    scope = lambda query: {"type": "http", "method": "GET", "path": "/documents/doc/file", "headers": [],
                           "query_string": query[1:].encode()}
    assert gate._allowed(scope(file_link_query(KEY, "doc")))
    assert not gate._allowed(scope(file_link_query(KEY, "doc", now=time.time() - 13 * 3600)))
    assert not gate._allowed(scope(file_link_query("another-key", "doc")))


def test_without_a_key_file_links_are_plain(engine, api_index):
    with client_for(engine, api_index) as client:
        hit = client.post("/search", json={"query": "library card renewal", "k": 1}).json()["hits"][0]
        assert hit["file_url"] == f"/documents/{hit['doc_id']}/file#page={hit['page']}"


def test_cors_is_closed_by_default(engine, api_index):
    with client_for(engine, api_index) as client:
        preflight = client.options("/search", headers={"Origin": "https://elsewhere.example",
                                                       "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in preflight.headers
        response = client.post("/search", json={"query": "library", "k": 1}, headers={"Origin": "https://elsewhere.example"})
        # Not even run: a page elsewhere could not read the answer, but a POST may change something (api/guard.py).
        assert response.status_code == 403 and "access-control-allow-origin" not in response.headers


def test_cors_origins_can_be_allowed_one_by_one(engine, api_index):
    portal = "https://portal.city.example.lg.jp"
    with client_for(engine, api_index, cors_origins=f"{portal}, https://intranet.example", api_key=KEY) as client:
        preflight = client.options("/search", headers={
            "Origin": portal, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert preflight.status_code == 200  # a preflight carries no key and needs none
        assert preflight.headers["access-control-allow-origin"] == portal
        other = client.options("/search", headers={"Origin": "https://elsewhere.example",
                                                   "Access-Control-Request-Method": "POST"})
        assert other.headers.get("access-control-allow-origin") != "https://elsewhere.example"
        response = client.post("/search", json={"query": "library", "k": 1},
                               headers={"Origin": portal, "Authorization": f"Bearer {KEY}"})
        assert response.status_code == 200 and response.headers["access-control-allow-origin"] == portal


def test_256_concurrent_searches_all_succeed(api_url):
    questions = ["library card renewal", "公用車 事故", "glass bottles", "parking permits", "opening hours"]

    async def storm() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
        async with httpx.AsyncClient(base_url=api_url, timeout=600, limits=limits) as http:
            return await asyncio.gather(*(http.post("/search", json={"query": questions[i % 5], "k": 5})
                                          for i in range(256)))

    responses = asyncio.run(storm())
    assert [r.status_code for r in responses] == [200] * 256
    assert all(r.json()["hits"] for r in responses)


def test_the_reload_route_is_behind_the_key_on_a_live_server(api_index):
    from api.app import create_app

    server = LiveServer(create_app(Settings(index_dir=api_index, api_key=KEY))).start()
    try:
        assert httpx.post(f"{server.url}/admin/reload", timeout=120).status_code == 401
        reloaded = httpx.post(f"{server.url}/admin/reload", headers={"X-API-Key": KEY}, timeout=120)
        assert reloaded.status_code == 200 and reloaded.json()["status"] == "unchanged"
    finally:
        server.stop()
