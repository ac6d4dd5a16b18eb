"""A claim and the passages about it -> the spans where they disagree (a number, a date, a negation, a body).

Deterministic: both sides are normalised (quantities.py), then compared fact by fact. A claim's
fact is *backed* when a passage states the same value; it *conflicts* when it is not backed and
the passage sentence closest to the claim states another value for the same thing. Stances
(obligatory/optional, can/cannot, always/in principle, free/paid, exists/none) and named bodies
(厚生労働省, PMDA, 農林水産省…) are facts too, so 「MF登録は必須である」 against 「必須事項では
ありません」 is a conflict as much as 90日 against 60日.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable

from .quantities import Fact, extract, normalize, same_value, states

# axis -> (patterns for "+", patterns for "-"); "-" is matched first and masks the "+" inside it
# (必須ではない holds 必須). Questions are never read for stances: 「費用がかかるか。」 asks, it does not say.
_STANCES: dict[str, tuple[str, str]] = {
    "obligation": (
        r"必須|義務|任意では(?:な|ありません)|任意でな|しなければならない|なければならない|なくてはならない|必要がある|必要があります|必要です|"
        r"必要となる|必要となります|必要になる|必要になります|が必要|求められる|求められます|\bmust\b|\bmandatory\b|\brequired\b|"
        r"\bobligatory\b|\bcompulsory\b|\bhas to\b|\bhave to\b|\bneeds? to\b|\bnecessary\b",
        r"任意(?!では|でな)|必須(?:事項)?では(?:な|ありません)|必須でな|義務では(?:な|ありません)|義務でな|義務はな|必要はな|"
        r"必要はありません|必要ありません|必要がない|不要|求めない|求めていない|求めていません|求められない|"
        r"求められません|求めません|要しない|なくてもよい|なくても(?:構わ|差し支え)|\bvoluntary\b|"
        r"\boptional\b|\bnot (?:mandatory|required|obligatory|compulsory|necessary)\b|\bno need\b|\bneed not\b|"
        r"\b(?:does|do) not (?:need|have) to\b|\bno obligation\b"),
    "certainty": (
        r"必ず|常に|例外なく|いかなる場合も|\balways\b|\bwithout exception\b|\bin all cases\b|\binvariably\b",
        r"原則|基本的に|通常|一般的に|\bin principle\b|\bas a rule\b|\bgenerally\b|\busually\b|\bnormally\b|"
        r"\bbasically\b"),
    "possibility": (
        r"できる|できます|可能|差し支えない|差し支えありません|構わない|構いません|認められる|認められます|"
        r"\bcan\b|\bmay\b|\ballowed\b|\bpermitted\b|\bpossible\b|\bable to\b|\beligible\b",
        r"できない|できません|できず|不可能|不可|認められない|認められません|認められず|対象外|差し控え|"
        r"\bcannot\b|\bcan't\b|\bcan not\b|\bmay not\b|\bnot (?:allowed|permitted|possible|eligible)\b|"
        r"\bimpossible\b|\bunable\b|\bexcluded\b"),
    "cost": (
        r"有料|手数料(?:が|を)(?:かか|要|徴収)|費用(?:が|は)かかる|費用がかかります|\bfee is charged\b|"
        r"\bcharges? a fee\b|\bnot free\b|\bcosts? money\b|\bpaid\b",
        r"無料|費用(?:は|が)?かから|手数料(?:は|が)?(?:不要|かから|無料)|\bfree of charge\b|\bcosts? nothing\b|"
        r"\bno fee\b|\bwithout charge\b|\bfor free\b|\bis free\b"),
    "existence": (
        r"設けている|設けています|設けられている|(?<!必要)がある|(?<!必要)があります|\bthere (?:is|are) (?!no\b)",
        r"(?<!で)はない|(?<!で)はありません|もない|もありません|(?<!必要)がない|がありません|設けておりません|"
        r"設けていない|存在しない|\bthere (?:is|are) no\b|\bno (?:priority|time clock|procedure)\b|\bnone\b"),
    "inclusion": (
        r"含まれる|含まれます|含む|\bincludes?\b|\bincluded\b",
        r"含まれない|含まれません|含まず|含めない|\bnot included\b|\b(?:does|do) not include\b|\bexcludes?\b"),
    "implication": (
        r"ことになる|ことになります|を意味する|\bmeans?\b|\bimplies\b",
        r"ことにはならない|ことにはなりません|ことにならない|ことになりません|を意味しない|を意味するものではない|"
        r"\b(?:does|do) not (?:mean|imply)\b|\bdoesn't mean\b"),
    "appropriate": (
        r"適切である|適切です|適当である|\bappropriate\b",
        r"適切では(?:な|ありません)|適切でな|不適切|適当でな|\bnot appropriate\b|\binappropriate\b"),
}
_STANCE_RE = {axis: (re.compile(pos, re.IGNORECASE), re.compile(neg, re.IGNORECASE))
              for axis, (pos, neg) in _STANCES.items()}

# Named bodies and places: kind -> canonical name -> aliases (Japanese and English).
_NAMES: dict[str, dict[str, str]] = {
    "body": {
        "MHLW": r"厚生労働省|厚労省|厚生省|厚生労働大臣|\bMHLW\b|Ministry of Health,? Labou?r and Welfare|health ministry",
        "PMDA": r"医薬品医療機器総合機構|総合機構|(?<![a-z])機構|\bPMDA\b|Pharmaceuticals and Medical Devices Agency",
        "MAFF": r"農林水産省|農水省|農林水産大臣|\bMAFF\b|Ministry of Agriculture",
        "prefecture": r"都道府県|\bprefectur(?:e|es|al)\b",
        "Digital Agency": r"デジタル庁|Digital Agency",
        "MIC": r"総務省|Ministry of Internal Affairs",
        "METI": r"経済産業省|\bMETI\b|Ministry of Economy",
        "Cabinet Office": r"内閣府|Cabinet Office",
        "NPA": r"警察庁|National Police Agency",
        "FDA": r"\bFDA\b|米国食品医薬品局|Food and Drug Administration",
        "EMA": r"\bEMA\b|欧州医薬品庁|European Medicines Agency",
    },
    "pharmacopoeia": {
        "JP": r"日本薬局方|日局|\bJP\b|Japanese Pharmacopoeia",
        "USP": r"米国薬局方|\bUSP\b|United States Pharmacopeia",
        "EP": r"欧州薬局方|\bEP\b|European Pharmacopoeia",
    },
    "country": {
        "UK": r"英国|イギリス|\bUK\b|United Kingdom|Britain",
        "Portugal": r"ポルトガル|Portugal", "France": r"フランス|France", "Germany": r"ドイツ|Germany",
        "US": r"米国(?!薬局方|食品)|アメリカ|United States(?! Pharmacopeia)", "China": r"中国|China",
        "India": r"インド|India", "Japan": r"日本(?!薬局方|語)|\bJapan\b",
    },
    # Japanese only: across languages "change registration" met 軽微変更届 in sentences about something else.
    "procedure": {
        "new registration": r"新規(?:の)?(?:MF)?登録",
        "change registration": r"(?<!軽微)変更登録",
        "minor change": r"軽微(?:な)?変更(?:の)?届",
        "partial change": r"一部変更承認",
    },
}
_NAME_RE = {kind: [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in names.items()]
            for kind, names in _NAMES.items()}
_QUESTION = re.compile(r"[かか][。？?]?\s*$|[?？]\s*$|^\s*\(?[問間]\s*\d+\)?")
_SENTENCE = re.compile(r"[^。！？!?\n]+(?:[。！？!?]+|$)|(?<=[.])\s+")


@dataclass(frozen=True)
class Conflict:
    """A claim span and the passage span that states something else about the same thing."""

    claim: str
    passage: str
    kind: str  # the fact's key: "date", "day", "obligation", "body", …
    passage_index: int  # which of the given passages

    def to_dict(self) -> dict:
        return {"claim": self.claim, "passage": self.passage, "kind": self.kind}


@dataclass
class Comparison:
    conflicts: list[Conflict]
    unbacked: list[Fact]  # the claim's numbers, dates and names that no passage states


def facts(text: str) -> list[Fact]:
    """Quantities, stances and names of one sentence or passage, in normalised form."""
    found = extract(text)
    plain = unicodedata.normalize("NFKC", text)
    for axis, (positive, negative) in _STANCE_RE.items():
        masked = plain
        for m in negative.finditer(plain):
            found.append(Fact(axis, "-", m.group(0), m.start(), m.end()))
            masked = masked[:m.start()] + "\x00" * (m.end() - m.start()) + masked[m.end():]
        for m in positive.finditer(masked):
            found.append(Fact(axis, "+", m.group(0), m.start(), m.end()))
    for kind, names in _NAME_RE.items():
        for name, pattern in names:
            for m in pattern.finditer(plain):
                found.append(Fact(kind, name, m.group(0), m.start(), m.end()))
    return found


def sentences(text: str) -> list[str]:
    """Passage sentences (Japanese 。 or line breaks, English full stops)."""
    text = normalize(text)
    parts = [p.strip() for p in re.split(r"(?<=[。！？!?])|\n|(?<=[a-z0-9)][.])\s+(?=[A-Z(])", text)]
    return [p for p in parts if len(p) >= 4]


STANCE_KEYS = frozenset(_STANCES)
NAME_KEYS = frozenset(_NAMES)


def compare(claim: str, passages: list[str], relevance: Callable[[str, list[str]], list[float]],
            topical: list[bool] | None = None) -> Comparison:
    """Conflicts between `claim` and `passages`; `relevance(claim, sentences)` scores sentences for the claim.

    Only passages marked `topical` (about the same thing as the claim) are read. A number or date
    is backed when any of them states it; a stance or a name is decided by the sentence closest to
    the claim that speaks of it (the passage may say 「必須」 about something else).
    """
    topical = topical if topical is not None else [True] * len(passages)
    claim_facts = _dedupe(facts(claim))
    if not claim_facts or not any(topical):
        return Comparison([], [f for f in claim_facts if f.key not in STANCE_KEYS | NAME_KEYS])
    passage_facts = [facts(p) for p, on in zip(passages, topical) if on]
    # Sentences are aligned on what the claim is about, not on its details: the altered detail
    # (厚生労働省 for 機構) would otherwise pull in another sentence that happens to name it.
    topic = _mask(unicodedata.normalize("NFKC", claim), claim_facts)
    ranked: list[tuple[float, int, str]] = []
    for index, text in enumerate(passages):
        if topical[index]:
            asked, said = _answers(sentences(text))
            ranked += [(score, index, part) for score, part in zip(relevance(topic, asked) if asked else [], said)]
    ranked.sort(key=lambda item: -item[0])
    best = ranked[0][0] if ranked else 0.0
    close = [(index, part, facts(part)) for score, index, part in ranked if score >= max(ALIGNED * best, 1e-9)]
    conflicts, unbacked = [], []
    for fact in claim_facts:
        if fact.key in STANCE_KEYS or fact.key in NAME_KEYS:
            decided = next(((i, part, fs) for i, part, fs in close if any(f.key == fact.key for f in fs)), None)
            if decided is None or _backs(fact, decided[2]):
                continue
            other = next(f for f in decided[2] if f.key == fact.key)
            conflicts.append(Conflict(fact.span, _window(decided[1], other), fact.key, decided[0]))
            continue
        if any(_backs(fact, fs) for fs in passage_facts):
            continue
        found = next(((i, part, f) for i, part, fs in close[:3] for f in fs
                      if f.key == fact.key and not same_value(f.key, f.value, fact.value)), None)
        if found is not None:
            conflicts.append(Conflict(fact.span, _window(found[1], found[2]), fact.key, found[0]))
        else:
            unbacked.append(fact)
    return Comparison(conflicts, unbacked)


ALIGNED = 0.5  # sentences within this share of the best one's relevance are "about the claim"


def _backs(fact: Fact, found: list[Fact]) -> bool:
    return any(f.key == fact.key and states(f.key, fact.value, f.value) for f in found)


def _answers(parts: list[str]) -> tuple[list[str], list[str]]:
    """(text to align on, text that asserts) per sentence. A question asserts nothing; the answer after it
    is aligned together with it (「…軽微変更届出でよいか。」「軽微変更届出で差し支えない。」)."""
    asked, said, question = [], [], ""
    for part in parts:
        if _QUESTION.search(part):
            question = part
            continue
        asked.append(f"{question} {part}" if question else part)
        said.append(part)
        question = ""
    return asked, said


def _mask(text: str, found: list[Fact]) -> str:
    spans = {f.span for f in found if f.key in STANCE_KEYS or f.key in NAME_KEYS} | {normalize(f.span) for f in found}
    for span in sorted(spans, key=len, reverse=True):
        text = text.replace(span, " ")
    return text if len(text.strip()) >= 4 else text + " " + " ".join(spans)


def _dedupe(found: list[Fact]) -> list[Fact]:
    seen, result = set(), []
    for fact in found:
        if (fact.key, str(fact.value)) not in seen:
            seen.add((fact.key, str(fact.value)))
            result.append(fact)
    return result


def _window(sentence: str, fact: Fact, width: int = 60) -> str:
    """The passage sentence around the differing span, short enough to show beside the claim's."""
    if len(sentence) <= 2 * width:
        return sentence
    start = max(0, fact.start - width)
    end = min(len(sentence), fact.end + width)
    return ("…" if start else "") + sentence[start:end] + ("…" if end < len(sentence) else "")
