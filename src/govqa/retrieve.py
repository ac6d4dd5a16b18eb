"""Dense + lexical candidates, fused with the query's language in mind, deduped per page -> Hit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .embed import Embedder
from .lang import detect_lang
from .models import Hit
from .store import IndexReader

MODES = ("hybrid", "dense", "lexical")


@dataclass(frozen=True)
class FusionConfig:
    """Score fusion that knows the query's language.

    Dense cosines are min-max normalised over the candidates, BM25 scores divided by the
    best one; the two are mixed with weights. The lexical side votes only for passages in
    the query's script, and only as strongly as the dense candidates are in that script:
    BM25 over Japanese text returns noise for an English question, and plain RRF let that
    noise drown the dense ranking (English hit@5 0.79 -> 0.32 on our measurements).
    """

    candidates: int = 100
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    share_window: int = 20
    method: str = "score"  # or "rrf" (plain reciprocal-rank fusion, kept for comparison)
    rrf_k: int = 60


@dataclass
class Candidate:
    row: int
    fused: float = 0.0
    dense: float | None = None
    lexical: float | None = None


def dense_candidates(reader: IndexReader, query_vector: np.ndarray, n: int) -> list[tuple[int, float]]:
    if reader.size == 0:
        return []
    scores, rows = reader.vectors.search(query_vector[None, :].astype(np.float32), min(n, reader.size))
    return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]


def lexical_candidates(reader: IndexReader, query: str, query_lang: str, n: int) -> list[tuple[int, float]]:
    rows, scores = reader.lexical.search(query, n * 2)
    keep = reader.chunk_langs[rows] == (query_lang == "ja")
    rows, scores = rows[keep], scores[keep]
    return [(int(r), float(s)) for r, s in zip(rows[:n], scores[:n])]


def script_share(reader: IndexReader, dense: list[tuple[int, float]], query_lang: str, window: int) -> float:
    """Share of the best dense candidates written in the query's language."""
    rows = [row for row, _ in dense[:window]]
    if not rows:
        return 1.0
    return float(np.mean(reader.chunk_langs[rows] == (query_lang == "ja")))


def fuse(dense: list[tuple[int, float]], lexical: list[tuple[int, float]], config: FusionConfig,
         lexical_share: float = 1.0) -> list[Candidate]:
    """Mix two ranked lists into one; best first, scores in [0, 1]."""
    pool: dict[int, Candidate] = {}
    for row, score in dense:
        pool.setdefault(row, Candidate(row)).dense = score
    for row, score in lexical:
        pool.setdefault(row, Candidate(row)).lexical = score
    wd, wl = config.dense_weight, config.lexical_weight * lexical_share if lexical else 0.0
    if config.method == "rrf":
        for rank, (row, _) in enumerate(dense, 1):
            pool[row].fused += wd / (config.rrf_k + rank)
        for rank, (row, _) in enumerate(lexical, 1):
            pool[row].fused += wl / (config.rrf_k + rank)
        best = (wd + wl) / (config.rrf_k + 1)
    else:
        d_scores = [s for _, s in dense]
        d_low, d_span = (min(d_scores), (max(d_scores) - min(d_scores)) or 1.0) if dense else (0.0, 1.0)
        l_top = max((s for _, s in lexical), default=1.0) or 1.0
        for cand in pool.values():
            d = (cand.dense - d_low) / d_span if cand.dense is not None else 0.0
            lx = cand.lexical / l_top if cand.lexical is not None else 0.0
            cand.fused = wd * d + wl * lx
        best = wd + wl
    for cand in pool.values():
        cand.fused /= best or 1.0
    return sorted(pool.values(), key=lambda c: (-c.fused, c.row))


def retrieve(reader: IndexReader, embedder: Embedder, query: str, k: int = 10, mode: str = "hybrid",
             config: FusionConfig = FusionConfig()) -> list[Hit]:
    """The k best passages, at most one per page, for a query in any language."""
    query_lang = detect_lang(query)
    n = max(config.candidates, k * 4)
    dense = dense_candidates(reader, embedder.embed_query(query), n) if mode in ("hybrid", "dense") else []
    lexical = lexical_candidates(reader, query, query_lang, n) if mode in ("hybrid", "lexical") else []
    share = script_share(reader, dense, query_lang, config.share_window) if dense else 1.0
    ranked = fuse(dense, lexical, config, share)
    stored = reader.chunks([c.row for c in ranked[: n * 2]])
    hits: list[Hit] = []
    seen_pages: set[tuple[str, int]] = set()
    for cand in ranked:
        chunk = stored.get(cand.row)
        if chunk is None or (chunk.doc_id, chunk.page) in seen_pages:
            continue
        seen_pages.add((chunk.doc_id, chunk.page))
        record = reader.documents[chunk.doc_id]
        hits.append(Hit(rank=len(hits) + 1, score=round(cand.fused, 4), doc_id=chunk.doc_id, title=record.title,
                        page=chunk.page, text=chunk.text, source=record.path, url=page_url(record, chunk.page),
                        lang=chunk.lang, start=chunk.start, end=chunk.end,
                        dense_score=None if cand.dense is None else round(cand.dense, 4),
                        lexical_score=None if cand.lexical is None else round(cand.lexical, 4)))
        if len(hits) == k:
            break
    return hits


def page_url(record, page: int) -> str:
    """The original URL for fetched sources, else the local file, opened at the page."""
    from pathlib import Path

    base = record.url or Path(record.file or record.path).resolve().as_uri()
    return f"{base}#page={page}" if record.kind == "pdf" else base
