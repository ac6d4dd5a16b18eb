"""A real uvicorn server in a background thread, and a small corpus of generated PDFs to serve.

The fixtures here are imported by conftest.py, so test_api.py and test_browser.py share one
server per index per test session.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPT_PASSAGE = "Security notice for the zanzibar kiosk: the string <script>alert(1)</script> must appear as plain text."
FETCHED_URL = "https://docs.example.org/notices/fetched-notice.pdf"


class PathAudit:
    """Wraps a govqa app and notes every response that shows an absolute path of the server's disk:
    its index folder or a folder an indexed file is in (issue 20). Files themselves are not read."""

    def __init__(self, app) -> None:
        self.app = app
        self.leaks: list[str] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind, parts = b"", []

        async def audited(message) -> None:
            nonlocal kind
            if message["type"] == "http.response.start":
                kind = dict(message.get("headers", [])).get(b"content-type", b"")
            elif message["type"] == "http.response.body" and not kind.startswith((b"application/pdf", b"application/octet")):
                parts.append(message.get("body", b""))
                if not message.get("more_body", False):
                    body = b"".join(parts)
                    self.leaks += [f"{scope['method']} {scope['path']} shows {secret}" for secret in self._secrets()
                                   if secret.encode() in body]
            await send(message)

        await self.app(scope, receive, audited)

    def _secrets(self) -> set[str]:
        state = self.app.state
        folders = {str(Path(state.reloader.settings.index_dir).resolve())}
        if state.engine is not None:
            folders |= {str(Path(record.file).parent) for record in state.engine.documents() if record.file}
        return {folder for folder in folders if folder.count("/") > 1}


class LiveServer:
    """uvicorn on 127.0.0.1, on a port the OS picks, serving `app` until stopped.

    Every response goes through PathAudit; stop() fails when one showed a server path."""

    def __init__(self, app) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.audit = PathAudit(app)
        # lifespan "on": an index that fails to load must stop the server, not leave it half up.
        self.server = uvicorn.Server(uvicorn.Config(self.audit, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        give_up = time.monotonic() + 600  # a safeguard against a hung start, not a timing assertion
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > give_up:
                raise RuntimeError("the API server did not start; see the log above")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)
        self.sock.close()
        assert not self.audit.leaks, "responses showed server paths:\n" + "\n".join(sorted(set(self.audit.leaks)))


def serve(index_dir: Path):
    """Start a server over an index; yield its base URL; stop it."""
    from api.app import create_app
    from govqa.config import Settings

    server = LiveServer(create_app(Settings(index_dir=index_dir))).start()
    try:
        yield server.url
    finally:
        server.stop()


def write_pdf(path: Path, pages: list[str], fontname: str = "helv") -> Path:
    """A text PDF, one string per page."""
    import pymupdf

    doc = pymupdf.open()
    for text in pages:
        page = doc.new_page(width=595, height=842)
        page.insert_textbox(pymupdf.Rect(60, 60, 535, 800), text, fontsize=11, fontname=fontname)
    doc.set_metadata({"title": path.stem.replace("-", " ").title()})
    doc.save(path)
    doc.close()
    return path


def sse_events(response) -> list[tuple[str, dict]]:
    """The (event, data) pairs of a server-sent event stream (an httpx streaming response)."""
    import json

    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:])))
    return events


@dataclass
class Corpus:
    folder: Path  # what gets indexed
    outside: Path  # files beside it that must never be served
    manifest: Path
    swap_target: Path  # a recorded file the symlink tests replace (and restore)
    secret: Path


def make_corpus(root: Path) -> Corpus:
    folder, outside = root / "corpus", root / "outside"
    folder.mkdir()
    outside.mkdir()
    write_pdf(folder / "city-library-guide.pdf", [
        ("City Library Guide. Library cards are free for residents. A library card must be renewed every "
         "three years at any branch counter; bring an identity document. Lost cards are replaced for a fee of 300 yen."),
        ("Opening hours. The central library opens at 9:00 and closes at 20:00 on weekdays. "
         "Branch libraries close at 17:00. All libraries are closed on the fourth Monday of each month."),
    ])
    write_pdf(folder / "koyousha.pdf", [
        ("公用車の利用について\n公用車を利用するときは、利用日の三日前までに総務課へ利用申請書を提出してください。"
         "燃料の給油は指定の給油所で行い、領収書を添えて報告します。"),
        "事故が起きたときは、直ちに警察へ通報し、総務課長に報告してください。保険の手続きは総務課が行います。",
    ], fontname="japan")
    write_pdf(folder / "xss-probe.pdf", [SCRIPT_PASSAGE])
    write_pdf(folder / "fetched-notice.pdf", [
        ("Notice on recycling collection. Plastic containers are collected every Wednesday. "
         "Glass bottles are collected on the first and third Friday."),
        "Oversized waste must be booked by telephone at least one week before collection.",
    ])
    swap_target = write_pdf(folder / "swap-target.pdf", [
        "Parking permits for municipal staff are issued by the facilities section every April."])
    secret = write_pdf(outside / "secret.pdf", ["TOP SECRET payroll figures that are not part of the corpus."])
    # A symlink planted in the corpus, pointing out of it at a file that is not a PDF.
    os.symlink("/etc/passwd", folder / "passwd.pdf")
    manifest = root / "sources.toml"
    manifest.write_text(f'''
[[source]]
id = "fetched-notice"
title = "Recycling collection notice"
title_en = "Recycling collection notice"
publisher = "Example City Environment Bureau"
year = 2024
lang = "en"
kind = "pdf"
footnotes = [1]
url = "{FETCHED_URL}"
''', encoding="utf-8")
    return Corpus(folder=folder, outside=outside, manifest=manifest, swap_target=swap_target, secret=secret)


@pytest.fixture(scope="session")
def api_corpus(tmp_path_factory) -> Corpus:
    return make_corpus(tmp_path_factory.mktemp("api-corpus"))


@pytest.fixture(scope="session")
def api_index(tmp_path_factory, api_corpus: Corpus) -> Path:
    """An index of the generated corpus: English, Japanese, a <script> passage, a fetched source."""
    from govqa.build import build_index
    from govqa.config import Settings

    index_dir = tmp_path_factory.mktemp("api-index")
    build_index([api_corpus.folder], Settings(index_dir=index_dir, manifest=api_corpus.manifest))
    return index_dir


@pytest.fixture(scope="session")
def api_url(api_index: Path):
    """Base URL of a live server over the generated corpus."""
    yield from serve(api_index)


@pytest.fixture(scope="session")
def sample_api_url(sample_index: Path):
    """Base URL of a live server over ../shared/samples/mhlw (skips when the samples are absent)."""
    yield from serve(sample_index)
