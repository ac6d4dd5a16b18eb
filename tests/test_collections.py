"""Collections: every document in one, searches filtered before ranking, renames without re-indexing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from govqa import catalog
from govqa.access import Access, acting_as
from govqa.build import build_index
from govqa.config import Settings
from govqa.engine import Engine
from govqa.errors import GovqaError, NotFound
from govqa.store import RowFilter, SearchOnCallingThread, current_generation, vector_index
from govqa.tokens import TokenStore

ZAISEI = {f"zaisei-{i}.txt": f"財政課の内部資料その{i}。ゼブラ計画の予備費は{i}億円とし、年度末に精算する。" for i in range(6)}
KOHO = {f"koho-{i}.txt": f"広報課のお知らせ{i}。ゼブラ計画の市民説明会を{i}月に開きます。" for i in range(6)}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("collections")
    for folder, files in (("zaisei", ZAISEI), ("koho", KOHO)):
        (root / folder).mkdir()
        for name, text in files.items():
            (root / folder / name).write_text(text, encoding="utf-8")
    index_dir = root / "index"
    settings = Settings(index_dir=index_dir, manifest=root / "none.toml")
    build_index([root / "koho"], settings)  # no --collection: the default one
    build_index([root / "zaisei"], settings, collection="zaisei")
    return index_dir


@pytest.fixture(scope="module")
def engine(index_dir):
    return Engine.open(Settings(index_dir=index_dir))


def test_files_go_to_the_collection_named_and_others_to_default(engine):
    by_collection = {}
    for doc in engine.documents():
        by_collection.setdefault(doc.collection, set()).add(doc.doc_id)
    assert by_collection == {"default": {f"koho-{i}" for i in range(6)}, "zaisei": {f"zaisei-{i}" for i in range(6)}}


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_a_filtered_search_returns_k_hits_when_k_exist(engine, mode):
    # The question matches both collections' passages; each side still gets all six of its own.
    for name, prefix in (("zaisei", "zaisei-"), ("default", "koho-")):
        hits = engine.search("ゼブラ計画", k=6, mode=mode, collections=[name])
        assert len(hits) == 6, (mode, name, [h.doc_id for h in hits])
        assert all(h.doc_id.startswith(prefix) for h in hits)
    assert {h.doc_id.split("-")[0] for h in engine.search("ゼブラ計画", k=12, mode=mode)} == {"zaisei", "koho"}


def test_an_unknown_collection_and_a_hidden_one_answer_alike(engine):
    reader = Access(role="reader", collections=frozenset({"default"}))
    with pytest.raises(NotFound) as hidden:
        engine.search("予備費", collections=["zaisei"], access=reader)
    with pytest.raises(NotFound) as unknown:
        engine.search("予備費", collections=["no-such"], access=reader)
    assert str(hidden.value).replace("zaisei", "X") == str(unknown.value).replace("no-such", "X")


def test_a_reader_sees_only_its_collections_through_every_lookup(engine):
    reader = Access(role="reader", collections=frozenset({"default"}))
    with acting_as(reader):
        assert all(h.doc_id.startswith("koho-") for h in engine.search("予備費 億円 精算", k=10))
        assert {d.collection for d in engine.documents()} == {"default"}
        with pytest.raises(NotFound):
            engine.document("zaisei-1")
        with pytest.raises(NotFound):
            engine.page_text("zaisei-1", 1)
        with pytest.raises(NotFound):
            engine.file_path("zaisei-1")
        assert not engine.has_document("zaisei-1")
        health = engine.health()
        assert health["documents"] == 6 and 0 < health["chunks"] < engine.reader.size
    assert engine.document("zaisei-1").collection == "zaisei"  # outside the request: everything (the CLI)


def test_exact_and_ivf_vector_search_filter_before_ranking():
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(4000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    mask = np.zeros(len(vectors), dtype=bool)
    mask[rng.choice(len(vectors), size=7, replace=False)] = True
    query = vectors[0:1]
    expected = set(np.flatnonzero(mask)[np.argsort(-(vectors[mask] @ query[0]))][:5].tolist())
    import faiss

    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(16), 16, 40, faiss.METRIC_INNER_PRODUCT)
    ivf.train(vectors)
    ivf.add(vectors)
    ivf.nprobe = 1  # the seven allowed rows lie in other lists: the search must still find them
    for index in (vector_index(vectors, 16), ivf):
        _, rows = SearchOnCallingThread(index).search(query, 5, RowFilter(mask))
        assert set(rows[0].tolist()) == expected
        _, rows = SearchOnCallingThread(index).search(query, 50, RowFilter(mask))
        assert sorted(r for r in rows[0].tolist() if r >= 0) == sorted(np.flatnonzero(mask).tolist())


def test_an_index_written_before_collections_reads_as_default(index_dir, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(index_dir, old)
    manifest = current_generation(old) / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    for doc in data["documents"]:
        doc.pop("collection")
    manifest.write_text(json.dumps(data), encoding="utf-8")
    engine = Engine.open(Settings(index_dir=old))
    assert {d.collection for d in engine.documents()} == {"default"}
    assert len(engine.search("ゼブラ計画", k=12, collections=["default"])) == 12


def test_create_rename_and_delete_follow_documents_and_tokens(index_dir, tmp_path):
    import shutil

    copy = tmp_path / "index"
    shutil.copytree(index_dir, copy)
    catalog.create(copy, "soumu", "総務課")
    with pytest.raises(GovqaError):
        catalog.create(copy, "soumu")
    with pytest.raises(GovqaError):
        catalog.create(copy, "Bad Name")
    store = TokenStore(copy)
    _, token = store.create("reader", ["zaisei", "soumu"], known_collections={c.name for c in catalog.listing(copy)})
    before = current_generation(copy)
    assert catalog.rename(copy, "zaisei", "zaisei2") == 6
    after = current_generation(copy)
    assert after != before
    # nothing re-embedded or re-written: the new generation's vectors are the same file
    assert os.stat(after / "vectors.faiss").st_ino == os.stat(before / "vectors.faiss").st_ino
    engine = Engine.open(Settings(index_dir=copy))
    assert {d.collection for d in engine.documents()} == {"default", "zaisei2"}
    assert store.by_id(token.id).collections == ["soumu", "zaisei2"]
    with pytest.raises(GovqaError):
        catalog.delete(copy, "zaisei2")  # not empty
    catalog.delete(copy, "soumu")
    assert store.by_id(token.id).collections == ["zaisei2"]
    assert [c.name for c in catalog.listing(copy)] == ["default", "zaisei2"]


def test_removing_documents_writes_a_generation_without_them(index_dir, tmp_path):
    import shutil

    copy = tmp_path / "index"
    shutil.copytree(index_dir, copy)
    build_index([], Settings(index_dir=copy), remove=[f"zaisei-{i}" for i in range(6)])
    engine = Engine.open(Settings(index_dir=copy))
    assert {d.collection for d in engine.documents()} == {"default"}
    assert all(h.doc_id.startswith("koho-") for h in engine.search("予備費", k=10))


def test_cli_collections_and_a_bad_name(index_dir, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    listed = subprocess.run([sys.executable, "-m", "govqa.cli", "collections", "--json", "--index-dir", str(index_dir)],
                            capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    assert {c["name"]: c["documents"] for c in json.loads(listed.stdout)["collections"]} == {"default": 6, "zaisei": 6}
    bad = subprocess.run([sys.executable, "-m", "govqa.cli", "index", str(tmp_path), "--collection", "財政",
                          "--index-dir", str(tmp_path / "i")], capture_output=True, text=True, env=env)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "collection name" in bad.stderr


def test_cli_search_and_support_read_only_the_collections_named(index_dir, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    article = tmp_path / "article.txt"
    article.write_text("ゼブラ計画の予備費は年度末に精算する。\n", encoding="utf-8")
    for args in (["search", "ゼブラ計画 予備費", "--json"], ["support", str(article), "--json"]):
        found = subprocess.run([sys.executable, "-m", "govqa.cli", *args, "--collections", "default",
                                "--index-dir", str(index_dir)], capture_output=True, text=True, env=env)
        assert found.returncode == 0, found.stderr
        assert "koho-" in found.stdout and "zaisei-" not in found.stdout
