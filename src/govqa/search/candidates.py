"""One query -> its candidate lists: dense rows by cosine, lexical rows by BM25, in one script."""

from __future__ import annotations

import numpy as np

from ..store import IndexStore, RowFilter


def dense_candidates(reader: IndexStore, query_vector: np.ndarray, n: int,
                     allowed: RowFilter | None = None) -> list[tuple[int, float]]:
    if reader.size == 0:
        return []
    scores, rows = reader.vectors.search(query_vector[None, :].astype(np.float32), min(n, reader.size), allowed)
    return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]


def lexical_candidates(reader: IndexStore, query: str, query_lang: str, n: int,
                       weights: dict[str, float] | None = None, allowed: RowFilter | None = None,
                       tokens: list[str] | None = None) -> list[tuple[int, float]]:
    """BM25 matches among passages in one script: the query's (or its `tokens`), or `weights`' words."""
    rows, scores = reader.lexical.search(query, n * 2, tokens=tokens and reader.lexical.known(tokens), weights=weights,
                                         allowed=None if allowed is None else allowed.mask)
    keep = reader.chunk_langs[rows] == (query_lang == "ja")
    rows, scores = rows[keep], scores[keep]
    return [(int(r), float(s)) for r, s in zip(rows[:n], scores[:n])]


def script_share(reader: IndexStore, dense: list[tuple[int, float]], query_lang: str, window: int) -> float:
    """Share of the best dense candidates written in the query's language."""
    rows = [row for row, _ in dense[:window]]
    if not rows:
        return 1.0
    return float(np.mean(reader.chunk_langs[rows] == (query_lang == "ja")))


def penalise_short(dense: list[tuple[int, float]], stored: dict, chars: int, penalty: float) -> list[tuple[int, float]]:
    """Dense candidates with the cosine of passages under `chars` characters lowered, re-sorted."""
    if not penalty:
        return dense
    scored = [(row, score - penalty * (row in stored and len(stored[row].text) < chars)) for row, score in dense]
    return sorted(scored, key=lambda rs: -rs[1])
