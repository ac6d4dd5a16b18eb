"""A short atheris run over the PDF parser (the long one: bench/fuzz_parse.py)."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")

HARNESS = Path(__file__).resolve().parents[1] / "bench" / "fuzz_parse.py"


def rss_limit_mb(budget_mb: int = 4096) -> int:
    """libFuzzer's memory limit for a harness started from this process.

    libFuzzer reads its peak memory with getrusage(RUSAGE_SELF), and Linux carries a process's
    peak over fork and exec: a harness started late in a long test session "starts" at pytest's
    own peak (4.5-5 GB seen) and was reported out of memory on inputs that use 180 MB alone.
    """
    inherited = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return inherited + budget_mb


def test_fuzzed_pdfs_give_a_document_or_a_parse_error(tmp_path):
    corpus = tmp_path / "corpus"
    result = subprocess.run(
        [sys.executable, str(HARNESS), "-runs=400", "-max_total_time=120", "-timeout=60",
         f"-rss_limit_mb={rss_limit_mb()}",
         f"-artifact_prefix={tmp_path}/", "-print_final_stats=1", str(corpus)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    found = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-", "leak-")))
    assert result.returncode == 0 and not found, (found, result.stderr[-4000:])
    assert "Done 400 runs" in result.stderr or "DONE" in result.stderr
