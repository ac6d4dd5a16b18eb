"""A short atheris run over the PDF parser (the long one: bench/fuzz_parse.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")

HARNESS = Path(__file__).resolve().parents[1] / "bench" / "fuzz_parse.py"


def test_fuzzed_pdfs_give_a_document_or_a_parse_error(tmp_path):
    corpus = tmp_path / "corpus"
    result = subprocess.run(
        [sys.executable, str(HARNESS), "-runs=400", "-max_total_time=120", "-timeout=60", "-rss_limit_mb=4096",
         f"-artifact_prefix={tmp_path}/", "-print_final_stats=1", str(corpus)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    found = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-", "leak-")))
    assert result.returncode == 0 and not found, (found, result.stderr[-4000:])
    assert "Done 400 runs" in result.stderr or "DONE" in result.stderr
