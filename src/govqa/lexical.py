"""Lexical tokens for Japanese and English: fugashi (UniDic-lite) words, NFKC, lower case."""

from __future__ import annotations

import csv
import math
import re
import threading
import unicodedata

_DROP_POS = {"助詞", "助動詞", "補助記号", "空白", "記号"}
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
# The longest text MeCab is given at once (pieces()): it crashed on 1M characters, not on 600k.
PIECE_CHARS = 100_000
_WORD = re.compile(r"[0-9a-z]+(?:[-'][0-9a-z]+)*")
_EN_STOP = frozenset(
    "a an and are as at be been being but by can could did do does for from had has have how i if in into is it its "
    "may me must my no not of on or our shall should so such that the their them then there these they this to "
    "under was we were what when where which while who whom why will with would you your".split())


class Tokenizer:
    """Words for BM25: content words only, compound nouns added, unknown CJK words as bigrams.

    One fugashi Tagger per thread: MeCab taggers are not safe to share.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def _tagger(self):
        tagger = getattr(self._local, "tagger", None)
        if tagger is None:
            import fugashi

            tagger = self._local.tagger = fugashi.Tagger()
        return tagger

    def __call__(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFKC", text).lower()
        tokens: list[str] = []
        noun_run: list[str] = []
        tagger = self._tagger()
        for word in (word for piece in pieces(text) for word in tagger(piece)):
            pos, base = _pos_and_base(word)
            surface = word.surface
            if pos in _DROP_POS or not surface.strip():
                _flush_compound(noun_run, tokens)
                continue
            if not _CJK.search(surface):
                _flush_compound(noun_run, tokens)
                tokens.extend(w for w in _WORD.findall(surface) if w not in _EN_STOP)
                continue
            tokens.append(base or surface)
            if word.is_unk and len(surface) > 2:
                tokens.extend(surface[i:i + 2] for i in range(len(surface) - 1))
            if pos == "名詞":
                noun_run.append(surface)
            else:
                _flush_compound(noun_run, tokens)
        _flush_compound(noun_run, tokens)
        return tokens


def pieces(text: str, limit: int | None = None) -> list[str]:
    """The text cut into pieces of at most `limit` characters, at a line break where there is one
    (else a space or a full stop, else anywhere): MeCab crashes the process on one very long input
    (a whole-page text of ~1M characters, such as a large text file, which is one page)."""
    limit = limit or PIECE_CHARS
    found = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else max(text.rfind(" ", 0, limit), text.rfind("。", 0, limit))
        cut = cut + 1 if cut > 0 else limit
        found.append(text[:cut])
        text = text[cut:]
    return [*found, text]  # never empty after a cut: a cut takes at most `limit` of a longer text


def _pos_and_base(word) -> tuple[str, str | None]:
    """Part of speech and dictionary form (UniDic pos1, orthBase; None for unknown words),
    read from the raw feature CSV: building `word.feature` costs four times the tagging."""
    raw = word.feature_raw
    fields = next(csv.reader([raw])) if '"' in raw else raw.split(",")
    return fields[0], fields[10] if len(fields) > 10 else None


def _flush_compound(run: list[str], tokens: list[str]) -> None:
    """Adjacent nouns also count as one compound term (軽微 + 変更 + 届出 -> 軽微変更届出)."""
    if len(run) > 1:
        tokens.append("".join(run))
    run.clear()


class LexicalIndex:
    """BM25 (bm25s) over Tokenizer tokens, one row per chunk (row = FAISS row)."""

    def __init__(self, bm25, tokenizer: Tokenizer) -> None:
        self._bm25 = bm25
        self._tokenizer = tokenizer
        self._vocab = bm25.vocab_dict

    @classmethod
    def build(cls, texts: list[str], tokenizer: Tokenizer) -> "LexicalIndex":
        import bm25s

        bm25 = bm25s.BM25()
        bm25.index([tokenizer(t) or [""] for t in texts], show_progress=False)
        return cls(bm25, tokenizer)

    def save(self, folder) -> None:
        self._bm25.save(str(folder))

    @classmethod
    def load(cls, folder, tokenizer: Tokenizer) -> "LexicalIndex":
        import bm25s
        import numpy as np

        # Memory-mapped: server workers share one copy of the BM25 arrays in the page cache, and
        # opening a 1M-chunk index takes no time (0.0 vs 2.4 s, RSS 139 vs 800 MB; docs/performance.md).
        # A generation's files never change once written, and are deleted only when no reader holds them.
        model = bm25s.BM25.load(str(folder), mmap=True)
        # Plain array views of the same mapping: indexing a np.memmap goes through its Python-level
        # __getitem__, ~500 times a query (~0.4 ms at 10k chunks); a view reads the same pages.
        model.scores = {key: np.asarray(value) if isinstance(value, np.memmap) else value
                        for key, value in model.scores.items()}
        return cls(model, tokenizer)

    def warm(self) -> None:
        """Read one value per memory page of the BM25 arrays, so that queries find them mapped."""
        import numpy as np

        for key in ("data", "indices", "indptr"):
            array = self._bm25.scores[key]
            np.add.reduce(array[:: max(1, 4096 // array.itemsize)])

    def query_tokens(self, query: str) -> list[str]:
        """The query's tokens that occur in the corpus at all."""
        return self.known(self._tokenizer(query))

    def known(self, tokens: list[str]) -> list[str]:
        """These tokens, once each, that occur in the corpus at all."""
        return [t for t in dict.fromkeys(tokens) if t in self._vocab and t]

    def idf(self, token: str) -> float:
        """BM25's (Lucene) inverse document frequency; 0 for a word the corpus lacks."""
        column = self._vocab.get(token)
        if column is None:
            return 0.0
        indptr = self._bm25.scores["indptr"]
        df = int(indptr[column + 1] - indptr[column])
        docs = int(self._bm25.scores["num_docs"])
        return math.log(1 + (docs - df + 0.5) / (df + 0.5))

    @property
    def num_docs(self) -> int:
        return int(self._bm25.scores["num_docs"])

    def rows_with(self, token: str):
        """Rows (chunks) whose text has the word; empty for a word the corpus lacks."""
        import numpy as np

        column = self._vocab.get(token)
        if column is None:
            return np.zeros(0, dtype=np.int64)
        matrix = self._bm25.scores
        return matrix["indices"][matrix["indptr"][column]:matrix["indptr"][column + 1]]

    def search(self, query: str, n: int, tokens: list[str] | None = None,
               weights: dict[str, float] | None = None, allowed=None):
        """Top-n (rows, scores) with a positive BM25 score, best first.

        `weights` (token -> weight) scores a weighted bag of words instead of the query:
        terms mined from other passages count as much as they are trusted. `allowed` (a boolean
        row mask) zeroes every other row's score before the top n are taken.
        """
        import numpy as np

        if weights is not None:
            scores = self._weighted_scores(weights)
        else:
            tokens = self.query_tokens(query) if tokens is None else tokens
            if not tokens:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            scores = self._bm25.get_scores(tokens)
        return top_rows(scores, n, allowed)

    def postings(self):
        """(token, rows, BM25 contributions) per word, as bm25s computed them: what the PostgreSQL
        store writes, so that it ranks with the same numbers."""
        matrix = self._bm25.scores
        for token, column in self._vocab.items():
            if token and column + 1 < len(matrix["indptr"]):  # bm25s adds "" past the last column
                start, end = matrix["indptr"][column], matrix["indptr"][column + 1]
                yield token, matrix["indices"][start:end], matrix["data"][start:end]

    def _weighted_scores(self, weights: dict[str, float]):
        matrix = self._bm25.scores  # one CSC column of per-document BM25 contributions per word

        def postings(token: str):
            column = self._vocab.get(token)
            if column is None:
                return None
            start, end = matrix["indptr"][column], matrix["indptr"][column + 1]
            return matrix["indices"][start:end], matrix["data"][start:end]

        return weighted_scores(int(matrix["num_docs"]), weights, postings)


def weighted_scores(num_docs: int, weights: dict[str, float], postings):
    """Each row's BM25 for a weighted bag of words; `postings(token)` gives (rows, contributions) or None.
    Both stores score through here, in one summation order (sorted words), so they agree to the bit."""
    import numpy as np

    scores = np.zeros(num_docs, dtype=np.float32)
    for token, weight in sorted(weights.items()):  # one summation order, whatever order the caller built
        found = postings(token) if weight > 0 else None
        if found is not None:
            rows, data = found
            scores[rows] += weight * data
    return scores


def query_scores(num_docs: int, postings: list[tuple]) -> "object":
    """Each row's BM25 for the query words whose (rows, contributions) are given, in query order:
    summed by bm25s itself, as LexicalIndex.search sums them."""
    import bm25s
    import numpy as np

    indptr = np.cumsum([0, *(len(rows) for rows, _ in postings)])
    indices = np.concatenate([rows for rows, _ in postings]) if postings else np.zeros(0, dtype=np.int32)
    data = np.concatenate([d for _, d in postings]) if postings else np.zeros(0, dtype=np.float32)
    return bm25s.BM25._compute_relevance_from_scores(data=data, indptr=indptr, indices=indices, num_docs=num_docs,
                                                     query_tokens_ids=np.arange(len(postings)),
                                                     dtype=np.dtype("float32"))


def top_rows(scores, n: int, allowed=None):
    """The n best rows with a positive score, best first, and their scores; `allowed` (a boolean row mask)
    zeroes the others first."""
    import numpy as np

    if not len(scores):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    if allowed is not None:
        scores = np.where(allowed, scores, 0)
    n = min(n, len(scores))
    top = np.argpartition(-scores, n - 1)[:n]
    top = top[np.argsort(-scores[top], kind="stable")]
    keep = scores[top] > 0
    return top[keep], scores[top][keep].astype(np.float32)
