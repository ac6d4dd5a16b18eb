"""The PostgreSQL store (GOVQA_STORE=postgresql://…) ranks exactly as the embedded one, on a real PostgreSQL 18 + pgvector.

The sample corpus goes into both stores from the same build caches; every question of both
evaluation sets must give the same pages in the same order with the same scores.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from pgserver import caches_copy

from govqa import evaluate as ev
from govqa.build import build_index
from govqa.config import Settings
from govqa.engine import Engine
from govqa.errors import GovqaError

ROOT = Path(__file__).resolve().parents[1]
EVAL_SETS = [ROOT / "eval" / "mhlw.jsonl", ROOT / "eval" / "mhlw-guideline.jsonl"]
MODES = ["hybrid", "dense", "lexical", "page-bm25"]
TOLERANCE = 1e-4 + 1e-9  # hits carry scores rounded to 4 decimals: 0.49425 may show as 0.4942 on one side, 0.4943 on the other


def settings(index_dir: Path, store: str | None = None) -> Settings:
    return Settings(index_dir=index_dir, store=store, manifest=index_dir / "no-manifest.toml", memo_vectors=0)


@pytest.fixture(scope="module")
def both_stores(pg, sample_caches, samples_dir, tmp_path_factory):
    """(embedded engine, postgres engine) over the sample corpus, built from the same caches."""
    folder = tmp_path_factory.mktemp("parity")
    url = pg.database()
    embedded = settings(caches_copy(sample_caches, folder / "embedded"))
    shared = settings(caches_copy(sample_caches, folder / "postgres"), url)
    reports = [build_index([samples_dir], chosen) for chosen in (embedded, shared)]
    # The caches held the vectors (all of them when the sample index was built by this version's chunker).
    assert [r.documents for r in reports] == [8, 8] and reports[0].embedded == reports[1].embedded < reports[0].chunks / 10
    return Engine.open(embedded), Engine.open(shared), url


def comparable(hit) -> tuple:
    return hit.doc_id, hit.page, hit.start, hit.end, hit.text


def assert_same_hits(ours: list, theirs: list, where: str) -> None:
    assert [comparable(h) for h in ours] == [comparable(h) for h in theirs], where
    for a, b in zip(ours, theirs):
        assert abs(a.score - b.score) <= TOLERANCE, where
        for field in ("dense_score", "lexical_score"):
            x, y = getattr(a, field), getattr(b, field)
            assert (x is None) == (y is None) and (x is None or abs(x - y) <= TOLERANCE), where


def evaluated(engine: Engine, path: Path) -> tuple[dict, dict]:
    """`govqa eval`'s numbers (latency aside) for the default mode, and the hits of every question."""
    hits = {}

    def search(question: str, depth: int, mode: str):
        hits[question] = engine.search(question, k=depth, mode=mode)
        return hits[question]

    runs = ev.evaluate(search, ev.load_questions(path), ["hybrid"], k=10)
    return _without_latency(ev.to_json(runs)), hits


def _without_latency(data):
    if isinstance(data, dict):
        return {k: _without_latency(v) for k, v in data.items() if not k.startswith("latency")}
    if isinstance(data, list):
        return [_without_latency(v) for v in data]
    return data


@pytest.mark.parametrize("path", EVAL_SETS, ids=lambda p: p.name)
def test_every_question_gets_the_same_hits_and_eval_numbers_from_both_stores(both_stores, path):
    embedded, shared, _ = both_stores
    assert shared.reader.size == embedded.reader.size and shared.reader.generation.startswith("gen-")
    ours, our_hits = evaluated(shared, path)
    theirs, their_hits = evaluated(embedded, path)
    assert ours == theirs and ours["n"] + ours["unanswerable"] == len(their_hits)
    for question, hits in their_hits.items():
        assert_same_hits(our_hits[question], hits, f"{path.name}: {question!r}")


@pytest.mark.parametrize("mode", MODES[1:])
def test_the_other_modes_rank_the_same_on_both_stores(both_stores, mode):
    embedded, shared, _ = both_stores
    questions = [q.question for path in EVAL_SETS for q in ev.load_questions(path)][::4]  # every primitive, a quarter
    for question in questions:
        assert_same_hits(shared.search(question, k=10, mode=mode), embedded.search(question, k=10, mode=mode),
                         f"{question!r} ({mode})")


def test_documents_pages_and_collections_read_the_same(both_stores):
    embedded, shared, _ = both_stores
    assert [d.doc_id for d in shared.documents()] == [d.doc_id for d in embedded.documents()]
    for record in embedded.documents():
        for page in (1, record.pages):
            assert shared.page_text(record.doc_id, page) == embedded.page_text(record.doc_id, page)
    keys = [(record.doc_id, page) for record in embedded.documents() for page in (1, record.pages)]
    batched = embedded.reader.page_texts(keys + [("no-such-document", 1)])
    assert batched == {key: embedded.page_text(*key) for key in keys}  # the missing page is left out
    assert shared.reader.page_texts(keys + [("no-such-document", 1)]) == batched
    spans = [(3, 50), (0, 2**31 - 1), (40, 41), (10**6, 10**6 + 9)] * len(keys)
    part = embedded.reader.page_texts(keys, spans[:len(keys)])
    assert part == {key: batched[key][start:end] for key, (start, end) in zip(keys, spans)}
    assert shared.reader.page_texts(keys, spans[:len(keys)]) == part
    for doc_id, page in keys:  # an answer's first passage is read with its neighbours (answercontext.py)
        ours, theirs = shared.reader.page_chunks(doc_id, page), embedded.reader.page_chunks(doc_id, page)
        assert [(c.start, c.end, c.text, c.boxes) for c in ours] == [(c.start, c.end, c.text, c.boxes) for c in theirs]
        assert theirs and [c.start for c in theirs] == sorted(c.start for c in theirs)
    assert embedded.reader.page_chunks("no-such-document", 1) == shared.reader.page_chunks("no-such-document", 1) == []
    health = shared.health()
    assert health["documents"] == 8 and health["chunks"] == embedded.reader.size


def test_a_search_limited_to_a_collection_returns_only_its_documents(pg, tmp_path):
    url = pg.database()
    for name, text in (("koho", "広報誌の発行は毎月一日です。広報誌は全戸に配布します。"),
                       ("zaisei", "予算の執行状況は毎月公表します。広報の予算も含みます。")):
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
        build_index([folder], settings(tmp_path / "caches", url), collection=name)
    engine = Engine.open(settings(tmp_path / "caches", url))
    assert {h.doc_id for h in engine.search("広報", k=5)} == {"koho", "zaisei"}
    for name in ("koho", "zaisei"):
        for mode in MODES:
            hits = engine.search("広報の予算", k=5, mode=mode, collections=[name])
            assert hits and {h.doc_id for h in hits} == {name}, mode


def govqa(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "govqa.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_an_older_schema_is_refused_until_govqa_db_upgrade(pg, tmp_path):
    from govqa.store.pgschema import SCHEMA_VERSION, connect, upgrade

    url = pg.database()
    with connect(url, vectors=False) as conn:
        assert upgrade(conn, to=SCHEMA_VERSION - 1) == (0, SCHEMA_VERSION - 1)
    (tmp_path / "notice.txt").write_text("The water supply notice: pipes are inspected every spring.", encoding="utf-8")
    refused = govqa("index", str(tmp_path / "notice.txt"), "--store", url, "--index-dir", str(tmp_path / "c"),
                    cwd=tmp_path)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    line = " ".join(refused.stderr.split())
    assert f"schema version {SCHEMA_VERSION - 1}" in line and "govqa db upgrade --store URL" in line
    upgraded = govqa("db", "upgrade", "--store", url, cwd=tmp_path)
    assert upgraded.returncode == 0 and f"to {SCHEMA_VERSION}" in upgraded.stderr
    built = govqa("index", str(tmp_path / "notice.txt"), "--store", url, "--index-dir", str(tmp_path / "c"),
                  cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    found = govqa("search", "When are pipes inspected?", "--store", url, "--json", cwd=tmp_path)
    assert found.returncode == 0 and '"doc_id": "notice"' in found.stdout


def test_user_errors_are_one_line_naming_the_option(pg, tmp_path):
    empty = pg.database()
    cases = {
        "postgresql://nobody@127.0.0.1:1/none": "--store",  # nothing listens there
        "mysql://localhost/db": "postgresql://",
        empty: "govqa index PATH --store URL",  # a database without an index
    }
    for url, named in cases.items():
        result = govqa("search", "anything", "--store", url, cwd=tmp_path)
        message = result.stderr.strip()
        assert result.returncode != 0 and "Traceback" not in message, message
        assert named in " ".join(message.split()), message
    with pytest.raises(GovqaError, match="--store"):
        Engine.open(settings(tmp_path, "postgresql://nobody@127.0.0.1:1/none"))


def test_tokens_and_uploads_on_a_server_of_the_shared_store_work_as_on_a_folder(pg, tmp_path):
    from apiserver import LiveServer, write_pdf

    from api.app import create_app
    from govqa.tokens import TokenStore

    url = pg.database()
    for name, text in (("koho", "広報誌の予算は毎年度見直します。"), ("zaisei", "財政課の予算資料は非公開の段階があります。")):
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
        build_index([folder], settings(tmp_path / "builder", url), collection=name)
    server_dir = tmp_path / "server"  # the server's own folder: its tokens; the index is in the database
    server_dir.mkdir()
    token, _ = TokenStore(server_dir).create("reader", ["koho"], known_collections={"koho", "zaisei"})
    editor, _ = TokenStore(server_dir).create("editor", ["koho"], known_collections={"koho", "zaisei"})
    server = LiveServer(create_app(Settings(index_dir=server_dir, store=url))).start()
    try:
        import httpx

        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            hits = client.post("/search", json={"query": "予算", "k": 5}).json()["hits"]
            assert [h["doc_id"] for h in hits] == ["koho"]
            assert [d["doc_id"] for d in client.get("/documents").json()] == ["koho"]
            assert client.get("/documents/koho/pages/1").status_code == 200
            hidden = client.get("/documents/zaisei/pages/1")
            assert hidden.status_code == 404 and "zaisei" in hidden.json()["detail"]
            assert client.post("/search", json={"query": "予算", "collections": ["zaisei"]}).status_code == 404
        assert httpx.post(f"{server.url}/search", json={"query": "予算"}, timeout=60).status_code == 401
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {editor}"}, timeout=60) as client:
            pdf = write_pdf(tmp_path / "kiosk.pdf", ["The Quokka kiosk budget for 2026 is 48 million yen."])
            job = client.post("/documents", files={"file": ("kiosk.pdf", pdf.read_bytes(), "application/pdf")},
                              data={"collection": "koho"}).json()
            while job["status"] not in ("done", "failed"):
                time.sleep(0.2)
                job = client.get(f"/jobs/{job['id']}").json()
            assert job["status"] == "done" and job["doc_id"] == "kiosk", job
            assert client.post("/search", json={"query": "Quokka kiosk", "k": 1}).json()["hits"][0]["doc_id"] == "kiosk"
            listed = {c["name"]: c["documents"] for c in client.get("/collections").json()["collections"]}
            assert listed == {"koho": 2}
    finally:
        server.stop()


def test_db_upgrade_moves_the_vectors_of_an_older_generation_out_of_its_chunks(pg):
    from govqa.store.pgschema import connect, upgrade

    url = pg.database()
    with connect(url, vectors=False) as conn:
        upgrade(conn, to=2)  # the layout of schema 2: vectors beside the text
        conn.execute("INSERT INTO govqa_generations (name, manifest, exact) VALUES ('gen-000001', '{}', false)")
        conn.execute("CREATE TABLE govqa_g1_chunks (row int PRIMARY KEY, text text, embedding vector(3))")
        conn.execute("INSERT INTO govqa_g1_chunks VALUES (0, 'a', '[1,0,0]'), (1, 'b', '[0,1,0]')")
        assert upgrade(conn) == (2, 3)
        assert conn.execute("SELECT row, embedding::text FROM govqa_g1_vectors ORDER BY row").fetchall() == \
            [(0, "[1,0,0]"), (1, "[0,1,0]")]
        columns = {c for (c,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'govqa_g1_chunks'")}
        assert columns == {"row", "text"}
        indexes = " ".join(d for (d,) in conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'govqa_g1_vectors'"))
        assert "hnsw" in indexes


def test_above_the_exact_limit_searches_go_through_an_hnsw_index(pg, tmp_path, monkeypatch):
    from govqa.store import pgwrite
    from govqa.store.pgschema import connect

    monkeypatch.setattr(pgwrite, "PG_EXACT_MAX", 1)
    url = pg.database()
    texts = {"koho": ["広報誌は毎月一日に発行します。", "広報誌の配布は自治会に頼みます。"],
             "zaisei": ["予算の執行状況は毎月公表します。", "決算の審査は九月に行います。"]}
    for name, lines in texts.items():
        folder = tmp_path / name
        folder.mkdir()
        for i, line in enumerate(lines):
            (folder / f"{name}-{i}.txt").write_text(line, encoding="utf-8")
        build_index([folder], settings(tmp_path / "caches", url), collection=name)
    with connect(url, vectors=False) as conn:
        plan = " ".join(r for (r,) in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename LIKE 'govqa_g%vectors'"))
        assert "hnsw" in plan and conn.execute("SELECT bool_or(exact) FROM govqa_generations").fetchone()[0] is False
    engine = Engine.open(settings(tmp_path / "caches", url))
    assert not engine.reader.vectors.exact
    assert engine.search("決算の審査はいつですか", k=1, mode="dense")[0].doc_id == "zaisei-1"
    hits = engine.search("決算の審査はいつですか", k=4, mode="dense", collections=["koho"])
    assert sorted(h.doc_id for h in hits) == ["koho-0", "koho-1"]  # filtered inside the index scan, none lost
