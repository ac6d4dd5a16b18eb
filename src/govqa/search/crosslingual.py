"""Lexical recall across languages: Japanese words for an English question.

BM25 cannot match an English question against Japanese text. Two bridges give it Japanese
words to search with:

- pseudo-relevance feedback: the words that the best dense passages share, weighted by
  BM25's IDF (the dense side reads across languages; BM25 then finds other passages
  with the same rare words);
- an optional bilingual lexicon (English phrase -> Japanese words, GOVQA_LEXICON), of
  which only the words that occur in the index are kept.
"""

from __future__ import annotations

import gzip
import re
import threading
from collections import Counter
from pathlib import Path

import numpy as np

from ..lexical import _EN_STOP, LexicalIndex, Tokenizer

# English -> Japanese from JMdict (EDRDG, CC BY-SA 4.0; govqa/data/README.md), made by bench/make_lexicon.py.
SHIPPED_LEXICON = Path(__file__).parent.parent / "data" / "lexicon-en-ja.tsv.gz"
_KANJI = re.compile(r"[\u4e00-\u9fff]")
_HIRAGANA = re.compile(r"[\u3041-\u309f]+")
_EN_WORD = re.compile(r"[a-z0-9]+")


def feedback_terms(texts: list[str], tokenizer: Tokenizer, lexical: LexicalIndex, n_terms: int) -> dict[str, float]:
    """The n_terms words of the given passages with the highest summed IDF (a word in two
    passages counts twice); words all in hiragana (こと, その) and numbers carry no topic."""
    weight: Counter[str] = Counter()
    for text in texts:
        for token in dict.fromkeys(tokenizer(text)):  # not a set: ties keep text order in every process
            if _HIRAGANA.fullmatch(token) or token.isdigit() or len(token) < 2 and not _KANJI.search(token):
                continue
            weight[token] += lexical.idf(token)
    return {token: 1.0 for token, w in weight.most_common(n_terms) if w > 0}


class Lexicon:
    """English words and phrases -> Japanese words, from a TSV file: `english<TAB>日本語|日本語…`.

    A phrase of up to three words wins over its single words; plural and -ed/-ing forms
    fall back to the stem. Each English span spreads one unit of weight over the
    translations the index knows, so a word with eight senses does not outvote a term
    with one.

    A dictionary gives every sense of a word ("change" -> 変更, お釣り, 着替え, 代わる…);
    two filters keep the senses the question means. Content words only: a translation with
    hiragana in it is a verb, an adjective or a kana phrase (持つ, 付ける, 明らか), which
    matches nearly every passage. And, given `anchor` rows (the best dense passages for the
    question), only translations that occur in one of them: the dense side has read the
    whole question, so the sense it found is the one the passage uses.
    """

    def __init__(self, entries: dict[str, list[str]]) -> None:
        self._entries = entries
        # The words of each Japanese headword, once: tokenising them was a third of an English query's
        # lexical work (Tokenizer takes no settings, so every index splits a headword alike).
        self._words: dict[str, list[str]] = {}

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        """Read a TSV file, plain or gzipped (`.gz`)."""
        entries: dict[str, list[str]] = {}
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                english, _, japanese = line.rstrip("\n").partition("\t")
                if english and japanese:
                    entries[english.lower()] = japanese.split("|")
        return cls(entries)

    def senses(self, phrase: str) -> list[str]:
        """The Japanese headwords listed for an English word or phrase (lower case), as in the file."""
        return self._entries.get(phrase, [])

    def translate(self, query: str, lexical: LexicalIndex, tokenizer: Tokenizer,
                  anchor: np.ndarray | None = None, content_only: bool = True) -> dict[str, float]:
        """Japanese words of the index for the English words and phrases of `query`, weighted;
        with `anchor`, only words found in those rows."""
        words = _EN_WORD.findall(query.lower())
        if anchor is not None:
            in_anchor = np.zeros(lexical.num_docs, dtype=bool)
            in_anchor[anchor] = True
            anchor = in_anchor
        terms: dict[str, float] = {}
        covered: set[int] = set()
        for size in (3, 2, 1):
            for i in range(len(words) - size + 1):
                span = words[i:i + size]
                if span[0] in _EN_STOP or span[-1] in _EN_STOP or (size == 1 and i in covered):
                    continue
                found = self._lookup(span, lexical, tokenizer if size == 1 else None, anchor, content_only)
                if found:
                    covered.update(range(i, i + size))
                    for term in found:
                        terms[term] = terms.get(term, 0.0) + 1.0 / len(found) ** 0.5
        return terms

    def _lookup(self, span: list[str], lexical: LexicalIndex, tokenizer: Tokenizer | None,
                anchor: np.ndarray | None, content_only: bool) -> set[str]:
        def usable(term: str) -> bool:
            return (lexical.idf(term) > 0 and not (content_only and _HIRAGANA.search(term))
                    and (anchor is None or bool(anchor[lexical.rows_with(term)].any())))

        stems = _stems(span[-1])
        for last in stems:
            candidates = self._entries.get(" ".join([*span[:-1], last]), [])
            found = {c for c in candidates if (_KANJI.search(c) or len(c) >= 3) and usable(c)}
            if found:
                return found
        if tokenizer is None:
            return set()
        # A single word whose translations are all unknown to the index as wholes (証明書 in an index
        # that splits it) still contributes their kanji words.
        for last in stems:
            found = {t for c in self._entries.get(last, []) for t in self._words_of(c, tokenizer)
                     if len(t) >= 2 and _KANJI.search(t) and usable(t)}
            if found:
                return found
        return set()


    def _words_of(self, headword: str, tokenizer: Tokenizer) -> list[str]:
        words = self._words.get(headword)
        if words is None:
            words = self._words[headword] = tokenizer(headword)
        return words


def _stems(word: str) -> list[str]:
    forms = [word]
    for suffix, replacement in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""),
                                ("ing", "e"), ("d", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            forms.append(word[: len(word) - len(suffix)] + replacement)
    return forms


class LazyLexicon:
    """A lexicon read on first use (~0.7 s for the shipped one): Japanese questions never pay for it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lexicon: Lexicon | None = None
        self._lock = threading.Lock()

    def load(self) -> Lexicon:
        with self._lock:
            if self._lexicon is None:
                self._lexicon = Lexicon.load(self.path)
            return self._lexicon

    def translate(self, *args, **kwargs) -> dict[str, float]:
        return self.load().translate(*args, **kwargs)
