"""The question's key terms in the passages' own words: what an extractive answer matches on.

A question in the passages' language brings its own BM25 words. An English question over
Japanese passages brings the lexicon's Japanese senses of its words and phrases that occur in
those passages (the passages anchor the sense, as the best dense passages do in retrieval),
plus words written alike in both scripts (MF, DMEM, iPS, 2010). Each term keeps the question's
word it came from, so an answer can say which of the question's terms it found.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from .lexical import _EN_STOP
from .search.crosslingual import _stems
from .search.querywords import asks
from .textnorm import JAPANESE_LETTER

_KANJI = re.compile(r"[\u4e00-\u9fff]")
_HIRAGANA = re.compile(r"[\u3041-\u309f]")
_HIRAGANA_WORD = re.compile(r"[\u3041-\u309fー]+")
_EN_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Question words and fillers that name no topic ("how much", "what kinds of", "please tell me").
_EN_QUESTION_WORDS = frozenset("much many kind kinds type types long often way ways please tell explain "
                               "happen happens need needs make made get any also".split())


@dataclass
class Term:
    """One key term of the question and the forms it takes in the passages."""

    source: str  # as the question says it ("fee", "master file", 手数料)
    forms: tuple[str, ...]  # what to look for in a passage (its own words; Japanese senses for English)

    def found_in(self, text: str, words: set[str]) -> str | None:
        """The form of this term that `text` (normalised) or its BM25 `words` contain, if any."""
        for form in self.forms:
            if form in words or (len(form) >= 2 and JAPANESE_LETTER.search(form) and form in text):
                return form
        return None


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def question_terms(query: str, lang: str, passages: list[str], tokenize: Callable[[str], list[str]],
                   lexicon=None) -> list[Term]:
    """The question's key terms, each in the form the passages use.

    For an English question over passages that are mostly Japanese, terms come through the
    lexicon (when there is one) and only senses found in the passages count.
    """
    joined = normalise("\n".join(passages))
    if not translating(lang, passages):
        # Words all in hiragana (する, こと, できる) and single characters (等, 料) name no topic.
        return [Term(word, (word,)) for word in dict.fromkeys(tokenize(query))
                if len(word) >= 2 and not _HIRAGANA_WORD.fullmatch(word)]
    terms: list[Term] = []
    words = _EN_WORD.findall(normalise(query))
    covered: set[int] = set()
    senses = lexicon.load() if lexicon is not None and hasattr(lexicon, "load") else lexicon
    for size in (3, 2, 1):
        for i in range(len(words) - size + 1):
            span = words[i:i + size]
            if covered & set(range(i, i + size)) or span[0] in _EN_STOP or span[-1] in _EN_STOP \
                    or (size == 1 and span[0] in _EN_QUESTION_WORDS):
                continue
            forms = _senses_in(span, senses, joined, tokenize) if senses is not None else set()
            if size == 1 and re.search(r"\b" + re.escape(span[0]) + r"\b", joined) and len(span[0]) >= 2:
                forms.add(span[0])  # written alike in both scripts: MF, DMEM, 2010
            if forms:
                covered.update(range(i, i + size))
                terms.append(Term(" ".join(span), tuple(sorted(forms, key=lambda f: (-len(f), f)))))
    terms.sort(key=lambda t: words.index(t.source.split()[0]))
    return terms


def coverage(query: str, lang: str, terms: list[Term], passages: list[str],
             tokenize: Callable[[str], list[str]]) -> float:
    """Share of the question's key words that the passages hold (an English word counts when a
    term it is part of was found). Off-corpus questions use words the corpus never does."""
    texts = [(normalise(p), set(tokenize(p))) for p in passages]
    # 「…を挙げて説明してください」 asks; a page that answers never says 説明 or 挙げる.
    terms = [t for t in terms if not asks(tokenize(t.source))] or terms
    found = [t for t in terms if any(t.found_in(text, words) is not None for text, words in texts)]
    if not translating(lang, passages):
        return len(found) / len(terms) if terms else 0.0
    content = [w for w in _EN_WORD.findall(normalise(query))
               if w not in _EN_STOP and w not in _EN_QUESTION_WORDS and len(w) >= 2]
    covered = {w for t in found for w in t.source.split()}
    return sum(w in covered for w in content) / len(content) if content else 0.0


def translating(lang: str, passages: list[str]) -> bool:
    """An English question over passages that are mostly Japanese: terms go through the lexicon."""
    joined = "".join(passages).replace(" ", "")
    return lang != "ja" and len(JAPANESE_LETTER.findall(joined)) > 0.3 * max(len(joined), 1)


def _senses_in(span: list[str], lexicon, joined: str, tokenize: Callable[[str], list[str]]) -> set[str]:
    """Japanese senses of an English span that the passages use: whole headwords first, then
    (for a single word) the kanji words inside its headwords, as retrieval's lexicon does."""
    for last in _stems(span[-1]):
        candidates = lexicon.senses(" ".join([*span[:-1], last]))
        found = {c for c in candidates if not _HIRAGANA.search(c) and (_KANJI.search(c) or len(c) >= 3)
                 and normalise(c) in joined}
        if found:
            return {normalise(c) for c in found}
    if len(span) > 1:
        return set()
    for last in _stems(span[0]):
        found = {t for c in lexicon.senses(last) for t in tokenize(c)
                 if len(t) >= 2 and _KANJI.search(t) and not _HIRAGANA.search(t) and t in joined}
        if found:
            return found
    return set()


def matched(terms: list[Term], text: str, tokenize: Callable[[str], list[str]]) -> list[tuple[str, list[str]]]:
    """(the question's term, the forms of it that `text` contains) for every term found in `text`."""
    normalised, words = normalise(text), set(tokenize(text))
    found = [(t.source, [f for f in t.forms if Term(t.source, (f,)).found_in(normalised, words)]) for t in terms]
    return [(source, forms) for source, forms in found if forms]


CROSS_LANGUAGE_NOTE = ("Quoted from Japanese sources: the extractive answer does not translate. "
                       "Terms of your question found in the quoted text: {terms}.")
CROSS_LANGUAGE_NOTE_NO_TERMS = ("Quoted from Japanese sources: the extractive answer does not translate; "
                                "none of your question's terms were found word for word in the quoted text.")


def cross_language_note(terms: list[Term], answer_text: str, tokenize: Callable[[str], list[str]]) -> str:
    """What an English reader of a Japanese quotation is told: that it is one, and which terms it matched."""
    pairs = matched(terms, answer_text, tokenize)
    if not pairs:
        return CROSS_LANGUAGE_NOTE_NO_TERMS
    shown = [f"“{source}” = {'/'.join(forms[:2])}" if forms != [source] else f"“{source}”" for source, forms in pairs]
    return CROSS_LANGUAGE_NOTE.format(terms=", ".join(shown[:6]))
