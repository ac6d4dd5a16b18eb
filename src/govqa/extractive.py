"""The offline, deterministic backend: the sentences of the passage that best answers the question, cited.

Nothing is generated, so nothing can be invented: each sentence is quoted from a passage and
ends with that passage's [n]. The passage is chosen first — by its retrieval rank and by how
well its sentences match the question's key terms and the kind of answer asked for (a number,
a date, a list, a definition) — and the answer quotes its best sentences in their own order,
so a reader gets one coherent passage rather than fragments of several pages. When the
question is English and the sources Japanese, the quoted sentences stay Japanese (only a
generating backend can translate); the terms are matched through the lexicon.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .answerfocus import question_focus, gives
from .answerterms import Term, normalise, question_terms, translating
from .config import Settings
from .lang import detect_lang
from .quotable import SENTENCE_END, is_question, quote_kind
from .sentences import source_sentences
from .summarize import SummaryRequest

# A sentence pointing at a figure or a table (「以下のとおり(図表9)」, 「表3に示す」), and that figure's or table's
# caption opening a line of another page: the figure answers, the sentence only leads to it.
_FIGURE_REF = re.compile(r"(図表|図|表)\s?([0-9０-９]+(?:[-－‐][0-9０-９]+)?)")


@dataclass(frozen=True)
class ExtractivePolicy:
    passages: int = 5  # read sentences from this many top passages
    max_sentences: int = 3
    max_chars: int = 480
    min_chars: int = 8
    long_unstopped: int = 80  # a line this long without a full stop is still prose (lists, tables)
    max_noise: float = 0.06  # share of OCR debris that makes a sentence unquotable
    # Passage choice, measured with bench/bench_answers.py (docs/retrieval.md, "Answers"): retrieval's
    # order is the strongest evidence; sentence matches and the passage's own cosine break near ties.
    retrieval_weight: float = 1.5  # the passage's fused retrieval score, relative to the best passage's
    focus_weight: float = 0.25  # a sentence giving the kind of answer asked for
    asked_weight: float = 0.5  # in Q&A documents, how much the question a sentence answers counts
    page_weight: float = 0.0  # share of the question's terms the whole passage holds (0.25-1 measured: lost)
    dense_weight: float = 0.05  # the passage's own cosine with the question, per 0.01 below the best passage's
    within_best: float = 0.15  # other sentences of the chosen passage within this of its best
    extra_needs_terms: bool = True  # ... that hold at least one of the question's key terms
    # A passage none of whose sentences holds one of the question's key terms (a page of notes on rounding, a
    # cover) is not quoted while another passage's sentences hold one.
    needs_terms: bool = True
    second_within: float | None = 0.3  # also quote the best sentence of a second page this close; None: never
    second_sentence_within: float = 1.0  # ... if its sentence scores this close to the first's (0-0.3: lost)
    # ... or, if that second page is the next or previous page of the first's document (a table or a list
    # continued, a figure and its commentary), this close; None: the same margin as any other page.
    neighbour_within: float | None = 0.5
    # An English question over Japanese pages: only the dense side reads it whole, so retrieval's first page is
    # less sure (first for ~0.55 of them, among the five best for ~0.8). Other pages are quoted within this
    # margin, up to this many pages in all. None: as for a question in the pages' language.
    cross_language_within: float | None = 0.5
    cross_language_pages: int = 3
    same_language_bonus: float = 0.03
    # List items and table rows are quoted too (slide decks and tables have no sentences); a quote
    # that is not a sentence gives up this much against one that is.
    items: bool = True
    min_item_chars: int = 12
    min_row_letters: float = 0.2
    # A row that is mostly a chart's axis ticks (「14 12 10 8 6 4 2自然災害の発生件数」) tells a reader nothing; the
    # chart's page is still cited through its other sentences.
    axis_rows: bool = False
    item_penalty: float = 0.05
    duplicate_overlap: float = 0.7  # character-bigram overlap that makes a near-duplicate
    # A passage none of whose sentences can be quoted (a figure's or a table's lines joined into one "sentence"
    # that starts cut off) offers its lines one by one instead.
    lines_when_no_sentence: bool = True
    # A quoted sentence that refers to a figure or table captioned on another page of the passages (the same
    # document) also quotes that caption, citing its page.
    figure_pages: bool = True


@dataclass
class Candidate:
    n: int  # passage number
    position: int
    text: str
    asked: list[str] = field(default_factory=list)  # the Q&A question it answers
    score: float = 0.0
    focus: bool = False
    kind: str = "sentence"
    matched: float = 0.0  # the share of the question's key terms it (or the question it answers) holds


def _bigrams(text: str) -> set[str]:
    text = re.sub(r"\s+", "", text)
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _near_duplicate(a: Candidate, b: Candidate, policy: ExtractivePolicy) -> bool:
    ga, gb = _bigrams(a.text), _bigrams(b.text)
    return bool(ga and gb) and len(ga & gb) / min(len(ga), len(gb)) >= policy.duplicate_overlap


class ExtractiveSummarizer:
    """Quotes the best sentences of the passage that best answers the question, each ending with its [n]."""

    name = "extractive"

    def __init__(self, settings: Settings | None = None, policy: ExtractivePolicy = ExtractivePolicy()) -> None:
        self.policy = policy

    def candidates(self, request: SummaryRequest) -> list[Candidate]:
        """Quotable sentences of the top passages, each with the question it answers, if any."""
        found: list[Candidate] = []
        seen: set[str] = set()
        for n, hit in enumerate(request.passages[: self.policy.passages], 1):
            quoted = self._quotable(n, hit, source_sentences(hit.text), seen)
            if not quoted and self.policy.lines_when_no_sentence:
                quoted = self._quotable(n, hit, hit.text.splitlines(), seen, lines=True)
            found += quoted
        return found

    def _quotable(self, n: int, hit, pieces: list[str], seen: set[str], lines: bool = False) -> list[Candidate]:
        found: list[Candidate] = []
        asked: list[str] = []  # the question block in force (Q&A documents)
        answered = False
        for position, sentence in enumerate(pieces):
            sentence = re.sub(r"\s+", " ", sentence).strip()
            if is_question(sentence):
                asked = asked + [sentence] if not answered else [sentence]
                answered = False
                continue
            kind = None if sentence in seen else quote_kind(sentence, self.policy, position == 0 and hit.start > 0, lines)
            if kind is None:
                continue
            answered = True
            seen.add(sentence)
            found.append(Candidate(n=n, position=position, text=sentence[: self.policy.max_chars],
                                   asked=list(asked), kind=kind))
        return found

    def terms(self, request: SummaryRequest) -> list[Term]:
        return question_terms(request.query, request.lang, [h.text for h in request.passages[: self.policy.passages]],
                              request.tokenize, getattr(request, "lexicon", None))

    def score(self, request: SummaryRequest, found: list[Candidate], terms: list[Term]) -> dict[int, float]:
        """Share of the question's key terms in the sentence (or, in Q&A, in the question it answers),
        each term counting by how rare it is among the candidates, plus the answer's kind. Returns
        the share of the terms each whole passage holds.

        In a corpus about MF every sentence says "MF" and "登録"; the term that picks the answer
        is the rare one.
        """
        p = self.policy
        focus = question_focus(request.query)

        def present(text: str) -> list[bool]:
            normalised, words = normalise(text), set(request.tokenize(text))
            return [t.found_in(normalised, words) is not None for t in terms]

        has = [present(c.text) for c in found]
        asked_has = {q: present(q) for c in found for q in c.asked}
        weights = [math.log(1 + len(found) / (1 + sum(row[i] for row in has))) for i in range(len(terms))]
        total = sum(weights)

        def overlap(row: list[bool]) -> float:
            return sum(w for w, hit in zip(weights, row) if hit) / total if total else 0.0

        union: dict[int, list[bool]] = {}
        for c, row in zip(found, has):
            seen = union.setdefault(c.n, [False] * len(terms))
            for i, hit in enumerate(row):
                seen[i] = seen[i] or hit or any(asked_has[q][i] for q in c.asked)
        for c, row in zip(found, has):
            own = overlap(row)
            via_question = max((overlap(asked_has[q]) for q in c.asked), default=own)
            c.focus = gives(focus, c.text)
            c.matched = max(own, via_question)
            c.score = ((1 - p.asked_weight) * own + p.asked_weight * max(own, via_question)
                       + (p.focus_weight if c.focus else 0.0)
                       - (p.item_penalty if c.kind != "sentence" else 0.0)
                       + (p.same_language_bonus if detect_lang(c.text) == request.lang else 0.0))
        return {n: overlap(row) for n, row in union.items()}

    def passage_scores(self, request: SummaryRequest, found: list[Candidate],
                       cover: dict[int, float]) -> dict[int, float]:
        """Each passage's best sentence, plus its retrieval score (relative to the best passage's)
        and the share of the question's terms the whole passage holds."""
        p = self.policy
        top = max((h.score for h in request.passages[: p.passages]), default=0.0) or 1.0
        best: dict[int, float] = {}
        for c in found:
            best[c.n] = max(best.get(c.n, float("-inf")), c.score)
        dense = [h.dense_score for h in request.passages[: p.passages] if h.dense_score is not None]
        best_dense = max(dense, default=0.0)

        def closeness(hit) -> float:
            return 0.0 if hit.dense_score is None else 100 * (hit.dense_score - best_dense)

        return {n: score + p.retrieval_weight * request.passages[n - 1].score / top
                + p.page_weight * cover.get(n, 0.0)
                + p.dense_weight * closeness(request.passages[n - 1]) for n, score in best.items()}

    def select(self, request: SummaryRequest, found: list[Candidate], cover: dict[int, float]) -> list[Candidate]:
        p = self.policy
        scores = self.passage_scores(request, found, cover)
        order = sorted(scores, key=lambda n: (-scores[n], n))
        if p.needs_terms:
            matching = {c.n for c in found if c.matched > 0}
            order = [n for n in order if n in matching] or order
        chosen = self._from_passage([c for c in found if c.n == order[0]], p.max_sentences)
        if p.second_within is not None:
            first = request.passages[order[0] - 1]
            margin, more = p.second_within, 1  # a second page at most
            if p.cross_language_within is not None and \
                    translating(request.lang, [h.text for h in request.passages[: p.passages]]):
                margin, more = p.cross_language_within, p.cross_language_pages - 1
            widest = max(margin, p.neighbour_within or 0.0)
            for n in order[1:]:
                hit = request.passages[n - 1]
                if scores[n] < scores[order[0]] - widest:
                    break
                neighbour = hit.doc_id == first.doc_id and abs(hit.page - first.page) == 1
                if scores[n] < scores[order[0]] - (max(margin, p.neighbour_within)
                                                   if neighbour and p.neighbour_within is not None else margin):
                    continue  # a page further on, or of another document, is held to the narrower margin
                if (hit.doc_id, hit.page) not in _pages(request, chosen):
                    extra = self._from_passage([c for c in found if c.n == n], 1)
                    if extra and extra[0].score >= max(c.score for c in chosen) - p.second_sentence_within:
                        chosen += extra
                    more -= 1
                    if more <= 0:
                        break
        if p.figure_pages:
            chosen += self._figures(request, chosen)
        return chosen

    def _figures(self, request: SummaryRequest, chosen: list[Candidate]) -> list[Candidate]:
        """The captions, on other pages of the passages, of the figures and tables the quoted sentences refer to."""
        cited = _pages(request, chosen)
        captions: list[Candidate] = []
        for c in chosen:
            doc_id = request.passages[c.n - 1].doc_id
            labels = {kind + re.sub(r"\s", "", number) for kind, number in _FIGURE_REF.findall(c.text)}
            if len(labels) > 2:
                continue  # a list of figures (a contents page), not a sentence pointing at one
            for label in sorted(labels):
                # A caption: the label opening a line, then its title (「表6は、…」 is a sentence about it).
                caption = re.compile(r"^[【\[［(（<〈]?\s?" + re.escape(label) + r"(?![0-9０-９\-－‐はをにでのがと、。])")
                for n, hit in enumerate(request.passages, 1):
                    if hit.doc_id != doc_id or (hit.doc_id, hit.page) in cited:
                        continue
                    line = next((ln.strip() for ln in hit.text.splitlines() if caption.match(ln.strip())), None)
                    if line and len(line) >= self.policy.min_chars:
                        captions.append(Candidate(n=n, position=0, text=line[: self.policy.max_chars], kind="caption"))
                        cited.add((hit.doc_id, hit.page))
                        break
        return captions

    def _from_passage(self, found: list[Candidate], limit: int) -> list[Candidate]:
        """The passage's best sentences (within a margin of its best), in the passage's order."""
        p = self.policy
        ranked = sorted(found, key=lambda c: (-c.score, c.position))
        chosen: list[Candidate] = []
        used = 0
        for c in ranked:
            if len(chosen) == limit or c.score < ranked[0].score - p.within_best:
                break
            if chosen and p.extra_needs_terms and c.matched == 0:
                continue  # a footer, a note on rounding: it shares nothing with the question
            if any(_near_duplicate(c, other, p) for other in chosen) or (chosen and used + len(c.text) > p.max_chars):
                continue
            chosen.append(c)
            used += len(c.text)
        return sorted(chosen, key=lambda c: c.position)

    def summarize(self, request: SummaryRequest) -> str:
        found = self.candidates(request)
        if not found:
            return ""
        cover = self.score(request, found, self.terms(request))
        return _join(self.select(request, found, cover))


def _pages(request: SummaryRequest, chosen: list[Candidate]) -> set[tuple[str, int]]:
    """The (document, page) of each passage the chosen quotations come from."""
    return {(request.passages[c.n - 1].doc_id, request.passages[c.n - 1].page) for c in chosen}


def _join(chosen: list[Candidate]) -> str:
    parts = []
    for c in chosen:
        ends_sentence = bool(SENTENCE_END.search(c.text))
        separator = ("" if detect_lang(c.text) == "ja" else " ") if ends_sentence else "\n"
        parts.append(f"{c.text}[{c.n}]" if ends_sentence and detect_lang(c.text) == "ja" else f"{c.text} [{c.n}]")
        parts.append(separator)
    return "".join(parts).strip()
