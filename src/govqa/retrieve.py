"""Dense + lexical candidates, fused with the query's language in mind, deduped per page -> Hit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .crosslingual import Lexicon, feedback_terms
from .embed import Embedder
from .lang import detect_lang
from .models import Hit
from .pagelex import doc_evidence, page_evidence
from .querywords import content_words
from .store import IndexStore, RowFilter


@dataclass(frozen=True)
class FusionConfig:
    """Score fusion that knows the query's language.

    Dense cosines are min-max normalised over the candidates, BM25 scores divided by the
    best one; the two are mixed with weights. The lexical side votes only for passages in
    the query's script, and only as strongly as the dense candidates are in that script:
    BM25 over Japanese text returns noise for an English question, and plain RRF let that
    noise drown the dense ranking (English hit@5 0.79 -> 0.32 on our measurements).

    For the other script the lexical side gets words it can match (crosslingual.py): the
    words shared by the best dense passages in that script (pseudo-relevance feedback), and
    a bilingual lexicon's translations when one is loaded; each votes in proportion to the
    share of dense candidates in the other script.
    """

    candidates: int = 100
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    share_window: int = 20
    method: str = "score"  # or "rrf" (plain reciprocal-rank fusion, kept for comparison)
    rrf_k: int = 60
    # Best dense passages in the other script mined for words (0: no feedback); tokenising
    # them is most of the feedback's cost, ~0.8 ms each.
    feedback_docs: int = 3
    feedback_terms: int = 20
    feedback_weight: float = 0.2
    lexicon_weight: float = 1.0  # translated words, when a lexicon is given
    # Translations kept only if they occur in one of the best N dense passages in the other
    # script (0: every translation the index knows): picks the sense the question means.
    lexicon_anchor: int = 10
    lexicon_content_only: bool = True  # translations with hiragana (verbs, adjectives) dropped
    # A passage of a few words (a slide title) is close to every question in the embedding
    # space, across languages most of all; its cosine is lowered by this much, times the
    # share of dense candidates in the other script.
    short_chars: int = 50
    short_penalty: float = 0.03
    page_bonus: float = 0.0  # a page's score gains this share of its second-best passage's
    # Page-level BM25 (pagelex.py) over the whole page, normalised by the best page, added to
    # each passage of the page with this weight; the best pages' first passages join the pool.
    # A page's words are spread over several passages: Japanese MRR +0.01 / +0.03 / +0.03 on
    # mhlw / guideline / allganize-dev (0.25-1.5 measured, docs/retrieval.md).
    page_weight: float = 0.5
    page_candidates: int = 50
    question_words: bool = False  # drop interrogatives and politeness from the lexical query (querywords.py)
    # BM25 of the passage's document (title, headings, first page), normalised by the best: finds the
    # right document first when several answer in other words (guideline set +0.04 MRR).
    doc_weight: float = 0.25
    # BM25 scores are divided by the best one, or by this share of the query words' summed IDF if larger:
    # a best passage that matches little of a long question then counts less (0: the best one alone).
    lexical_coverage: float = 0.0
    # The page- and document-level signals for a question in the other script, through its translated words
    # (the share of dense candidates in the other script scales them, as it scales the passage bridge).
    bridge_pages: float = 0.0  # weight of the translated page signal (x the other-script share)
    bridge_docs: float = 0.0  # weight of the translated document signal


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


@dataclass
class Candidate:
    row: int
    fused: float = 0.0
    dense: float | None = None
    lexical: float | None = None


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


def bridge_candidates(reader: IndexStore, query: str, query_lang: str, dense: list[tuple[int, float]],
                      stored: dict, config: FusionConfig, n: int, lexicon: Lexicon | None = None,
                      allowed: RowFilter | None = None) -> list[tuple[list[tuple[int, float]], float]]:
    """Lexical candidates in the script the query is not written in, each list with its weight."""
    other = "en" if query_lang == "ja" else "ja"
    lists = []
    if config.feedback_docs:
        best = [stored[row] for row, _ in dense if row in stored and stored[row].lang == other][:config.feedback_docs]
        terms = feedback_terms([c.text for c in best], reader.tokenizer, reader.lexical, config.feedback_terms)
        if terms:
            lists.append((lexical_candidates(reader, "", other, n, weights=terms, allowed=allowed), config.feedback_weight))
    if config.lexicon_weight:
        terms = translated_terms(reader, query, query_lang, dense, stored, config, lexicon)
        if terms:
            lists.append((lexical_candidates(reader, "", other, n, weights=terms, allowed=allowed), config.lexicon_weight))
    return [(found, weight) for found, weight in lists if found]


def translated_terms(reader: IndexStore, query: str, query_lang: str, dense: list[tuple[int, float]], stored: dict,
                     config: FusionConfig, lexicon: Lexicon | None) -> dict[str, float]:
    """An English question's words in Japanese (the lexicon's senses the best dense passages use), weighted."""
    if lexicon is None or query_lang != "en":
        return {}
    anchor = None
    if config.lexicon_anchor:
        rows = [row for row, _ in dense if row in stored and stored[row].lang == "ja"]
        anchor = np.array(rows[:config.lexicon_anchor], dtype=np.int64)
    return lexicon.translate(query, reader.lexical, reader.tokenizer, anchor, config.lexicon_content_only) or {}


def fuse(dense: list[tuple[int, float]], lexical: list[tuple[int, float]], config: FusionConfig,
         lexical_share: float = 1.0, extra: list[tuple[list[tuple[int, float]], float]] = (),
         evidence: list[tuple[list[tuple[int, float]], float]] = (), lexical_ceiling: float = 0.0) -> list[Candidate]:
    """Mix ranked lists into one; best first, scores in [0, 1].

    `extra` holds further lexical lists with their weights (the cross-language bridges);
    they count towards the lexical score a candidate shows. `evidence` lists (page-level
    scores given to each passage of the page) count towards the fused score alone.
    """
    pool: dict[int, Candidate] = {}
    for row, score in dense:
        pool.setdefault(row, Candidate(row)).dense = score
    for row, score in lexical:
        pool.setdefault(row, Candidate(row)).lexical = score
    wd, wl = config.dense_weight, config.lexical_weight * lexical_share if lexical else 0.0
    lists = [(lexical, wl), *extra, *evidence]
    if config.method == "rrf":
        for rank, (row, _) in enumerate(dense, 1):
            pool[row].fused += wd / (config.rrf_k + rank)
        for found, weight in lists:
            for rank, (row, _) in enumerate(found, 1):
                pool.setdefault(row, Candidate(row)).fused += weight / (config.rrf_k + rank)
        best = (wd + sum(w for _, w in lists)) / (config.rrf_k + 1)
    else:
        d_scores = [s for _, s in dense]
        d_low, d_span = (min(d_scores), (max(d_scores) - min(d_scores)) or 1.0) if dense else (0.0, 1.0)
        for cand in pool.values():
            cand.fused = wd * (cand.dense - d_low) / d_span if cand.dense is not None else 0.0
        for found, weight in lists:
            top = max((s for _, s in found), default=1.0) or 1.0
            top = max(top, lexical_ceiling) if found is lexical else top
            for row, score in found:
                pool.setdefault(row, Candidate(row)).fused += weight * score / top
        best = wd + sum(w for found, w in lists if found)
    for found, _ in extra:
        for row, score in found:
            cand = pool[row]
            cand.lexical = score if cand.lexical is None else max(cand.lexical, score)
    for cand in pool.values():
        cand.fused /= best or 1.0
    return sorted(pool.values(), key=lambda c: (-c.fused, c.row))


def retrieve(reader: IndexStore, embedder: Embedder, query: str, k: int = 10, mode: str = "hybrid",
             config: FusionConfig | None = None, lexicon: Lexicon | None = None,
             allowed: RowFilter | None = None) -> list[Hit]:
    """The k best passages, at most one per page, for a query in any language.

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
    dense = dense_candidates(reader, embedder.embed_query(query), n, allowed) if mode in ("hybrid", "dense") else []
    stored = reader.chunks([row for row, _ in dense])
    share = script_share(reader, dense, query_lang, config.share_window) if dense else 1.0
    cosines = dict(dense)  # hits report the embedder's own cosine (answer.py and support.py read it)
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
    ranked = aggregate_pages(ranked, stored, reader, config) if config.page_bonus else ranked
    missing = [c.row for c in ranked[: n * 2] if c.row not in stored]
    stored.update(reader.chunks(missing))
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
                        lang=chunk.lang, start=chunk.start, end=chunk.end, boxes=chunk.boxes,
                        dense_score=None if cand.dense is None else round(cosines[cand.row], 4),
                        lexical_score=None if cand.lexical is None else round(cand.lexical, 4)))
        if len(hits) == k:
            break
    return hits


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
    from .errors import IndexFormatError

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
    from pathlib import Path

    base = record.url or Path(record.file or record.path).resolve().as_uri()
    return f"{base}#page={page}" if record.kind == "pdf" else base
