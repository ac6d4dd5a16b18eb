"""A build killed with SIGKILL at any step never loses the index; a generation in use is never deleted.

The full 50-trial run is bench/kill_builds.py; here nine kills are spread over one build.
"""

from __future__ import annotations

import gc
import shutil
import threading
from pathlib import Path

import pytest
from apiserver import write_pdf
from killpoint import count_steps, run_cli

from govqa.build import build_index
from govqa.config import Settings
from govqa.engine import Engine
from govqa.store import IndexReader, current_generation

QUERIES = ["登録申請の手数料はいくらですか", "How often must a library card be renewed?", "When is glass collected?"]
# (where, fraction): four kills spread over the whole build, five inside the index writer.
TRIALS = [("build", n / 5) for n in range(1, 5)] + [("writer", n / 6) for n in range(1, 6)]


def make_corpus(folder: Path) -> list[Path]:
    folder.mkdir()
    (folder / "fees.txt").write_text("原薬等登録原簿の登録申請には手数料が必要です。手数料の額は政令で定められています。",
                                     encoding="utf-8")
    library = write_pdf(folder / "library.pdf", [
        "Library cards are free for residents and must be renewed every three years at any branch counter.",
        "The central library opens at 9:00 and closes at 20:00 on weekdays."])
    return [folder / "fees.txt", library]


def settings(index_dir: Path) -> Settings:
    return Settings(index_dir=index_dir, manifest=index_dir.parent / "no-manifest.toml", parse_timeout=0,
                    parse_memory_mb=0)


def answers(index_dir: Path, embedder) -> list[list[dict]]:
    engine = Engine(IndexReader.open(index_dir), embedder, settings(index_dir))
    return [[hit.to_dict() for hit in engine.search(query, k=3)] for query in QUERIES]


@pytest.fixture(scope="module")
def builds(tmp_path_factory, embedder):
    """A baseline index, the CLI build that adds a document to it, and how many steps that build has."""
    root = tmp_path_factory.mktemp("durable")
    corpus = root / "corpus"
    first_files = make_corpus(corpus)
    baseline = root / "baseline"
    build_index(first_files, settings(baseline))
    write_pdf(corpus / "recycling.pdf", ["Glass bottles are collected on the first and third Friday of each month."])
    args = lambda index_dir: ["index", str(corpus), "--index-dir", str(index_dir)]
    complete = root / "complete"
    shutil.copytree(baseline, complete)
    steps = count_steps(args(complete), cwd=root)
    return {"root": root, "baseline": baseline, "args": args, "steps": steps, "corpus": corpus,
            "before": answers(baseline, embedder), "after": answers(complete, embedder)}


def test_the_build_under_test_changes_the_answers(builds):
    assert builds["before"] != builds["after"]
    assert builds["steps"]["build"] > 100 and builds["steps"]["writer"] > 100


@pytest.mark.parametrize(("where", "fraction"), TRIALS, ids=[f"{w}-{f:.2f}" for w, f in TRIALS])
def test_a_build_killed_at_any_step_leaves_a_loadable_index_answering_as_before(builds, embedder, where, fraction):
    step = max(1, int(builds["steps"][where] * fraction))
    index_dir = builds["root"] / f"trial-{where}-{step}"
    shutil.copytree(builds["baseline"], index_dir)
    old = current_generation(index_dir)

    result = run_cli(f"{where}:{step}", builds["args"](index_dir), cwd=builds["root"])

    assert result.returncode == -9, result.stderr[-2000:]
    live = answers(index_dir, embedder)
    if current_generation(index_dir) == old:
        assert live == builds["before"]
    else:  # killed after the switch, while cleaning up: the new index is complete
        assert live == builds["after"]
    if where == "build" and fraction < 0.8:
        return  # killed before the writer: only the caches were touched (one such trial goes on below)
    # The next build is not blocked by the killed one and tidies what it left.
    report = build_index([builds["corpus"]], settings(index_dir))
    assert report.documents == 3
    assert answers(index_dir, embedder) == builds["after"]
    assert not [p.name for p in index_dir.iterdir() if p.name.startswith(".tmp-")]


def search_in_a_new_thread(engine: Engine, query: str) -> list:
    found: list = []
    thread = threading.Thread(target=lambda: found.extend(engine.search(query, k=1)))
    thread.start()
    thread.join()
    return found


def test_a_generation_in_use_is_kept_until_its_reader_is_gone(tmp_path, embedder):
    files = make_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    build_index(files[:1], settings(index_dir))
    engine = Engine(IndexReader.open(index_dir), embedder, settings(index_dir))
    held = engine.reader.path
    for _ in range(3):  # each build keeps the current and the previous generation, and any still read
        build_index(files, settings(index_dir))
    assert held.is_dir()

    assert search_in_a_new_thread(engine, "手数料")[0].doc_id == "fees"  # a new SQLite connection opens

    del engine
    gc.collect()
    build_index(files, settings(index_dir))
    assert not held.exists()
    assert len([p for p in index_dir.iterdir() if p.name.startswith("gen-")]) == 2
