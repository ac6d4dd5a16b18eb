"""Uploads through the API on a live server: a job to follow, searchable when done, bad files refused with nothing indexed."""

from __future__ import annotations

import io
import json
import time
import zipfile

import httpx
import pytest
from apiserver import LiveServer, write_pdf

from govqa.build import build_index
from govqa.config import Settings
from govqa.intake import accepted_suffixes
from govqa.store import current_generation
from govqa.tokens import TokenStore

LIMIT_MB = 0.3
WAIT_S = 600  # a safeguard against a hung job, not a timing assertion


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("upload")
    (root / "docs").mkdir()
    write_pdf(root / "docs" / "zenchou-guide.pdf", ["Staff guide for all sections. Leave requests go to personnel."])
    index_dir = root / "index"
    build_index([root / "docs"], Settings(index_dir=index_dir, manifest=root / "none.toml"), collection="zenchou")
    return index_dir


@pytest.fixture(scope="module")
def tokens(index_dir):
    store = TokenStore(index_dir)
    known = {"zenchou", "zaisei"}
    from govqa import catalog

    catalog.create(index_dir, "zaisei", "財政課")
    return {name: store.create(role, cols, label=name, known_collections=known)[0] for name, role, cols in (
        ("editor_zaisei", "editor", ["zaisei"]), ("reader_zaisei", "reader", ["zaisei"]),
        ("editor_zenchou", "editor", ["zenchou"]))}


@pytest.fixture(scope="module")
def server(index_dir, tokens):
    from api.app import create_app

    live = LiveServer(create_app(Settings(index_dir=index_dir, upload_max_mb=LIMIT_MB))).start()
    try:
        yield live.url
    finally:
        live.stop()


def http_for(url, token):
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=300)


def pdf_bytes(tmp_path, name: str, pages: list[str]) -> bytes:
    return write_pdf(tmp_path / name, pages).read_bytes()


def upload(http, name: str, data: bytes, collection: str = "zaisei", content_type: str = "application/pdf"):
    return http.post("/documents", files={"file": (name, data, content_type)}, data={"collection": collection})


def follow(http, job: dict) -> dict:
    give_up = time.monotonic() + WAIT_S
    stages = set()
    while job["status"] not in ("done", "failed") and time.monotonic() < give_up:
        time.sleep(0.2)
        job = http.get(f"/jobs/{job['id']}").json()
        stages.add(job["stage"])
    job["seen_stages"] = stages
    return job


def test_an_uploaded_pdf_is_searchable_when_its_job_is_done(server, tokens, tmp_path, index_dir):
    data = pdf_bytes(tmp_path, "kiosk-budget.pdf", [
        "The Quokka kiosk budget for fiscal 2026 is 48 million yen, approved by the finance section."])
    with http_for(server, tokens["editor_zaisei"]) as http:
        accepted = upload(http, "kiosk-budget.pdf", data)
        assert accepted.status_code == 202, accepted.text
        job = accepted.json()
        assert job["status"] in ("queued", "running") and job["collection"] == "zaisei"
        assert http.get("/health").status_code == 200  # the server answers while the job runs
        job = follow(http, job)
        assert job["status"] == "done", job
        assert job["doc_id"] == "kiosk-budget"
        hit = http.post("/search", json={"query": "Quokka kiosk budget", "k": 1}).json()["hits"][0]
        assert hit["doc_id"] == "kiosk-budget" and hit["collection"] == "zaisei"
        assert http.get(hit["file_url"].split("#")[0]).content == data
        # the same file again: a duplicate, named, and nothing indexed
        again = upload(http, "kiosk-budget-copy.pdf", data)
        assert again.status_code == 409 and "kiosk-budget" in again.json()["detail"]
    with http_for(server, tokens["editor_zenchou"]) as other:
        hits = other.post("/search", json={"query": "Quokka kiosk budget", "k": 10}).json()["hits"]
        assert all(h["doc_id"] != "kiosk-budget" for h in hits)
        assert other.get(f"/jobs/{job['id']}").status_code == 404
        assert other.delete("/documents/kiosk-budget").status_code == 404
        # the same bytes in another department's collection are that department's own copy
        theirs = follow(other, upload(other, "kiosk-budget.pdf", data, collection="zenchou").json())
        assert theirs["status"] == "done" and theirs["doc_id"] != "kiosk-budget"
    log = [json.loads(line) for line in (index_dir / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    assert any(e["event"] == "document.upload" and e["filename"] == "kiosk-budget.pdf" and e["who"].startswith("token:")
               for e in log)


def test_replace_then_delete(server, tokens, tmp_path):
    with http_for(server, tokens["editor_zaisei"]) as http:
        first = follow(http, upload(http, "wombat-notice.pdf", pdf_bytes(tmp_path, "a.pdf", [
            "Wombat parking notice: the east car park closes on Fridays."])).json())
        assert first["status"] == "done"
        replaced = http.put(f"/documents/{first['doc_id']}", files={"file": ("wombat-notice.pdf", pdf_bytes(
            tmp_path, "b.pdf", ["Wombat parking notice, revised: the east car park closes on Mondays."]), "application/pdf")})
        assert replaced.status_code == 202, replaced.text
        assert follow(http, replaced.json())["status"] == "done"
        text = http.get(f"/documents/{first['doc_id']}/pages/1").json()["text"]
        assert "Mondays" in text and "Fridays" not in text
        deleted = http.delete(f"/documents/{first['doc_id']}")
        assert deleted.status_code == 202
        assert follow(http, deleted.json())["status"] == "done"
        assert http.get(f"/documents/{first['doc_id']}/pages/1").status_code == 404
        assert all(h["doc_id"] != first["doc_id"] for h in
                   http.post("/search", json={"query": "Wombat parking notice", "k": 10}).json()["hits"])


def encrypted_pdf(tmp_path) -> bytes:
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Locked memo")
    path = tmp_path / "locked.pdf"
    doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")
    return path.read_bytes()


def zip_bomb_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document>" + "A" * 50_000_000 + "</w:document>")
    return buffer.getvalue()


BAD = [
    ("a PNG named .pdf", "scan.pdf", lambda tmp: b"\x89PNG\r\n\x1a\n" + b"\0" * 500, 415, "not a PDF"),
    ("a PDF named .txt", "memo.txt", lambda tmp: b"%PDF-1.7\n" + b"x" * 100, 415, "PDF"),
    ("an encrypted PDF", "locked.pdf", encrypted_pdf, 422, "encrypted"),
    ("a zip bomb named .docx", "report.docx", lambda tmp: zip_bomb_docx(),
     *((422, "zip bomb") if ".docx" in accepted_suffixes() else (415, "cannot be indexed"))),
    ("a folder in the name", "../../etc/cron.pdf", lambda tmp: b"%PDF-1.4", 422, "folder"),
    ("a control character in the name", "memo\x1b[31m.txt", lambda tmp: b"hello", 422, "control"),
    ("a right-to-left override in the name", "memo\u202etxt.pdf", lambda tmp: b"%PDF-1.4", 422, "control"),
    ("an unsupported type", "run.exe", lambda tmp: b"MZ" + b"\0" * 100, 415, "cannot be indexed"),
    ("an empty file", "empty.txt", lambda tmp: b"", 422, "empty"),
    ("a damaged PDF", "broken.pdf", lambda tmp: b"%PDF-1.4\nnot really", 422, "damaged"),
    ("over the size limit", "big.txt", lambda tmp: b"a" * int(LIMIT_MB * 1_000_000 * 1.5), 413, "limit"),
]


@pytest.mark.parametrize(("what", "name", "make", "status", "words"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_upload_gets_a_clear_4xx_and_nothing_is_indexed(server, tokens, index_dir, tmp_path,
                                                              what, name, make, status, words):
    before = current_generation(index_dir)
    with http_for(server, tokens["editor_zaisei"]) as http:
        refused = upload(http, name, make(tmp_path))
    assert 400 <= refused.status_code < 500, refused.text
    if status is not None:
        assert refused.status_code == status and words in refused.json()["detail"], refused.text
    assert current_generation(index_dir) == before
    assert not list((index_dir / "uploads" / ".incoming").glob("*"))


def test_an_upload_streamed_without_a_length_is_counted_as_it_arrives(server, tokens):
    boundary = "xyz123"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.txt\"\r\n"
            "Content-Type: text/plain\r\n\r\n").encode()

    def body():
        yield head
        for _ in range(40):
            yield b"a" * 100_000
        yield f"\r\n--{boundary}--\r\n".encode()

    with http_for(server, tokens["editor_zaisei"]) as http:
        refused = http.post("/documents", content=body(),
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert refused.status_code == 413


def test_a_reader_or_an_unknown_collection_cannot_receive_uploads(server, tokens, tmp_path):
    data = pdf_bytes(tmp_path, "x.pdf", ["Nothing to see."])
    with http_for(server, tokens["reader_zaisei"]) as http:
        assert upload(http, "x.pdf", data).status_code == 404
    with http_for(server, tokens["editor_zaisei"]) as http:
        hidden = upload(http, "x.pdf", data, collection="zenchou")
        missing = upload(http, "x.pdf", data, collection="no-such")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace("zenchou", "X") == missing.json()["detail"].replace("no-such", "X")


def test_a_job_left_by_a_server_that_died_is_reported_failed(server, tokens, index_dir):
    from govqa.jobs import Job

    (index_dir / "jobs").mkdir(exist_ok=True)
    job = Job(id="deadbeef00000000", kind="upload", collection="zaisei", who="token:x", status="running", pid=2 ** 22 + 7)
    (index_dir / "jobs" / f"{job.id}.json").write_text(json.dumps(job.__dict__), encoding="utf-8")
    with http_for(server, tokens["editor_zaisei"]) as http:
        seen = http.get(f"/jobs/{job.id}").json()
    assert seen["status"] == "failed" and "upload the file again" in seen["message"]


def test_progress_streams_as_server_sent_events(server, tokens, tmp_path):
    with http_for(server, tokens["editor_zaisei"]) as http:
        job = upload(http, "koala.pdf", pdf_bytes(tmp_path, "koala.pdf", ["Koala grant rules for 2026."])).json()
        events = []
        with http.stream("GET", f"/jobs/{job['id']}/events") as stream:
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    events.append(line[7:])
    assert events[-1] == "done" and set(events[:-1]) <= {"progress"}


def test_two_uploads_at_once_are_queued_and_both_indexed(server, tokens, tmp_path):
    with http_for(server, tokens["editor_zaisei"]) as http:
        jobs = [upload(http, f"{name}.pdf", pdf_bytes(tmp_path, f"{name}.pdf", [text])).json() for name, text in (
            ("numbat-rules", "Numbat grant rules: applications close on 30 June."),
            ("bilby-rules", "Bilby grant rules: applications close on 31 July."))]
        finished = [follow(http, job) for job in jobs]
        assert [job["status"] for job in finished] == ["done", "done"]
        for name, words in (("numbat-rules", "Numbat grant applications"), ("bilby-rules", "Bilby grant applications")):
            assert http.post("/search", json={"query": words, "k": 1}).json()["hits"][0]["doc_id"] == name


def test_questions_are_logged_only_when_the_setting_is_on(index_dir, tokens, tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app

    for on in (False, True):
        log = tmp_path / f"audit-{on}.jsonl"
        with TestClient(create_app(Settings(index_dir=index_dir, audit_log=log, log_questions=on)),
                        base_url="http://localhost") as http:
            answer = http.post("/search", json={"query": "leave requests"},
                               headers={"Authorization": f"Bearer {tokens['editor_zenchou']}"})
            assert answer.status_code == 200
        lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
        asked = [e for e in lines if e["event"] == "question.search"]
        if on:
            assert asked[0]["text"] == "leave requests" and asked[0]["who"].startswith("token:")
        else:
            assert asked == []


def test_an_open_server_takes_uploads_only_from_its_own_machine(index_dir, tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app

    open_index = tmp_path / "open"
    import shutil

    shutil.copytree(index_dir, open_index)
    (open_index / "tokens.json").unlink()
    with TestClient(create_app(Settings(index_dir=open_index)), base_url="http://localhost") as http:  # client "testclient"
        refused = upload(http, "x.txt", b"hello", collection="zenchou", content_type="text/plain")
        assert refused.status_code == 401 and "token" in refused.json()["detail"]
        assert http.delete("/documents/zenchou-guide").status_code == 401
        assert http.post("/search", json={"query": "leave"}).status_code == 200  # reading stays open
