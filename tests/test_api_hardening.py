"""What an outside probe of a running server found (issue 20), each reproduced against real uvicorn on 127.0.0.1.

Chunked bodies past the limit, long queries stalling short ones, server paths in answers,
foreign Host and Origin headers, HEAD, caching under a key, key header precedence, slow clients.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from apiserver import LiveServer

from govqa.config import Settings
from govqa.engine import Engine

KEY = "hardening-key-0123456789"
SLOW_CLIENT_SECONDS = 2


@pytest.fixture(scope="module")
def served(api_index):
    """`govqa serve` in its own process (its memory measured alone), with short slow-client timeouts."""
    env = {**os.environ, "GOVQA_HEADER_TIMEOUT": str(SLOW_CLIENT_SECONDS), "GOVQA_BODY_TIMEOUT": str(SLOW_CLIENT_SECONDS)}
    command = [sys.executable, "-m", "govqa.cli", "serve", "--port", "0", "--index-dir", str(api_index)]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    try:
        banner = server.stderr.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", banner)
        assert found, banner
        url = found.group(0).rstrip("/")
        give_up = time.monotonic() + 600  # a safeguard against a hung start, not a timing assertion
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=60).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < give_up and server.poll() is None, "govqa serve did not start"
                time.sleep(0.2)
        yield server.pid, int(found.group(1)), url
    finally:
        server.terminate()
        server.wait(timeout=60)


@pytest.fixture(scope="module")
def engine(api_index):
    return Engine.open(Settings(index_dir=api_index))


def live(engine, api_index, **settings) -> LiveServer:
    from api.app import create_app

    return LiveServer(create_app(Settings(index_dir=api_index, **settings), engine=engine)).start()


def rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))


def read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            break
        data += part
    return data


# ---- bodies ----

def test_a_chunked_body_over_the_limit_is_refused_while_it_arrives(served):
    pid, port, _ = served
    before = rss_kb(pid)
    sent, total, answer = 0, 10 * 1024 * 1024, b""
    block = b"x" * 65536
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(b"POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n" + b'%x\r\n{"query": "\r\n' % len(b'{"query": "'))
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered before the body was all sent
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(block), block))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(block)
        else:  # all sent: end the body as a client would, and see what the server made of it
            sock.sendall(b'2\r\n"}\r\n0\r\n\r\n')
        answer = read_response(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < total, "the server read the whole 10 MB body before answering"
    grown = rss_kb(pid) - before
    assert grown < 4 * 1024, f"the server grew by {grown} kB for one refused body"


def test_a_declared_length_over_the_limit_is_refused_unread(client_url):
    response = httpx.post(f"{client_url}/search", content=b"{" + b" " * 70_000 + b"}",
                          headers={"content-type": "application/json"})
    assert response.status_code == 413 and "64 KB" in response.json()["detail"]


def test_support_takes_an_article_larger_than_other_routes_allow(client_url):
    sentence = "公用車を利用するときは" + "、利用日の三日前までに総務課へ申請書を提出し" * 25 + "なければならない。"
    body = json.dumps({"text": sentence * 20}).encode()  # \uXXXX escapes: 6 bytes a character
    assert len(body) > 64 * 1024
    response = httpx.post(f"{client_url}/support", content=body, headers={"content-type": "application/json"},
                          timeout=600)
    assert response.status_code == 200 and response.json()["claims"]

    def chunks():
        yield b'{"text": "'
        for _ in range(9):
            yield b"a" * 65536

    refused = httpx.post(f"{client_url}/support", content=chunks(), headers={"content-type": "application/json"})
    assert refused.status_code == 413 and "512 KB" in refused.json()["detail"]


def test_a_body_sent_too_slowly_is_cut_off(served):
    _, port, _ = served
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(b"POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"query\": ")
        answer = read_response(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_a_request_head_sent_too_slowly_is_cut_off(served):
    _, port, _ = served
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the head never ends
        started = time.monotonic()
        closed = sock.recv(1024) == b""
    assert closed and time.monotonic() - started < 60
    with socket.create_connection(("127.0.0.1", port), timeout=60) as idle:  # nothing sent at all
        assert idle.recv(1024) == b""


# ---- query cost ----

def test_a_short_search_is_answered_while_long_ones_run(served):
    """A functional fairness check with a generous bound (the probe saw 12.65 s), not a benchmark."""
    _, _, url = served
    rng = random.Random(20)
    long_queries = ["".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(2000)) for _ in range(8)]

    async def run() -> tuple[float, list[int]]:
        async with httpx.AsyncClient(base_url=url, timeout=600) as http:
            long_ones = [asyncio.create_task(http.post("/search", json={"query": q, "k": 5})) for q in long_queries]
            await asyncio.sleep(0.3)  # the long ones are being embedded now
            started = time.perf_counter()
            short = await http.post("/search", json={"query": "library card renewal", "k": 3})
            took = time.perf_counter() - started
            assert short.status_code == 200 and short.json()["hits"][0]["doc_id"] == "city-library-guide"
            return took, [r.status_code for r in await asyncio.gather(*long_ones)]

    took, statuses = asyncio.run(run())
    assert statuses == [200] * 8
    assert took < 1.0, f"a short search took {took:.2f} s behind eight long ones"


def test_only_the_start_of_a_long_query_is_embedded(engine):
    nano = engine.embedder.inner
    long_query = "公用車の事故の報告について。" * 200
    head = nano.query_head(long_query)
    assert long_query.startswith(head) and len(head) < len(long_query)
    assert nano._model.token_count(head, True) <= nano.query_tokens < nano._model.token_count(long_query, True)
    assert (nano.embed_query(long_query) == nano.embed_query(head)).all()
    assert nano.query_head("公用車の事故") == "公用車の事故"


def test_query_embeddings_run_at_once_and_match_one_at_a_time(engine):
    from concurrent.futures import ThreadPoolExecutor

    nano = engine.embedder.inner
    texts = [f"{word}の申請について教えてください" * n for n, word in enumerate(["公用車", "図書館", "駐車場", "手数料"] * 3, 1)]
    alone = [nano.embed_query(t) for t in texts]
    with ThreadPoolExecutor(max_workers=len(texts)) as pool:
        together = list(pool.map(nano.embed_query, texts))
    assert all((a == b).all() for a, b in zip(alone, together))


def test_a_rate_limit_answers_429_with_retry_after(engine, api_index):
    server = live(engine, api_index, rate_limit="3/minute")
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            statuses = [http.get("/documents").status_code for _ in range(4)]
            refused = http.get("/documents")
            assert statuses == [200, 200, 200, 429] and refused.status_code == 429
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            assert http.get("/health").status_code == 200  # the page and /health are not counted
            made_up = http.get("/documents", headers={"Authorization": "Bearer someone-else"})
            assert made_up.status_code == 429  # a header the gate does not know is not another client
    finally:
        server.stop()


def test_each_token_has_its_own_rate(api_index, tmp_path):
    import shutil

    from govqa.tokens import TokenStore

    index_dir = tmp_path / "index"
    shutil.copytree(api_index, index_dir)  # tokens lock an index: not the shared one
    store = TokenStore(index_dir)
    first, second = (store.create("admin", None, label=name)[0] for name in ("first", "second"))
    server = live(Engine.open(Settings(index_dir=index_dir)), index_dir, rate_limit="2/minute")
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            as_first, as_second = ({"Authorization": f"Bearer {token}"} for token in (first, second))
            assert [http.get("/documents", headers=as_first).status_code for _ in range(3)] == [200, 200, 429]
            assert http.get("/documents", headers=as_second).status_code == 200
            assert http.get("/documents").status_code == 401  # no token: refused before it is counted
    finally:
        server.stop()


# ---- paths ----

def test_sources_are_relative_to_the_indexed_folder(client_url, api_corpus):
    documents = httpx.get(f"{client_url}/documents").json()
    assert {d["source"] for d in documents} == {"city-library-guide.pdf", "koyousha.pdf", "xss-probe.pdf",
                                                "fetched-notice.pdf", "swap-target.pdf"}
    hits = httpx.post(f"{client_url}/search", json={"query": "library card", "k": 3}).json()["hits"]
    assert hits and all(not h["source"].startswith("/") for h in hits)


def test_messages_name_documents_not_paths(client_url, api_corpus):
    target = api_corpus.swap_target
    original = target.read_bytes()
    try:
        target.write_bytes(b"%PDF-1.4 changed")
        changed = httpx.get(f"{client_url}/documents/swap-target/file")
        assert changed.status_code == 409 and "'swap-target'" in changed.json()["detail"]
        target.unlink()
        gone = httpx.get(f"{client_url}/documents/swap-target/file")
        assert gone.status_code == 404 and "'swap-target'" in gone.json()["detail"]
    finally:
        target.write_bytes(original)
    for detail in (changed.json()["detail"], gone.json()["detail"]):
        assert str(api_corpus.folder) not in detail and not re.search(r"(^|\s)/\w", detail)


def test_a_path_in_an_error_message_is_cut_to_its_last_part():
    from govqa.sourcepath import without_paths

    message = "index at /srv/govqa/index/gen-000007 has format version 1; see https://example.org/a/b"
    assert without_paths(message) == "index at …/gen-000007 has format version 1; see https://example.org/a/b"


def test_a_relative_source_keeps_the_path_as_given(tmp_path):
    from govqa.sourcepath import relative_source

    (tmp_path / "raw" / "sub").mkdir(parents=True)
    inside = tmp_path / "raw" / "sub" / "a.pdf"
    assert relative_source(Path("corpus/raw/000956981.pdf"), [Path("corpus/raw")]) == "corpus/raw/000956981.pdf"
    assert relative_source(inside, [tmp_path / "raw"]) == "sub/a.pdf"
    assert relative_source(inside, [inside]) == "a.pdf"


# ---- hosts and origins ----

def test_a_foreign_host_is_refused(client_url):
    for host in ("evil.example", "evil.example:80", "127.0.0.1.evil.example"):
        refused = httpx.get(f"{client_url}/documents", headers={"Host": host})
        assert refused.status_code == 400 and "GOVQA_ALLOWED_HOSTS" in refused.json()["detail"]
    for host in ("localhost", "127.0.0.1", "[::1]", f"localhost:{client_url.rsplit(':', 1)[1]}"):
        assert httpx.get(f"{client_url}/documents", headers={"Host": host}).status_code == 200


def test_no_redirect_is_built_from_the_host_header(client_url):
    response = httpx.get(f"{client_url}/documents/", headers={"Host": "localhost"})
    assert response.status_code == 404 and "location" not in response.headers


def test_allowed_hosts_can_be_added_or_opened(engine, api_index):
    server = live(engine, api_index, allowed_hosts="govqa.city.example.lg.jp, 10.0.0.5")
    try:
        for host, status in (("govqa.city.example.lg.jp", 200), ("10.0.0.5:8000", 200), ("evil.example", 400)):
            assert httpx.get(f"{server.url}/documents", headers={"Host": host}).status_code == status
        origin = {"Origin": "https://govqa.city.example.lg.jp", "Content-Type": "text/plain"}
        assert httpx.post(f"{server.url}/admin/reload", headers=origin, timeout=120).status_code == 200
    finally:
        server.stop()


def test_a_cross_origin_post_is_refused(client_url):
    evil = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
    assert httpx.post(f"{client_url}/admin/reload", headers=evil, timeout=120).status_code == 403
    assert httpx.post(f"{client_url}/admin/reload", headers={"Origin": "null"}, timeout=120).status_code == 403
    sneaky = {"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"}
    assert httpx.post(f"{client_url}/admin/reload", headers=sneaky, timeout=120).status_code == 403
    refused = httpx.post(f"{client_url}/search", json={"query": "library"}, headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403
    own = {"Origin": client_url}
    assert httpx.post(f"{client_url}/search", json={"query": "library"}, headers=own).status_code == 200
    assert httpx.post(f"{client_url}/admin/reload", timeout=120).status_code == 200  # a script sends no Origin


# ---- HEAD, caching, key headers ----

def test_head_answers_get_routes_without_a_body(engine, api_index):
    server = live(engine, api_index, api_key=KEY)
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            key = {"X-API-Key": KEY}
            for path in ("/health", "/", "/documents"):
                got, head = http.get(path, headers=key), http.head(path, headers=key)
                assert head.status_code == got.status_code == 200 and head.content == b""
                assert head.headers["content-type"] == got.headers["content-type"]
            link = http.post("/search", json={"query": "library card", "k": 1}, headers=key).json()["hits"][0]["file_url"]
            head = http.head(link.split("#")[0])  # a signed link, no key header
            assert head.status_code == 200 and head.headers["content-type"] == "application/pdf" and head.content == b""
            assert int(head.headers["content-length"]) > 0
    finally:
        server.stop()


def test_api_answers_under_a_key_are_not_stored(engine, api_index):
    server = live(engine, api_index, api_key=KEY)
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            for method, path, body in (("GET", "/documents", None), ("POST", "/search", {"query": "library"}),
                                       ("GET", "/documents/city-library-guide/file", None)):
                answer = http.request(method, path, json=body, headers={"Authorization": f"Bearer {KEY}"})
                assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
            assert http.get("/documents").headers["cache-control"] == "no-store"  # the 401 too
            assert http.get("/static/app.js").headers["cache-control"] == "no-cache"  # the page's files may be kept
    finally:
        server.stop()


def test_an_empty_key_header_does_not_beat_a_valid_bearer(engine, api_index):
    server = live(engine, api_index, api_key=KEY)
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            both = {"X-API-Key": "", "Authorization": f"Bearer {KEY}"}
            assert http.get("/documents", headers=both).status_code == 200
            assert http.get("/documents", headers={"X-API-Key": "", "Authorization": "Bearer"}).status_code == 401
            assert http.get("/documents", headers={"X-API-Key": KEY, "Authorization": "Basic eDp5"}).status_code == 200
            wrong_bearer = {"X-API-Key": KEY, "Authorization": "Bearer wrong"}  # Bearer is the one checked
            assert http.get("/documents", headers=wrong_bearer).status_code == 401
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client_url(api_url):
    return api_url
