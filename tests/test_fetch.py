"""govqa fetch: the manifest, downloading, verifying and pinning sources — against a real server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pymupdf
import pytest

from govqa.errors import FetchError, ManifestError
from govqa.sources import (Source, fetch_sources, load_manifest, source_for_file,
                           sources_by_footnote)

REPO = Path(__file__).resolve().parents[1]
FAST = {"timeout": 5.0, "retries": 3, "backoff": 0.01}  # short waits between retries keep the suite quick


def make_pdf(text: str) -> bytes:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), text)
    data = doc.tobytes()
    doc.close()
    return data


PAGE = "<!DOCTYPE html><html><head><title>Government AI</title></head><body><p>ガバメントAI</p></body></html>"


# --- a small real web server --------------------------------------------------------------------

class Site:
    """Routes served by the test server, and what the server saw."""

    def __init__(self) -> None:
        self.routes: dict[str, dict] = {}
        self.hits: Counter[str] = Counter()
        self.user_agents: list[str] = []
        self.base_url = ""

    def serve(self, path: str, body: bytes | str, content_type: str, *, status: int = 200,
              delay: float = 0.0, fail_first: int = 0, fail_status: int = 503) -> str:
        body = body.encode() if isinstance(body, str) else body
        self.routes[path] = dict(body=body, content_type=content_type, status=status,
                                 delay=delay, fail_first=fail_first, fail_status=fail_status)
        return self.base_url + path

    def redirect(self, path: str, to: str) -> str:
        self.routes[path] = dict(redirect=to)
        return self.base_url + path


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        site: Site = self.server.site
        site.hits[self.path] += 1
        site.user_agents.append(self.headers.get("User-Agent", ""))
        route = site.routes.get(self.path)
        if route is None:
            return self._send(404, b"not found", "text/plain")
        if "redirect" in route:
            return self._send(301, b"", "text/plain", location=route["redirect"])
        if route["delay"]:
            time.sleep(route["delay"])
        if site.hits[self.path] <= route["fail_first"]:
            return self._send(route["fail_status"], b"busy", "text/plain")
        self._send(route["status"], route["body"], route["content_type"])

    def _send(self, status: int, body: bytes, content_type: str, location: str = "") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test); nothing to answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.site = Site()
    server.site.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.site
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Tests never reach the internet, and a proxy in the environment must not swallow 127.0.0.1."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    connect = socket.create_connection

    def create_connection(address, *args, **kwargs):
        if address[0] not in ("127.0.0.1", "localhost"):
            raise OSError(f"test tried to reach {address[0]}; tests stay on 127.0.0.1")
        return connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)


# --- manifests -----------------------------------------------------------------------------------

def entry(id: str, url: str, kind: str = "pdf", footnotes: str = "[1]", extra: str = "") -> str:
    return (f'[[source]]\nid = "{id}"\ntitle = "題名 {id}"\ntitle_en = "Title {id}"\npublisher = "総務省"\n'
            f'year = 2024\nlang = "ja"\nkind = "{kind}"\nfootnotes = {footnotes}\nurl = "{url}"\n{extra}\n')


def write_manifest(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text("\n".join(entries), encoding="utf-8")
    return path


def fetch(manifest: Path, tmp_path: Path, **options):
    return fetch_sources(load_manifest(manifest), dest=tmp_path / "raw", lock_path=tmp_path / "sources.lock",
                         **{**FAST, **options})


def statuses(results) -> dict[str, str]:
    return {r.source.id: r.status for r in results}


def read_lock(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "sources.lock").read_text(encoding="utf-8"))


def no_part_files(folder: Path) -> bool:
    return not list(folder.glob("*.part"))


# --- downloading ---------------------------------------------------------------------------------

def test_fetch_downloads_verifies_and_pins_every_source(site, tmp_path):
    pdf = make_pdf("generative AI cases")
    manifest = write_manifest(tmp_path,
                              entry("soumu-cases", site.serve("/main_content/000956981.pdf", pdf, "application/pdf")),
                              entry("da-news", site.serve("/news/123", PAGE, "text/html; charset=utf-8"), kind="html"))
    seen = []

    results = fetch(manifest, tmp_path, on_result=seen.append)

    assert statuses(results) == {"soumu-cases": "ok", "da-news": "ok"}
    assert seen == results
    assert (tmp_path / "raw" / "000956981.pdf").read_bytes() == pdf  # PDFs keep the URL's file name
    assert (tmp_path / "raw" / "da-news.html").read_text(encoding="utf-8") == PAGE
    lock = read_lock(tmp_path)
    assert lock["version"] == 1
    pinned = lock["sources"]["soumu-cases"]
    assert pinned["file"] == "000956981.pdf"
    assert pinned["sha256"] == hashlib.sha256(pdf).hexdigest() == results[0].sha256
    assert pinned["bytes"] == len(pdf)
    assert pinned["url"] == site.base_url + "/main_content/000956981.pdf"
    assert pinned["content_type"] == "application/pdf"
    assert pinned["fetched_at"].endswith("+00:00")
    assert all(ua.startswith("govqa/") and "offline document QA" in ua for ua in site.user_agents)
    assert no_part_files(tmp_path / "raw") and no_part_files(tmp_path)


def test_second_run_uses_the_pinned_files_without_network(site, tmp_path):
    manifest = write_manifest(tmp_path, entry("doc", site.serve("/doc.pdf", make_pdf("v1"), "application/pdf")))
    fetch(manifest, tmp_path)

    again = fetch(manifest, tmp_path)

    assert statuses(again) == {"doc": "cached"}
    assert site.hits["/doc.pdf"] == 1
    assert "matches the lock" in again[0].message


def test_upstream_change_is_reported_and_the_lock_follows(site, tmp_path):
    url = site.serve("/doc.pdf", make_pdf("first edition"), "application/pdf")
    manifest = write_manifest(tmp_path, entry("doc", url))
    first = fetch(manifest, tmp_path)
    (tmp_path / "raw" / "doc.pdf").unlink()  # e.g. a fresh checkout: no file, only the lock
    revised = make_pdf("revised edition")
    site.serve("/doc.pdf", revised, "application/pdf")

    [result] = fetch(manifest, tmp_path)

    assert result.status == "changed"
    assert "changed since the lock" in result.message and "re-index" in result.message
    assert result.sha256 != first[0].sha256
    assert read_lock(tmp_path)["sources"]["doc"]["sha256"] == hashlib.sha256(revised).hexdigest()


def test_a_corrupted_local_file_is_fetched_again(site, tmp_path):
    pdf = make_pdf("intact")
    manifest = write_manifest(tmp_path, entry("doc", site.serve("/doc.pdf", pdf, "application/pdf")))
    fetch(manifest, tmp_path)
    (tmp_path / "raw" / "doc.pdf").write_bytes(b"%PDF-1.7 truncated")

    [result] = fetch(manifest, tmp_path)

    assert result.status == "ok"
    assert "corrupt or modified" in result.message
    assert (tmp_path / "raw" / "doc.pdf").read_bytes() == pdf
    assert site.hits["/doc.pdf"] == 2


def test_redirects_are_followed_like_doi_links(site, tmp_path):
    pdf = make_pdf("moved")
    site.serve("/content/article.pdf", pdf, "application/pdf")
    manifest = write_manifest(tmp_path, entry("paper", site.redirect("/10.1016/x.pdf", "/content/article.pdf")))

    [result] = fetch(manifest, tmp_path)

    assert result.status == "ok"
    assert (tmp_path / "raw" / "x.pdf").read_bytes() == pdf
    assert read_lock(tmp_path)["sources"]["paper"]["url"] == site.base_url + "/10.1016/x.pdf"


def test_a_404_fails_with_what_to_do_next_and_the_others_still_arrive(site, tmp_path):
    manifest = write_manifest(tmp_path,
                              entry("gone", site.base_url + "/removed.pdf"),
                              entry("doc", site.serve("/doc.pdf", make_pdf("still here"), "application/pdf")))

    results = fetch(manifest, tmp_path)

    assert statuses(results) == {"gone": "failed", "doc": "ok"}
    gone = results[0]
    assert gone.path is None and gone.sha256 is None
    assert gone.message.startswith("HTTP 404 from http://127.0.0.1")
    assert "check the URL in the manifest or use --from" in gone.message
    assert "\n" not in gone.message
    assert site.hits["/removed.pdf"] == 1  # a 404 is not retried
    assert "gone" not in read_lock(tmp_path)["sources"]
    assert no_part_files(tmp_path / "raw")


def test_a_server_slower_than_the_timeout_fails_cleanly(site, tmp_path):
    manifest = write_manifest(tmp_path, entry("slow", site.serve("/slow.pdf", make_pdf("late"), "application/pdf",
                                                                 delay=3.0)))

    [result] = fetch(manifest, tmp_path, timeout=0.2, retries=1)

    assert result.status == "failed"
    assert "timed out" in result.message and "after 2 attempts" in result.message
    assert not (tmp_path / "raw" / "slow.pdf").exists()
    assert no_part_files(tmp_path / "raw")


def test_an_html_page_served_as_pdf_is_rejected(site, tmp_path):
    login_page = "<!DOCTYPE html><html><body>Please log in</body></html>"
    manifest = write_manifest(tmp_path, entry("report", site.serve("/report.pdf", login_page, "application/pdf")))

    [result] = fetch(manifest, tmp_path)

    assert result.status == "failed"
    assert "expected a PDF" in result.message and "HTML page" in result.message
    assert not (tmp_path / "raw" / "report.pdf").exists()
    assert no_part_files(tmp_path / "raw")


def test_a_pdf_url_answering_text_html_is_rejected_before_download(site, tmp_path):
    manifest = write_manifest(tmp_path, entry("report", site.serve("/report.pdf", PAGE, "text/html")))

    [result] = fetch(manifest, tmp_path)

    assert result.status == "failed"
    assert "answered text/html, not a PDF" in result.message


@pytest.mark.parametrize("busy_status", [503, 429])
def test_busy_server_is_retried_until_it_answers(site, tmp_path, busy_status):
    pdf = make_pdf("patience")
    url = site.serve("/busy.pdf", pdf, "application/pdf", fail_first=2, fail_status=busy_status)
    manifest = write_manifest(tmp_path, entry("busy", url))

    [result] = fetch(manifest, tmp_path)

    assert result.status == "ok"
    assert site.hits["/busy.pdf"] == 3
    assert (tmp_path / "raw" / "busy.pdf").read_bytes() == pdf


def test_busy_server_gives_up_after_the_retries(site, tmp_path):
    url = site.serve("/down.pdf", b"", "application/pdf", fail_first=99)
    manifest = write_manifest(tmp_path, entry("down", url))

    [result] = fetch(manifest, tmp_path, retries=2)

    assert result.status == "failed"
    assert result.message.startswith("HTTP 503 from") and "after 3 attempts" in result.message
    assert site.hits["/down.pdf"] == 3


# --- mirrors for closed networks (LGWAN) ---------------------------------------------------------

def test_mirror_folder_supplies_files_by_name_or_id(site, tmp_path):
    pdf = make_pdf("from the USB stick")
    mirror = tmp_path / "usb"
    mirror.mkdir()
    (mirror / "000956981.pdf").write_bytes(pdf)
    (mirror / "da-news.html").write_text(PAGE, encoding="utf-8")
    manifest = write_manifest(tmp_path,
                              entry("soumu-cases", site.base_url + "/main_content/000956981.pdf"),
                              entry("da-news", site.base_url + "/news/123", kind="html"))

    results = fetch(manifest, tmp_path, mirror=str(mirror))

    assert statuses(results) == {"soumu-cases": "ok", "da-news": "ok"}
    assert sum(site.hits.values()) == 0  # the internet is never asked
    assert (tmp_path / "raw" / "000956981.pdf").read_bytes() == pdf
    pinned = read_lock(tmp_path)["sources"]["soumu-cases"]
    assert pinned["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert pinned["url"] == site.base_url + "/main_content/000956981.pdf"  # the real origin, for citations
    assert pinned["from"] == str(mirror / "000956981.pdf")


def test_mirror_folder_files_are_verified_and_missing_ones_reported(tmp_path):
    mirror = tmp_path / "usb"
    mirror.mkdir()
    (mirror / "000956981.pdf").write_text("<html>saved the viewer page by mistake</html>")
    manifest = write_manifest(tmp_path,
                              entry("soumu-cases", "https://www.soumu.go.jp/main_content/000956981.pdf"),
                              entry("ipa-dx", "https://www.ipa.go.jp/dx-trend-2025.pdf"))

    results = fetch(manifest, tmp_path, mirror=str(mirror))

    assert statuses(results) == {"soumu-cases": "failed", "ipa-dx": "failed"}
    assert "expected a PDF" in results[0].message
    assert "not in the mirror folder" in results[1].message and "dx-trend-2025.pdf" in results[1].message
    assert no_part_files(tmp_path / "raw")


def test_a_missing_mirror_folder_is_one_clear_error(tmp_path):
    manifest = write_manifest(tmp_path, entry("doc", "https://example.invalid/doc.pdf"))

    with pytest.raises(FetchError, match="no such folder"):
        fetch(manifest, tmp_path, mirror=str(tmp_path / "nowhere"))


def test_mirror_url_on_the_internal_network(site, tmp_path):
    pdf = make_pdf("internal file server")
    site.serve("/govqa-mirror/000956981.pdf", pdf, "application/pdf")
    manifest = write_manifest(tmp_path, entry("soumu-cases", site.base_url + "/main_content/000956981.pdf"))

    [result] = fetch(manifest, tmp_path, mirror=site.base_url + "/govqa-mirror/")

    assert result.status == "ok" and "via" in result.message
    assert site.hits == Counter({"/govqa-mirror/000956981.pdf": 1})
    assert (tmp_path / "raw" / "000956981.pdf").read_bytes() == pdf


# --- the manifest --------------------------------------------------------------------------------

GOOD = entry("doc", "https://example.org/doc.pdf")


@pytest.mark.parametrize("text, reason", [
    ("[[source]\nid = 1", "not valid TOML"),
    ("title = 'no sources'", "no [[source]] tables"),
    (GOOD.replace('publisher = "総務省"\n', ""), "missing field 'publisher'"),
    (GOOD.replace("year = 2024", 'year = "2024"'), "field 'year' must be int"),
    (GOOD.replace('lang = "ja"', 'lang = "jp"'), "lang 'jp' must be one of ja, en"),
    (GOOD.replace('kind = "pdf"', 'kind = "docx"'), "kind 'docx' must be one of pdf, html"),
    (GOOD.replace("footnotes = [1]", 'footnotes = ["9"]'), "footnotes must be positive integers"),
    (GOOD.replace('id = "doc"', 'id = "Soumu Cases"'), "must be a lowercase slug"),
    (GOOD.replace("https://example.org", "ftp://example.org"), "must be an http(s) URL"),
    (GOOD + 'locators = { 7 = "page 5" }\n', "locator 7"),
    (GOOD + 'titel = "typo"\n', "unknown field 'titel'"),
    (GOOD + "\n" + GOOD, "duplicate id 'doc'"),
    (GOOD + "\n" + entry("other", "https://example.net/files/doc.pdf"), "duplicate local file name 'doc.pdf'"),
])
def test_manifest_problems_are_one_line_errors(tmp_path, text, reason):
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ManifestError) as info:
        load_manifest(path)

    assert reason in str(info.value)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_a_missing_manifest_says_how_to_point_at_one(tmp_path):
    with pytest.raises(ManifestError, match="manifest not found; pass --manifest"):
        load_manifest(tmp_path / "nope.toml")


def test_the_real_manifest_covers_every_cited_footnote():
    sources = load_manifest(REPO / "corpus" / "sources.toml")

    cited = sources_by_footnote(sources)
    assert set(range(2, 12)) <= set(cited)  # footnote 1 is the author's own note on RPA
    article = next(s for s in sources if not s.footnotes)
    assert article.url == "https://the-wn-and-only.com/policies/ai-usage-gov-japan" and article.kind == "html"
    soumu = source_for_file(sources, Path("corpus/raw/000956981.pdf"))
    assert isinstance(soumu, Source)
    assert soumu.filename == "000956981.pdf" and soumu.footnotes == (9, 10, 11)
    assert soumu.locators == {10: "page 5", 11: "chapter 1"}
    assert [s.id for s in cited[3]] == ["broeckaert-dx-japan-2022", "ipa-dx-trend-2025", "cna-japan-digital-lag-2025"]
    assert all(s.lang in ("ja", "en") and s.kind in ("pdf", "html") for s in sources)


def test_source_for_file_matches_by_name_or_id(tmp_path):
    sources = load_manifest(write_manifest(tmp_path, entry("soumu-cases", "https://example.org/000956981.pdf"),
                                           entry("da-news", "https://example.org/news/1", kind="html")))

    assert source_for_file(sources, Path("raw/000956981.pdf")).id == "soumu-cases"
    assert source_for_file(sources, Path("raw/soumu-cases.pdf")).id == "soumu-cases"
    assert source_for_file(sources, Path("raw/da-news.html")).id == "da-news"
    assert source_for_file(sources, Path("raw/unrelated.pdf")) is None


# --- the command line ----------------------------------------------------------------------------

def govqa(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "govqa.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_fetch_from_a_mirror_folder(tmp_path):
    mirror = tmp_path / "usb"
    mirror.mkdir()
    (mirror / "000956981.pdf").write_bytes(make_pdf("cases"))
    (mirror / "da-news.html").write_text(PAGE, encoding="utf-8")
    manifest = write_manifest(tmp_path, entry("soumu-cases", "https://www.soumu.go.jp/main_content/000956981.pdf"),
                              entry("da-news", "https://www.digital.go.jp/news/1", kind="html"))
    args = ("fetch", "--manifest", str(manifest), "--dest", str(tmp_path / "raw"), "--from", str(mirror))

    first, second = govqa(*args), govqa(*args)

    assert first.returncode == 0, first.stderr
    lines = first.stderr.splitlines()
    assert [line.split()[:2] for line in lines if ": " in line and line.split()[0] in ("ok", "failed")] == \
        [["ok", "soumu-cases:"], ["ok", "da-news:"]]
    assert (tmp_path / "sources.lock").exists()  # beside the manifest
    assert second.returncode == 0
    assert sum(line.split()[0] == "cached" for line in second.stderr.splitlines() if line.strip()) == 2


def test_cli_fetch_failure_is_one_line_and_non_zero(tmp_path):
    mirror = tmp_path / "usb"
    mirror.mkdir()
    (mirror / "000956981.pdf").write_bytes(make_pdf("cases"))
    manifest = write_manifest(tmp_path, entry("soumu-cases", "https://www.soumu.go.jp/main_content/000956981.pdf"),
                              entry("ipa-dx", "https://www.ipa.go.jp/dx-trend-2025.pdf"))

    result = govqa("fetch", "--manifest", str(manifest), "--dest", str(tmp_path / "raw"), "--from", str(mirror))

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "ipa-dx" in errors[0]
    assert any(line.split()[:2] == ["failed", "ipa-dx:"] for line in result.stderr.splitlines())


def test_cli_bad_manifest_is_one_line_and_non_zero(tmp_path):
    manifest = tmp_path / "sources.toml"
    manifest.write_text("[[source]\n", encoding="utf-8")

    result = govqa("fetch", "--manifest", str(manifest), "--dest", str(tmp_path / "raw"))

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error:") and "not valid TOML" in result.stderr
