"""An English question over Japanese passages: the candidates that reach across scripts.

The lexical side gets Japanese words to search with (crosslingual.py: feedback words of the best
dense passages, the lexicon's translations), and the dense side a query vector moved toward the
question's translated words.
"""

from __future__ import annotations

import numpy as np

from ..embed import Embedder
from ..store import IndexStore, RowFilter
from .candidates import dense_candidates, lexical_candidates
from .crosslingual import Lexicon, feedback_terms
from .fusion import FusionConfig


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


def translated_dense(reader: IndexStore, embedder: Embedder, query_vector: np.ndarray, query: str, query_lang: str,
                     dense: list[tuple[int, float]], stored: dict, config: FusionConfig, n: int,
                     lexicon: Lexicon | None, allowed: RowFilter | None) -> list[tuple[int, float]]:
    """Dense candidates for a question whose vector is moved toward its translated words' (or `dense` as it was)."""
    terms = translated_terms(reader, query, query_lang, dense, stored, config, lexicon)
    if not terms:
        return dense
    words = sorted(terms, key=lambda term: (-terms[term], term))[:config.translated_words]  # ties: same in every process
    moved = query_vector + config.translated_query * embedder.embed_query(" ".join(words))
    return dense_candidates(reader, moved / np.linalg.norm(moved), n, allowed)


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
