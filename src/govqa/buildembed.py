"""Chunks -> vectors: what the embedder sees of a passage, embedded in batches, cached by text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Callable

import numpy as np

from .embed import Embedder, EmbeddingCache
from .models import Chunk

EMBED_BATCH = 64  # bench/bench_build.py: larger batches beat 32 by ~5-10%; the C engine packs tokens, no padding

Progress = Callable[[str, int, int], None]


def embed_text(chunk: Chunk) -> str:
    """What the embedder sees: the passage alone.

    Prefixing the heading in force (or the title) lowered dense MRR on both Japanese sets and
    for English questions (docs/retrieval.md); headings carried over from earlier pages and
    list items taken for headings likely pull a passage towards another topic.
    """
    return chunk.text


def embed_all(chunks: list[Chunk], embedder: Embedder, cache: EmbeddingCache, progress: Progress,
              embedded_ahead: set[str] = frozenset()) -> tuple[np.ndarray, int, int]:
    """One vector per chunk, from the cache where it has one; with how many were embedded and how many reused.

    `embedded_ahead`: cache keys this build embedded while it parsed, counted as embedded.
    """
    texts = [embed_text(c) for c in chunks]
    known = cache.get_many(embedder.id, texts)
    missing = list(dict.fromkeys(t for t in texts if cache.key(t) not in known))
    for start in range(0, len(missing), EMBED_BATCH):
        progress("embedding", start, len(missing))
        batch = missing[start:start + EMBED_BATCH]
        vectors = embedder.embed_passages(batch)
        cache.put_many(embedder.id, batch, vectors)
        known.update((cache.key(t), v) for t, v in zip(batch, vectors))
    progress("embedding", len(missing), len(missing))
    cache.close()
    ahead = len({cache.key(t) for t in texts} & embedded_ahead)  # embedded by this build while it parsed
    embedded, reused = len(missing) + ahead, len(texts) - len(missing) - ahead
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32), embedded, reused
    return np.stack([known[cache.key(t)] for t in texts]).astype(np.float32), embedded, reused


def embed_new(chunks: Iterable[Chunk], embedder: Embedder, cache: EmbeddingCache, embedded: set[str]) -> None:
    """Embed the passages `cache` lacks into it, adding each batch's cache keys to `embedded` as it is stored."""
    texts = list(dict.fromkeys(embed_text(c) for c in chunks))
    known = cache.get_many(embedder.id, texts)
    missing = [t for t in texts if cache.key(t) not in known]
    for start in range(0, len(missing), EMBED_BATCH):
        batch = missing[start:start + EMBED_BATCH]
        cache.put_many(embedder.id, batch, embedder.embed_passages(batch))
        embedded.update(cache.key(t) for t in batch)
