"""The command line's mistakes, as a new user makes them: one line that says what to type, the right exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def govqa(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "300"}
    env.pop("GOVQA_DEBUG", None)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "govqa.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "unexpected" not in lines[0] and "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("args, expected", [
    (["search", "MF", "-k", "0"], "error: -k/--k must be a whole number from 1 to 100 (got '0')"),
    (["ask", "MF", "--k=500"], "error: -k/--k must be a whole number from 1 to 100 (got '500')"),
    (["serve", "--port", "70000"], "error: --port must be a whole number from 0 to 65535 (got '70000')"),
])
def test_an_out_of_range_value_names_the_option_and_its_range(args, expected):
    result = govqa(*args)
    assert result.returncode == 2
    assert one_error_line(result) == expected


def test_a_value_that_is_not_a_number_names_the_option_too():
    result = govqa("search", "MF", "-k", "ten")
    assert result.returncode == 2
    assert one_error_line(result) == "error: -k/--k must be a whole number from 1 to 100 (got 'ten')"


@pytest.mark.parametrize("typed, meant", [("serch", "search"), ("indx", "index"), ("evaluate", "eval")])
def test_a_typo_in_the_command_suggests_the_closest_one(typed, meant):
    result = govqa(typed, "something")
    assert result.returncode == 2
    line = one_error_line(result)
    assert line.startswith(f"error: no command '{typed}'; did you mean '{meant}'?")
    assert "commands: fetch, index, search, ask, serve" in line


def test_an_unknown_option_points_at_the_commands_help():
    result = govqa("search", "MF", "--top", "3")
    assert result.returncode == 2
    line = one_error_line(result)  # click may add "(Possible options: …)" when one looks alike
    assert line.startswith("error: No such option: --top") and line.endswith("(see govqa search --help)")


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_is_accepted_before_or_after_the_command(tmp_path, where):
    args = ["search", "MF", "--index-dir", str(tmp_path / "none")]
    plain = govqa(*args)
    debug = govqa(*(["--debug", *args] if where == "before" else [*args, "--debug"]))

    assert plain.returncode == 2
    assert "no index" in one_error_line(plain).lower() or str(tmp_path / "none") in plain.stderr
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr and "IndexNotFound" in debug.stderr


@pytest.fixture(scope="module")
def small_index(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    (root / "docs").mkdir()
    (root / "docs" / "notice.txt").write_text("原薬等登録原簿の登録申請に手数料は必要ありません。\n", encoding="utf-8")
    result = govqa("index", str(root / "docs"), "--index-dir", str(root / "index"), cwd=root)
    assert result.returncode == 0, result.stderr
    return root


def generations(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-"))


def test_a_path_that_does_not_exist_fails_the_run_and_writes_nothing(small_index):
    index_dir = small_index / "index"
    before = generations(index_dir), (index_dir / "CURRENT").read_text()

    result = govqa("index", str(small_index / "docs"), str(small_index / "nope"), "--index-dir", str(index_dir),
                   cwd=small_index)

    assert result.returncode == 1
    assert one_error_line(result) == (f"error: {small_index / 'nope'}: no such file or folder; nothing was indexed; "
                                      "pass --skip-missing to index the other paths")
    assert (generations(index_dir), (index_dir / "CURRENT").read_text()) == before


def test_skip_missing_indexes_the_paths_that_exist(small_index):
    index_dir = small_index / "index"
    before = generations(index_dir)

    result = govqa("index", str(small_index / "docs"), str(small_index / "nope"), "--skip-missing",
                   "--index-dir", str(index_dir), cwd=small_index)

    assert result.returncode == 0, result.stderr
    assert f"skip {small_index / 'nope'}: no such file or folder" in result.stderr
    assert len(generations(index_dir)) == len(before) + 1


def test_skip_missing_with_nothing_that_exists_still_fails(small_index):
    result = govqa("index", str(small_index / "nope"), "--skip-missing", "--index-dir", str(small_index / "index"),
                   cwd=small_index)
    assert result.returncode == 1
    assert one_error_line(result) == f"error: {small_index / 'nope'}: no such file or folder; nothing was indexed"


def test_eval_report_without_a_folder_goes_to_the_ignored_govqa_report(small_index):
    questions = small_index / "q.jsonl"
    questions.write_text(json.dumps({"question": "登録申請の手数料は", "relevant": [{"doc_id": "notice", "page": 1}]},
                                    ensure_ascii=False) + "\n", encoding="utf-8")

    result = govqa("eval", str(questions), "--report", "--index-dir", str(small_index / "index"), cwd=small_index)

    assert result.returncode == 0, result.stderr
    assert (small_index / "govqa-report" / "report.md").is_file()
    assert "govqa-report/" in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_support_report_without_a_file_goes_to_the_ignored_govqa_report(small_index):
    article = small_index / "article.txt"
    article.write_text("原薬等登録原簿の登録申請に手数料は必要ない。\n", encoding="utf-8")

    result = govqa("support", str(article), "--report", "--index-dir", str(small_index / "index"), cwd=small_index)

    assert result.returncode == 0, result.stderr
    assert "手数料" in (small_index / "govqa-report" / "support" / "report.md").read_text(encoding="utf-8")
