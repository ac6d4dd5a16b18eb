"""A running server keeps answering while a new index is built, and serves it after a reload or SIGHUP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from apiserver import LiveServer, write_pdf

from govqa.build import build_index
from govqa.config import Settings
from govqa.store import current_generation

QUESTIONS = ["library card renewal", "opening hours of the central library", "図書館の利用カード"]
NEW_FACT = "Snow ploughs clear the bus routes first, before any other street in the ward."


def settings(index_dir: Path) -> Settings:
    return Settings(index_dir=index_dir, manifest=index_dir.parent / "no-manifest.toml")


@pytest.fixture()
def index_dir(tmp_path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_pdf(corpus / "library.pdf", [
        "Library cards are free for residents and must be renewed every three years at any branch counter.",
        "The central library opens at 9:00 and closes at 20:00 on weekdays."])
    build_index([corpus], settings(tmp_path / "index"))
    return tmp_path / "index"


def add_a_document(index_dir: Path) -> None:
    corpus = index_dir.parent / "corpus"
    write_pdf(corpus / "snow.pdf", [NEW_FACT])
    build_index([corpus], settings(index_dir))


class Traffic:
    """Clients searching without pause until stopped; every status is kept."""

    def __init__(self, base_url: str, clients: int = 4) -> None:
        self.base_url = base_url
        self.statuses: list[int] = []
        self.failures: list[str] = []
        self.resent: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(clients)]

    def _run(self, n: int) -> None:
        with httpx.Client(base_url=self.base_url, timeout=120) as http:
            i = n
            while not self._stop.is_set():
                try:
                    response = send(http, "POST", "/search", self.resent,
                                    json={"query": QUESTIONS[i % len(QUESTIONS)], "k": 3})
                    self.statuses.append(response.status_code)
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                i += 1

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        while not self.statuses and not self.failures:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)


def send(http: httpx.Client, method: str, url: str, resent: list[str], **kwargs) -> httpx.Response:
    """A request sent again, once, when its kept-alive connection was closed under it before any answer.

    A worker that `govqa serve --workers N` restarts closes its idle kept-alive connections; a
    request already on its way over one is reset unread. HTTP clients retry such a request
    on a new connection (RFC 9112 §9.3.1; browsers and proxies do), so the tests do the same
    and count how often it happened: a reset on a fresh connection, or any answer other
    than 200, is still a failure.
    """
    try:
        return http.request(method, url, **kwargs)
    except (httpx.ReadError, httpx.RemoteProtocolError) as exc:
        resent.append(repr(exc))
        return http.request(method, url, **kwargs)


def search_top(http: httpx.Client, query: str) -> str:
    return http.post("/search", json={"query": query, "k": 1}).json()["hits"][0]["doc_id"]


def test_reload_serves_the_new_index_without_dropping_a_request(index_dir):
    from api.app import create_app

    server = LiveServer(create_app(settings(index_dir))).start()
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            first = http.get("/health").json()["generation"]
            with Traffic(server.url) as traffic:
                add_a_document(index_dir)  # built while the server answers from the old generation
                assert http.get("/health").json()["generation"] == first
                reloaded = http.post("/admin/reload")
                served_after = len(traffic.statuses)
                while len(traffic.statuses) < served_after + 8 and not traffic.failures:
                    time.sleep(0.05)
            assert reloaded.status_code == 200, reloaded.text
            body = reloaded.json()
            assert body["status"] == "reloaded" and body["previous"] == first
            assert body["generation"] == current_generation(index_dir).name != first
            assert body["documents"] == 2
            assert traffic.failures == [] and set(traffic.statuses) == {200}
            assert search_top(http, "Which streets are cleared of snow first?") == "snow"
            assert http.get("/health").json()["generation"] == body["generation"]
            again = http.post("/admin/reload").json()
            assert again["status"] == "unchanged" and again["generation"] == body["generation"]
            # Two more builds: the generation the server still reads stays, the replaced one (no
            # request uses it any more) goes.
            build_index([index_dir.parent / "corpus"], settings(index_dir))
            build_index([index_dir.parent / "corpus"], settings(index_dir))
            assert (index_dir / body["generation"]).is_dir() and not (index_dir / first).exists()
            assert search_top(http, "Which streets are cleared of snow first?") == "snow"
    finally:
        server.stop()


def test_a_server_warms_its_engine_before_answering_and_each_reloaded_one(index_dir, monkeypatch):
    from api.app import create_app
    from govqa.engine import Engine

    warmed: list[str] = []
    real_warm = Engine.warm
    monkeypatch.setattr(Engine, "warm", lambda self: (warmed.append(self.reader.path.name), real_warm(self)))
    engine = Engine.open(settings(index_dir))  # as `govqa serve` with one worker: opened before the app
    server = LiveServer(create_app(settings(index_dir), engine=engine)).start()
    try:
        assert warmed == [current_generation(index_dir).name]
        assert engine._lexicon()._lexicon is not None  # the shipped lexicon read at start, not at a question
        add_a_document(index_dir)
        with httpx.Client(base_url=server.url, timeout=120) as http:
            assert http.post("/admin/reload").json()["status"] == "reloaded"
        assert warmed == [warmed[0], current_generation(index_dir).name]
    finally:
        server.stop()


def test_reload_to_an_index_of_another_format_version_is_409_and_the_old_one_keeps_serving(index_dir):
    from api.app import create_app

    server = LiveServer(create_app(settings(index_dir))).start()
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            first = http.get("/health").json()["generation"]
            add_a_document(index_dir)
            manifest = current_generation(index_dir) / "manifest.json"
            data = json.loads(manifest.read_text())
            data["format_version"] = 999
            manifest.write_text(json.dumps(data))

            response = http.post("/admin/reload")

            assert response.status_code == 409
            detail = response.json()["detail"]
            assert "format version 999" in detail and "govqa index" in detail
            assert http.get("/health").json()["generation"] == first
            assert http.post("/search", json={"query": "library card", "k": 1}).status_code == 200
    finally:
        server.stop()


def test_a_server_started_on_an_index_of_another_format_version_fails_in_one_line(index_dir):
    manifest = current_generation(index_dir) / "manifest.json"
    data = json.loads(manifest.read_text())
    data["format_version"] = 0
    manifest.write_text(json.dumps(data))
    command = [sys.executable, "-m", "govqa.cli", "serve", "--port", "0", "--index-dir", str(index_dir)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "format version 0" in result.stderr and "Traceback" not in result.stderr


def test_sighup_makes_govqa_serve_reload(index_dir):
    command = [sys.executable, "-m", "govqa.cli", "serve", "--port", "0", "--index-dir", str(index_dir)]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        banner = server.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", banner).group(0)
        log: list[str] = []  # drained as it comes: a full pipe would stall the server
        threading.Thread(target=lambda: log.extend(server.stderr), daemon=True).start()
        with httpx.Client(base_url=url, timeout=120) as http:
            first = http.get("/health").json()["generation"]
            with Traffic(url) as traffic:
                add_a_document(index_dir)
                os.kill(server.pid, signal.SIGHUP)
                give_up = time.monotonic() + 300  # a safeguard against a hang, not a timing assertion
                while http.get("/health").json()["generation"] == first and time.monotonic() < give_up:
                    time.sleep(0.2)
            assert http.get("/health").json()["generation"] == current_generation(index_dir).name != first
            assert traffic.failures == [] and set(traffic.statuses) == {200}
            assert search_top(http, "Which streets are cleared of snow first?") == "snow"
        assert server.poll() is None, "SIGHUP must not stop the server"
    finally:
        server.terminate()
        server.wait(timeout=60)
    # The log is JSON lines: the reload is in it, and no query or passage text at info level.
    events = [json.loads(line) for line in log if line.startswith("{")]
    assert any(e.get("event") == "reload" and e["previous"] == first for e in events)
    assert any(e.get("event") == "request" and e["path"] == "/search" and e["status"] == 200 for e in events)
    assert not any(question in line for line in log for question in QUESTIONS)
    assert not any("Snow ploughs" in line for line in log)


def test_reload_with_several_workers_restarts_each_on_the_new_index(index_dir):
    command = [sys.executable, "-m", "govqa.cli", "serve", "--port", "0", "--workers", "2", "--index-dir", str(index_dir)]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        banner = server.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", banner).group(0)
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
        with httpx.Client(base_url=url, timeout=120) as http:
            give_up = time.monotonic() + 300  # safeguards against a hang, not timing assertions
            while time.monotonic() < give_up:
                try:
                    http.get("/health").raise_for_status()
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            with Traffic(url) as traffic:
                add_a_document(index_dir)
                new = current_generation(index_dir).name
                answer = http.post("/admin/reload").json()
                assert answer["status"] == "restarting" and answer["generation"] == new
                seen: list[str] = []
                while time.monotonic() < give_up and seen[-20:] != [new] * 20:  # many requests, both workers
                    seen.append(send(http, "GET", "/health", traffic.resent).json()["generation"])
            assert traffic.failures == [] and set(traffic.statuses) == {200}
            # each restart can cut each client's one kept-alive connection at most once
            assert len(traffic.resent) <= 2 * (len(traffic._threads) + 1), traffic.resent
            assert search_top(http, "Which streets are cleared of snow first?") == "snow"
        assert server.poll() is None
    finally:
        server.terminate()
        server.wait(timeout=60)
