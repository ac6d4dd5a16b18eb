"""Score fusion: ranked candidate lists (dense, lexical, page and document evidence) -> one ranking."""

from __future__ import annotations

from dataclasses import dataclass


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
    # The query embedding reads the question without the request closing its sentences (querywords.without_request).
    embed_request: bool = False
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
    # An English question over Japanese passages is also embedded as its best translated words (the
    # lexicon's senses the best dense passages use), and its vector moved toward theirs by this weight
    # before the dense search: guideline English MRR +0.05, hit@5 +0.04; mhlw English +0.00 (docs/retrieval.md).
    translated_query: float = 1.0
    translated_words: int = 8  # how many of the translated words, by weight, make that second query
    # Term proximity (proximity.py): each of the best `proximity_pages` pages (or k, if more) gains this
    # weight x the best fused score x the share of the question's words (by IDF) that one window of
    # `proximity_chars` characters of it holds, x the query's script share. Japanese MRR +0.027 / +0.010 /
    # +0.034 on mhlw / guideline / allganize-dev, hit@5 the same or better (weights 0.05-3 measured,
    # docs/retrieval.md).
    proximity_weight: float = 1.0
    proximity_chars: int = 80
    proximity_pages: int = 10
    # Proximity reads a page this many characters either side of its passage, not more: a text file or a web
    # page is one page, of megabytes at times (a 2M-character page took a query from ~3 to ~47 ms).
    proximity_reach: int = 20_000
    # A search gives one passage a page, but one per this many characters of a longer page: a text file or a
    # web page is one page, and one passage of a 2M-character file hid every other place it answers.
    section_chars: int = 20_000


@dataclass
class Candidate:
    row: int
    fused: float = 0.0
    dense: float | None = None
    lexical: float | None = None


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
