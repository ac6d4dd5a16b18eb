"""Citations are checked, not trusted: every [n] must name a passage that supports its sentence.

A draft answer is cut into claims (sentences with the markers that follow them). In each
claim a marker naming no passage is removed, and so is one whose passage does not
plausibly support the claim; a claim left with no citation is dropped, and both are
reported. What remains is rendered with canonical `[n]` markers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from .embed import Embedder
from .lang import detect_lang
from .models import Citation, DroppedSentence, Hit, RemovedCitation
from .sentences import goes_on, source_sentences, unwrap

# [1], [1, 2], ［1］, 【1】: the forms models write citations in.
MARKER = re.compile(r"[\[［【]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]］】]")
_MARKER_CHARS = set("[]［］【】0123456789,，、 \t\r\n")
# A claim ends after terminal punctuation plus the markers right after it, or at a line break.
_CLAIM_END = re.compile(
    r"(?:[。！？]+[」』）)]*|[.!?]+[\"')\]]*(?=\s|$|[\[［【]))"
    r"(?:\s*[\[［【]\s*\d{1,3}(?:\s*[,，、]\s*\d{1,3})*\s*[\]］】])*"
    r"|\n+"
)


@dataclass(frozen=True)
class SupportPolicy:
    """When a cited passage plausibly supports a sentence; measured with bench/calibrate_support.py.

    `words` is the share of the sentence's content words found in the passage; `cosine` the
    best e5 similarity of the sentence (as a query) with one sentence of the passage.
    Whole-passage cosine could not tell passages of one topic apart, one sentence can.
    A quotation passes on its words; a paraphrase needs words and meaning; a translation
    (sentence and passage in different languages) has only the embedding to go on, whose
    cross-language cosines of related and unrelated text overlap: so a translation is kept
    when the cited passage is (within a margin) the closest of all the answer's passages to
    it. A fixed 0.85 kept 11 of 20 correct English sentences on their Japanese page (held-out
    eval/cross-support.jsonl), this rule 15 of 20, with fewer wrong passages kept (25 of 146
    against 34): bench/cross_support.py, docs/performance.md.
    """

    quoted_words: float = 0.9
    same_language_words: float = 0.7
    same_language_cosine: float = 0.88
    paraphrase_cosine: float = 0.93  # same language, other words, very close meaning
    cross_language_cosine: float = 0.80  # a floor: below it, unrelated whatever the other passages score
    cross_language_margin: float = 0.01  # how far below the closest passage the cited one may be


@dataclass
class Support:
    ok: bool
    words: float
    cosine: float | None = None  # None when the words alone decided

    def describe(self) -> str:
        return f"word overlap {self.words:.2f}" + (f", cosine {self.cosine:.3f}" if self.cosine is not None else "")


@dataclass
class Claim:
    raw: str  # the sentence as written, markers included
    text: str  # without markers
    cited: list[int]
    separator: str = ""  # whitespace that followed it


@dataclass
class CheckedClaim:
    claim: Claim
    kept: list[int]
    removed: list[RemovedCitation] = field(default_factory=list)

    @property
    def supported(self) -> bool:
        return bool(self.kept)

    def render(self) -> str:
        """The sentence with invalid markers removed and the rest written as [n]."""
        kept = set(self.kept)

        def keep_only_valid(match: re.Match) -> str:
            numbers = [n for n in _numbers(match.group(1)) if n in kept]
            return "".join(f"[{n}]" for n in dict.fromkeys(numbers))

        text = MARKER.sub(keep_only_valid, self.claim.raw)
        text = re.sub(r"[ \t]+([。．、，.,!?！？])", r"\1", text)  # "fees apply [42]." -> "fees apply."
        return re.sub(r"[ \t]{2,}", " ", text).strip()


@dataclass
class CheckResult:
    answer: str
    citations: list[Citation]
    claims: list[CheckedClaim]
    dropped: list[DroppedSentence]
    removed: list[RemovedCitation]


def _numbers(group: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", group)]


def split_claims(text: str) -> list[Claim]:
    """Sentences of a draft answer, each with the [n] markers written in or right after it."""
    claims: list[Claim] = []
    start = 0
    for end in _claim_ends(text) + [len(text)]:
        if end <= start:
            continue
        end += len(text[end:]) - len(text[end:].lstrip())  # the whitespace after belongs to it
        _add_claim(text[start:end], claims)
        start = end
    return claims


def _claim_ends(text: str) -> list[int]:
    """Where the claims of `text` end, but not at a full stop inside brackets (「(以下「MF」という。)の」): the
    sentence goes on there, as sentences.source_sentences reads it in the passage."""
    ends: list[int] = []
    start = 0
    for end in (m.end() for m in _CLAIM_END.finditer(text)):
        if end < len(text) and not MARKER.search(text, start, end) and goes_on(text[start:end].strip(), text, end):
            continue
        ends.append(end)
        start = end
    return ends


def sentences_citing(answer: str) -> dict[int, list[str]]:
    """The sentences of an answer that cite each passage [n], by n."""
    citing: dict[int, list[str]] = {}
    for claim in split_claims(answer):
        for n in claim.cited if claim.text else []:
            citing.setdefault(n, []).append(claim.text)
    return citing


def find_quotes(text: str, quotes: list[str]) -> list[tuple[int, int]]:
    """[start, end) code-point spans of `text` where these quotations of it occur, in their order.

    A quotation is the passage's sentence with its line breaks undone and its spaces collapsed, so it is
    found with the whitespace of both left out; a paraphrase (an LLM's answer) is not found.
    """
    compact, origin = [], []
    for i, char in enumerate(text):
        if not char.isspace():
            compact.append(char)
            origin.append(i)
    joined = "".join(compact)
    spans = []
    for quote in quotes:
        needle = "".join(quote.split())
        at = joined.find(needle) if needle else -1
        if at != -1:
            spans.append((origin[at], origin[at + len(needle) - 1] + 1))
    return spans


def _add_claim(raw: str, claims: list[Claim]) -> None:
    trailing = raw[len(raw.rstrip()):]
    separator = "\n" if "\n" in trailing else (" " if trailing else "")
    raw = raw.strip()
    if not raw:
        return
    cited = list(dict.fromkeys(n for m in MARKER.finditer(raw) for n in _numbers(m.group(1))))
    text = MARKER.sub("", raw).strip()
    if not text.strip(" \t\"'`*_#-:：、，,.。") and claims:
        previous = claims[-1]  # a marker on its own line belongs to the sentence above
        previous.cited = list(dict.fromkeys(previous.cited + cited))
        previous.raw += raw
        previous.separator = separator
        return
    claims.append(Claim(raw=raw, text=text, cited=cited, separator=separator))


def complete_prefix(text: str) -> int:
    """Length of the prefix of a growing draft whose claims can no longer change.

    A claim is complete once something other than markers and spaces follows it, since a
    `[n]` may still arrive after its full stop; the prefix takes the spaces after it too.
    """
    for end in reversed(_claim_ends(text)):
        rest = text[end:]
        if any(ch not in _MARKER_CHARS for ch in rest):
            return end + len(rest) - len(rest.lstrip())
    return 0


def lexical_support(claim_tokens: list[str], passage_tokens: set[str]) -> float:
    """Share of the claim's content words that occur in the passage (1.0 for a quotation)."""
    words = set(claim_tokens)
    if not words:
        return 0.0
    return len(words & passage_tokens) / len(words)


class CitationChecker:
    """Checks drafts against the passages they may cite: [n] is passages[n - 1]."""

    def __init__(self, passages: list[Hit], embedder: Embedder, tokenize: Callable[[str], list[str]],
                 policy: SupportPolicy = SupportPolicy()) -> None:
        self.passages = passages
        self.embedder = embedder
        self.tokenize = tokenize
        self.policy = policy
        self._words: dict[int, set[str]] = {}
        self._sentence_vectors: dict[int, np.ndarray] = {}
        self._query_vectors: dict[str, np.ndarray] = {}

    def _passage_words(self, n: int) -> set[str]:
        if n not in self._words:
            self._words[n] = set(self.tokenize(unwrap(self.passages[n - 1].text)))
        return self._words[n]

    def _passage_sentences(self, n: int) -> np.ndarray:
        """Vectors of the passage's sentences (and of the whole passage, for short texts)."""
        if n not in self._sentence_vectors:
            text = self.passages[n - 1].text
            sentences = [s for s in source_sentences(text) if len(s) >= 6]
            self._sentence_vectors[n] = self.embedder.embed_passages(sentences + [text])
        return self._sentence_vectors[n]

    def best_cosine(self, text: str, n: int) -> float:
        """The e5 similarity of `text` with the closest sentence of passage [n]."""
        if text not in self._query_vectors:
            self._query_vectors[text] = self.embedder.embed_query(text)
        return float(np.max(self._passage_sentences(n) @ self._query_vectors[text]))

    def closest_cosine(self, text: str) -> float:
        """The best similarity of `text` with any passage in another language than its own."""
        lang = detect_lang(text)
        return max((self.best_cosine(text, m) for m in range(1, len(self.passages) + 1)
                    if self.passages[m - 1].lang != lang), default=0.0)

    def support(self, text: str, n: int) -> Support:
        """Does passage [n] plausibly support the sentence `text`?"""
        p = self.policy
        words = lexical_support(self.tokenize(text), self._passage_words(n))
        same_language = detect_lang(text) == self.passages[n - 1].lang
        if same_language and words >= p.quoted_words:
            return Support(True, words)
        cosine = self.best_cosine(text, n)
        if not same_language:
            ok = cosine >= p.cross_language_cosine and cosine >= self.closest_cosine(text) - p.cross_language_margin
        else:
            ok = cosine >= p.paraphrase_cosine or (words >= p.same_language_words and cosine >= p.same_language_cosine)
        return Support(ok, words, cosine)

    def check_claim(self, claim: Claim) -> CheckedClaim:
        checked = CheckedClaim(claim=claim, kept=[])
        for n in claim.cited:
            if not 1 <= n <= len(self.passages):
                checked.removed.append(RemovedCitation(n=n, sentence=claim.text, reason="names no passage"))
                continue
            support = self.support(claim.text, n)
            if support.ok:
                checked.kept.append(n)
            else:
                checked.removed.append(RemovedCitation(
                    n=n, sentence=claim.text, reason=f"passage does not support the sentence ({support.describe()})"))
        return checked

    def check_claims(self, claims: list[Claim]) -> Iterator[CheckedClaim]:
        for claim in claims:
            yield self.check_claim(claim)

    def result(self, checked: list[CheckedClaim]) -> CheckResult:
        """The answer from the claims that kept a citation, and the report of the rest."""
        parts: list[str] = []
        dropped: list[DroppedSentence] = []
        removed = [r for c in checked for r in c.removed]
        cited: set[int] = set()
        for c in checked:
            if not c.supported:
                reason = ("no citation" if not c.claim.cited else
                          "no valid citation left: " + "; ".join(f"[{r.n}] {r.reason}" for r in c.removed))
                dropped.append(DroppedSentence(text=c.claim.text, reason=reason))
                continue
            cited.update(c.kept)
            parts.append(c.render() + c.claim.separator)
        answer = "".join(parts).strip()
        citations = [Citation(n=n, doc_id=self.passages[n - 1].doc_id, page=self.passages[n - 1].page)
                     for n in sorted(cited)]
        return CheckResult(answer=answer, citations=citations, claims=checked, dropped=dropped, removed=removed)

    def check(self, draft: str) -> CheckResult:
        return self.result(list(self.check_claims(split_claims(draft))))


def markers_in(answer: str) -> list[int]:
    """Every [n] written in an answer, in order."""
    return [n for m in MARKER.finditer(answer) for n in _numbers(m.group(1))]
