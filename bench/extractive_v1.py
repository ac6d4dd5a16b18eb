"""The extractive backend as it was before issue 22 (kept to compare against): every sentence embedded.

Nothing is generated, so nothing can be invented: each sentence is quoted from a passage
and ends with that passage's [n]. When the question is English and the sources are
Japanese, the quoted sentences stay Japanese (only a generating backend can translate).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from govqa.chunk import heading_of
from govqa.config import Settings
from govqa.lang import detect_lang
from govqa.sentences import source_sentences
from govqa.summarize import SummaryRequest

_SENTENCE_END = re.compile(r"[。！？.!?][」』）)\"']*$")
_QUESTION = re.compile(
    r"(?:か|でしょうか|ですか|ますか)[。？?]?[」』）)]*$"  # Japanese question endings
    r"|[？?][」』）)\"']*$"
    r"|^\s*[(（]?\s*(?:問|Q)\s*[0-9０-９]*\s*[)）]"  # (問3) / Q3) opening a question block
    r"|[(（]\s*問\s*[0-9０-９]+\s*[)）](?!\s*を)"  # ... but not "(問5)を参照"
)


@dataclass(frozen=True)
class ExtractivePolicy:
    passages: int = 5  # read sentences from this many top passages
    max_sentences: int = 3
    max_chars: int = 480
    min_chars: int = 8
    long_unstopped: int = 80  # a line this long without a full stop is still prose (lists, tables)
    lexical_weight: float = 0.5  # share of the question's words found in the sentence
    rank_weight: float = 0.02  # a small preference for higher-ranked passages
    same_language_bonus: float = 0.03
    within_best: float = 0.04  # keep sentences scoring within this margin of the best
    duplicate_cosine: float = 0.95
    duplicate_overlap: float = 0.7  # character-bigram overlap that makes a near-duplicate


@dataclass
class Candidate:
    n: int  # passage number
    position: int
    text: str
    asked: list[str] = field(default_factory=list)  # the Q&A question it answers
    score: float = 0.0
    vector: np.ndarray | None = None


def _bigrams(text: str) -> set[str]:
    text = re.sub(r"\s+", "", text)
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _near_duplicate(a: Candidate, b: Candidate, policy: ExtractivePolicy) -> bool:
    if a.vector is not None and b.vector is not None and float(a.vector @ b.vector) >= policy.duplicate_cosine:
        return True
    ga, gb = _bigrams(a.text), _bigrams(b.text)
    return bool(ga and gb) and len(ga & gb) / min(len(ga), len(gb)) >= policy.duplicate_overlap


def _quotable(text: str, policy: ExtractivePolicy) -> bool:
    """A whole sentence of prose: not a heading, table row, page number or a fragment cut by the chunker."""
    letters = sum(ch.isalpha() for ch in text)
    return (len(text) >= policy.min_chars and letters >= 0.5 * len(text.replace(" ", ""))
            and not heading_of(text) and (bool(_SENTENCE_END.search(text)) or len(text) >= policy.long_unstopped))


def is_question(text: str) -> bool:
    """Q&A documents restate the question right above the answer; quoting it answers nothing."""
    return bool(_QUESTION.search(text))


class ExtractiveSummarizer:
    """Quotes the best-matching sentences of the top passages, each ending with its [n]."""

    name = "extractive"

    def __init__(self, settings: Settings | None = None, policy: ExtractivePolicy = ExtractivePolicy()) -> None:
        self.policy = policy

    def candidates(self, request: SummaryRequest) -> list[Candidate]:
        """Quotable sentences of the top passages, each with the question it answers, if any."""
        found: list[Candidate] = []
        seen: set[str] = set()
        for n, hit in enumerate(request.passages[: self.policy.passages], 1):
            asked: list[str] = []  # the question block in force (Q&A documents)
            answered = False
            for position, sentence in enumerate(source_sentences(hit.text)):
                sentence = re.sub(r"\s+", " ", sentence).strip()
                if is_question(sentence):
                    asked = asked + [sentence] if not answered else [sentence]
                    answered = False
                    continue
                if sentence in seen or not _quotable(sentence, self.policy):
                    continue
                answered = True
                seen.add(sentence)
                found.append(Candidate(n=n, position=position, text=sentence[: self.policy.max_chars],
                                       asked=list(asked)))
        return found

    def score(self, request: SummaryRequest, found: list[Candidate]) -> None:
        """Cosine with the question (or, in Q&A, with the question the sentence answers) plus word overlap.

        Question words count by how rare they are among the candidates: in a corpus about MF
        every sentence says "MF" and "登録"; the word that picks the answer is the rare one.
        """
        p = self.policy
        sentence_words = [set(request.tokenize(c.text)) for c in found]
        weights = {w: math.log(1 + len(found) / (1 + sum(w in words for words in sentence_words)))
                   for w in dict.fromkeys(request.tokenize(request.query))}  # sums in one order in every process
        total = sum(weights.values())
        asked = list(dict.fromkeys(q for c in found for q in c.asked))
        vectors = request.embedder.embed_passages([c.text for c in found] + asked)
        cosines = vectors @ request.embedder.embed_query(request.query)
        asked_cosine = dict(zip(asked, cosines[len(found):]))
        for c, words, vector, cosine in zip(found, sentence_words, vectors, cosines):
            overlap = sum(weight for w, weight in weights.items() if w in words) / total if total else 0.0
            via_question = max((float(asked_cosine[q]) for q in c.asked), default=float(cosine))
            similarity = 0.5 * float(cosine) + 0.5 * max(float(cosine), via_question)
            c.vector = vector
            c.score = (similarity + p.lexical_weight * overlap - p.rank_weight * (c.n - 1)
                       + (p.same_language_bonus if detect_lang(c.text) == request.lang else 0.0))

    def select(self, found: list[Candidate]) -> list[Candidate]:
        p = self.policy
        chosen: list[Candidate] = []
        ranked = sorted(found, key=lambda c: (-c.score, c.n, c.position))
        best = ranked[0].score if ranked else 0.0
        used = 0
        for c in ranked:
            if len(chosen) == p.max_sentences or c.score < best - p.within_best:
                break
            if any(_near_duplicate(c, other, p) for other in chosen) or (chosen and used + len(c.text) > p.max_chars):
                continue
            chosen.append(c)
            used += len(c.text)
        # Read passage by passage (best passage first), each in its own order.
        first = {c.n: i for i, c in reversed(list(enumerate(chosen)))}
        return sorted(chosen, key=lambda c: (first[c.n], c.position))

    def summarize(self, request: SummaryRequest) -> str:
        found = self.candidates(request)
        if not found:
            return ""
        self.score(request, found)
        return _join(self.select(found))


def _join(chosen: list[Candidate]) -> str:
    parts = []
    for c in chosen:
        ends_sentence = bool(_SENTENCE_END.search(c.text))
        separator = ("" if detect_lang(c.text) == "ja" else " ") if ends_sentence else "\n"
        parts.append(f"{c.text}[{c.n}]" if ends_sentence and detect_lang(c.text) == "ja" else f"{c.text} [{c.n}]")
        parts.append(separator)
    return "".join(parts).strip()
