"""Where the query's terms, and the answer's quotations, occur in a passage, so the page can mark them without
guessing at Japanese words."""

from __future__ import annotations

import re
import unicodedata

from govqa.citations import find_quotes

_LATIN_WORD = re.compile(r"[0-9a-z]")
_PLURALS = ("es", "s")


def query_terms(tokenizer, query: str) -> list[str]:
    """The query's search terms (NFKC, lower case), as the lexical index sees them; one-letter ones dropped."""
    return [t for t in dict.fromkeys(tokenizer(query)) if len(t) >= 2]


def term_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping [start, end) code-point spans of `text` where any term occurs.

    Matching is on NFKC + lower case, so the term "mf" marks "ＭＦ" too. Latin terms match
    whole words, plurals included ("card" marks "cards" but not "discard").
    """
    if not terms:
        return []
    folded, origin = _fold(text)
    spans: list[tuple[int, int]] = []
    for term in terms:
        latin = _LATIN_WORD.match(term[0]) and _LATIN_WORD.match(term[-1])
        at = folded.find(term)
        while at != -1:
            end = at + len(term)
            if latin:
                end += next((len(tail) for tail in _PLURALS if folded.startswith(tail, end)
                             and _word_edge(folded, end + len(tail))), 0)
            if not latin or _word_edge(folded, at - 1) and _word_edge(folded, end):
                spans.append((origin[at], origin[end - 1] + 1))
            at = folded.find(term, at + 1)
    return _merge(spans)


def _fold(text: str) -> tuple[str, list[int]]:
    """NFKC + lower case, with the index in `text` of every folded character."""
    parts: list[str] = []
    origin: list[int] = []
    for i, char in enumerate(text):
        folded = unicodedata.normalize("NFKC", char).lower()
        parts.append(folded)
        origin.extend([i] * len(folded))
    return "".join(parts), origin


def _word_edge(folded: str, i: int) -> bool:
    return i < 0 or i >= len(folded) or not _LATIN_WORD.match(folded[i])


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def quote_spans(text: str, quotes: list[str]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping [start, end) code-point spans of `text` that these quotations of it cover (an
    answer's sentences citing it; a paraphrase marks nothing)."""
    return _merge(find_quotes(text, quotes))
