"""Dense + lexical candidates, fused with the query's language in mind, deduped per page -> Hit."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..embed import Embedder
from ..lang import detect_lang
from ..models import Hit
from ..pagelex import doc_evidence, page_evidence
from ..store import IndexStore, RowFilter, StoredChunk
from .bridge import bridge_candidates, translated_dense, translated_terms
from .candidates import dense_candidates, lexical_candidates, penalise_short, script_share
from .crosslingual import Lexicon
from .fusion import Candidate, FusionConfig, fuse
from .proximity import Proximity, word_weights
from .querywords import content_words, without_request

# The modes a user chooses from. Research variants (earlier defaults, levers measured against
# them: docs/retrieval.md) are registered by bench/variants.py through register_variant.
VARIANTS: dict[str, tuple[str, FusionConfig]] = {
    "hybrid": ("hybrid", FusionConfig()),
    "dense": ("dense", FusionConfig()),
    "lexical": ("lexical", FusionConfig()),
    "page-bm25": ("page-lexical", FusionConfig()),  # the baseline: BM25 over whole pages, nothing else
}
MODES = tuple(VARIANTS)


def register_variant(name: str, mode: str, config: FusionConfig) -> None:
    """A named (mode, FusionConfig) that `retrieve` and `govqa eval --compare` accept."""
    if mode not in ("hybrid", "dense", "lexical", "page-lexical"):
        raise ValueError(f"unknown base mode {mode!r}")
    VARIANTS[name] = (mode, config)


def retrieve(reader: IndexStore, embedder: Embedder, query: str, k: int = 10, mode: str = "hybrid",
             config: FusionConfig | None = None, lexicon: Lexicon | None = None,
             allowed: RowFilter | None = None) -> list[Hit]:
    """The k best passages, at most one per page (per `section_chars` of a longer page), for a query in any
    language.

    `mode` is hybrid, dense, lexical or one of the named VARIANTS (a mode with its own
    FusionConfig); an explicit `config` wins over the variant's. `allowed` (IndexStore.row_filter)
    limits every candidate list to some collections' rows before ranking, so k hits come back when k exist.
    """
    if allowed is not None and not allowed.count:
        return []
    mode, preset = VARIANTS[mode]
    config = config or preset
    query_lang = detect_lang(query)
    n = max(config.candidates, k * 4)
    tokens = reader.tokenizer(query) if mode != "dense" else []
    tokens = content_words(tokens) if config.question_words else tokens
    if mode == "page-lexical":
        return page_hits(reader, tokens, k, allowed)
    query_vector = (embedder.embed_query(query if config.embed_request else without_request(query))
                    if mode in ("hybrid", "dense") else None)
    dense = dense_candidates(reader, query_vector, n, allowed) if query_vector is not None else []
    share = script_share(reader, dense, query_lang, config.share_window) if dense else 1.0
    # Passages are read before fusion only for what reads their text: the other-script paths and the
    # short-passage penalty (both off when every close passage is in the query's script).
    stored = reader.chunks([row for row, _ in dense]) if share < 1.0 else {}
    # Hits report the embedder's own cosine with the question (answer.py's abstention and support.py read it).
    cosines = dict(dense)
    if mode == "hybrid" and config.translated_query and share < 1.0:
        dense = translated_dense(reader, embedder, query_vector, query, query_lang, dense, stored, config, n,
                                 lexicon, allowed)
        stored.update(reader.chunks([row for row, _ in dense if row not in stored]))
    dense = penalise_short(dense, stored, config.short_chars, config.short_penalty * (1.0 - share))
    lexical = (lexical_candidates(reader, query, query_lang, n, allowed=allowed, tokens=tokens)
               if mode in ("hybrid", "lexical") else [])
    extra = []
    if mode == "hybrid" and share < 1.0:
        extra = [(found, weight * (1.0 - share)) for found, weight in
                 bridge_candidates(reader, query, query_lang, dense, stored, config, n, lexicon, allowed)]
    evidence = []
    if mode == "hybrid" and reader.page_lexical is not None and (config.page_weight or config.doc_weight):
        pool = {row for row, _ in dense} | {row for row, _ in lexical}
        if config.page_weight:
            found = page_evidence(reader.page_lexical, tokens, config.page_candidates, pool, allowed)
            evidence.append((found, config.page_weight * share))
        if config.doc_weight:
            evidence.append((doc_evidence(reader.page_lexical, tokens, pool, allowed), config.doc_weight * share))
        terms = translated_terms(reader, query, query_lang, dense, stored, config, lexicon) \
            if (config.bridge_pages or config.bridge_docs) and share < 1.0 else {}
        if terms and config.bridge_pages:
            found = page_evidence(reader.page_lexical, [], config.page_candidates, pool, allowed, weights=terms)
            evidence.append((found, config.bridge_pages * (1.0 - share)))
        if terms and config.bridge_docs:
            found = doc_evidence(reader.page_lexical, [], pool, allowed, weights=terms)
            evidence.append((found, config.bridge_docs * (1.0 - share)))
    ceiling = config.lexical_coverage * sum(map(reader.lexical.idf, reader.lexical.known(tokens)))
    ranked = fuse(dense, lexical, config, share, extra, evidence, ceiling)
    close_words = (word_weights(content_words(tokens), reader.lexical.idf)
                   if mode == "hybrid" and config.proximity_weight and share > 0 else {})
    ranked = aggregate_pages(ranked, stored, reader, config) if config.page_bonus else ranked
    best = best_of_pages(ranked, stored, reader, max(k, config.proximity_pages) if close_words else k,
                         config.section_chars)
    if close_words:
        best = nearer_first(best, reader, close_words, config, share)[:k]
    hits: list[Hit] = []
    for cand, chunk in best:
        record = reader.documents[chunk.doc_id]
        hits.append(Hit(rank=len(hits) + 1, score=round(cand.fused, 4), doc_id=chunk.doc_id, title=record.title,
                        page=chunk.page, text=chunk.text, source=record.path, url=page_url(record, chunk.page),
                        lang=chunk.lang, start=chunk.start, end=chunk.end, boxes=chunk.boxes,
                        dense_score=None if cand.row not in cosines else round(cosines[cand.row], 4),
                        lexical_score=None if cand.lexical is None else round(cand.lexical, 4)))
    return hits


def nearer_first(best: list[tuple[Candidate, StoredChunk]], reader: IndexStore, weights: dict[str, float],
                 config: FusionConfig, share: float) -> list[tuple[Candidate, StoredChunk]]:
    """The pages re-ordered with their term proximity added to their fused score (proximity.py)."""
    if not best:
        return best
    scale = config.proximity_weight * share * best[0][0].fused
    near = Proximity(weights, config.proximity_chars)
    reach = config.proximity_reach
    texts = reader.page_texts([(chunk.doc_id, chunk.page) for _, chunk in best],
                              [(max(chunk.start - reach, 0), chunk.end + reach) for _, chunk in best])
    for cand, chunk in best:
        cand.fused += scale * near(texts.get((chunk.doc_id, chunk.page)) or chunk.text)
    return sorted(best, key=lambda pair: (-pair[0].fused, pair[0].row))


def best_of_pages(ranked: list[Candidate], stored: dict, reader: IndexStore, k: int,
                  section: int = FusionConfig.section_chars) -> list[tuple[Candidate, StoredChunk]]:
    """The best candidate of each of the k best pages (of each `section` characters of a longer page), with its
    passage; passages are read 3k at a time down the ranking until k are found, not all at once (~100 rows
    read for 10 used)."""
    best: list[tuple[Candidate, StoredChunk]] = []
    seen: set[tuple[str, int, int]] = set()
    step = 3 * max(k, 1)
    for start in range(0, len(ranked), step):
        batch = ranked[start:start + step]
        stored.update(reader.chunks([c.row for c in batch if c.row not in stored]))
        for cand in batch:
            chunk = stored.get(cand.row)
            key = (chunk.doc_id, chunk.page, chunk.start // section) if chunk is not None else None
            if key is None or key in seen:
                continue
            seen.add(key)
            best.append((cand, chunk))
            if len(best) == k:
                return best
    return best


def aggregate_pages(ranked: list[Candidate], stored: dict, reader: IndexStore, config: FusionConfig) -> list[Candidate]:
    """A page's best passage also gains `page_bonus` times the score of the page's second best."""
    stored.update(reader.chunks([c.row for c in ranked if c.row not in stored]))
    second: dict[tuple[str, int], float] = {}
    first: dict[tuple[str, int], int] = {}
    for cand in ranked:
        chunk = stored.get(cand.row)
        if chunk is None:
            continue
        page = (chunk.doc_id, chunk.page)
        if page not in first:
            first[page] = cand.row
        elif page not in second:
            second[page] = cand.fused
    for cand in ranked:
        chunk = stored.get(cand.row)
        page = chunk and (chunk.doc_id, chunk.page)
        if page in second and first[page] == cand.row:
            cand.fused = (cand.fused + config.page_bonus * second[page]) / (1 + config.page_bonus)
    return sorted(ranked, key=lambda c: (-c.fused, c.row))


def page_hits(reader: IndexStore, tokens: list[str], k: int, allowed: RowFilter | None = None) -> list[Hit]:
    """The `page-bm25` baseline: the k best pages by BM25 over their whole text, each shown by its first passage."""
    from ..errors import IndexFormatError

    if reader.page_lexical is None:
        raise IndexFormatError(f"the index at {reader.path} has no page-level BM25: re-run `govqa index` to upgrade it")
    pages, scores = reader.page_lexical.top(tokens, k, allowed)
    first = {int(p): int(reader.page_lexical.first_row[p]) for p in pages}
    stored = reader.chunks([row for row in first.values() if row >= 0])
    hits: list[Hit] = []
    for page, score in zip(pages, scores):
        chunk = stored.get(first[int(page)])
        if chunk is None:
            continue
        record = reader.documents[chunk.doc_id]
        hits.append(Hit(rank=len(hits) + 1, score=round(float(score), 4), doc_id=chunk.doc_id, title=record.title,
                        page=chunk.page, text=chunk.text, source=record.path, url=page_url(record, chunk.page),
                        lang=chunk.lang, start=chunk.start, end=chunk.end, lexical_score=round(float(score), 4)))
    return hits


def page_url(record, page: int) -> str:
    """The original URL for fetched sources, else the local file, opened at the page."""
    base = record.url or file_uri(record.file or record.path)
    return f"{base}#page={page}" if record.kind == "pdf" else base


@lru_cache(maxsize=4096)
def file_uri(path: str) -> str:
    """A stored file's path as a file: URI, resolved once per process (ten hits' paths took ~0.6 ms a query)."""
    return Path(path).resolve().as_uri()
