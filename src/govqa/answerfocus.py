"""What kind of answer a question asks for, and whether a sentence gives that kind.

何円/何％/何件/how many ask for a number, いつ/when for a date or period, どのような/what kinds
for a list, とは/what is for a definition. A sentence that gives the kind asked for is
preferred over one that only shares the question's words (「手数料は無料です」 over
「手数料の納付方法について」).
"""

from __future__ import annotations

import re
import unicodedata

NUMBER, DATE, LIST, DEFINITION = "number", "date", "list", "definition"

_FOCUS = [
    (DATE, re.compile(
        r"いつ|何時|何年|何月|何日から|何日まで|期限|期日|締切|時期|施行日|適用日|開始日"
        r"|\bwhen\b|\bwhat (?:date|year|month|day|time)\b|\bwhich (?:date|year|month)\b|\bdeadline\b"
        r"|\bfrom which date\b|\bhow long\b|\bperiod\b|\buntil\b|\bby when\b")),
    (NUMBER, re.compile(
        r"何円|いくら|何[％%]|何パーセント|何件|何人|何名|何日|何か月|何ヶ月|何ヵ月|何年間|何回|何倍|何社|何個|何種類|何歳"
        r"|どのくらい|どれくらい|どの程度|割合|金額|費用|手数料|件数|人数|比率|率は"
        r"|\bhow (?:many|much)\b|\bwhat (?:percentage|share|proportion|fee|amount|number|ratio)\b"
        r"|\bhow high\b|\bhow large\b|\bcost\b|\bfee\b")),
    (DEFINITION, re.compile(
        r"とは(?:何|なに|どういう|どのような)?|の定義|の意味|を指す|とはどのような"
        r"|^\s*what (?:is|are|does) (?:an? |the )?[\w\- ]+?(?: mean)?\??$|\bdefin(?:e|ition)\b|\bmeaning of\b")),
    (LIST, re.compile(
        r"どのような|どんな|どういった|どれ|何が|何を|いずれ|種類|項目|挙げ|例を|事例|具体的"
        r"|\bwhat kinds?\b|\bwhat types?\b|\bwhich (?:items|documents|cases|products|materials|ones)\b"
        r"|\bwhat (?:items|documents|cases|measures|steps)\b|\blist\b|\bexamples?\b|\bsuch as\b")),
]

_DIGIT = r"[0-9０-９〇一二三四五六七八九十百千万億]"
_NUMBER_RE = re.compile(
    r"[0-9][0-9,.]*\s*(?:円|%|％|件|人|名|日|週|か月|ヶ月|カ月|箇月|年|倍|億|万|千|回|歳|時間|分|社|個|種類|ポイント|点|割|円)"
    r"|無料|不要|要しない|かからない|[0-9][0-9,.]*\s*(?:yen|percent|days?|weeks?|months?|years?|times|cases|people)"
    r"|" + _DIGIT + r"+(?:円|件|人|名|割)")
_DATE_RE = re.compile(
    r"(?:令和|平成|昭和)\s*(?:[0-9]+|元)\s*年|[0-9]{4}\s*年|[0-9]{1,2}\s*月\s*[0-9]{1,2}\s*日|[0-9]{1,2}\s*月(?:末|中|以降)"
    r"|[0-9]+\s*(?:日|週間|か月|ヶ月|カ月|箇月|年)\s*(?:以内|以降|前|後|まで|から|間)|施行|から適用|以降|までに"
    r"|\b(?:19|20)[0-9]{2}\b|\b(?:january|february|march|april|may|june|july|august|september|october|"
    r"november|december)\b")
_LIST_RE = re.compile(r"(?:[^、]+、){2,}|[①-⑳]|・.+・|(?:^|\s)[(（]?[0-9０-９a-zア-ン][)）.．]\s*\S|等|など|及び|並びに|又は|または")
_DEFINITION_RE = re.compile(r"とは|をいう|をいい|のことを|のことで|を指す|と定義|と呼ぶ|を意味|\bmeans\b|\brefers to\b|\bis defined\b")

_SENTENCE_MATCH = {NUMBER: _NUMBER_RE, DATE: _DATE_RE, LIST: _LIST_RE, DEFINITION: _DEFINITION_RE}


def question_focus(question: str) -> str | None:
    """The kind of answer asked for, or None when the question does not say."""
    text = unicodedata.normalize("NFKC", question).lower().strip()
    for kind, pattern in _FOCUS:
        if pattern.search(text):
            return kind
    return None


def gives(kind: str | None, sentence: str) -> bool:
    """Does the sentence give an answer of that kind (a number, a date, a list, a definition)?"""
    if kind is None:
        return False
    return bool(_SENTENCE_MATCH[kind].search(unicodedata.normalize("NFKC", sentence).lower()))


# A question that asks for a quantity in a unit (何人, 何円, what percentage …) is answered only by a
# passage that gives one: a number in that unit, a table headed in it (「単位：人」, 「（件）」), or a number
# right after the quantity's name (a table row 「登録件数: 170」, 「保有比率は22.6」). When
# none of the passages does, the documents do not hold the answer, however close their words are
# (「被験者数は何人か」 over notices that never count subjects). Each unit: the question's words that
# ask for it, the words a passage writes it with, and the names of the quantity a column is headed with.
_UNITS = {
    "people": (r"何人|何名|何例|how many (?:people|persons|participants|subjects|patients|employees|staff|workers)",
               r"人|名|例|people|persons|participants|subjects|patients", r"人数|者数|員数|例数"),
    "yen": ((r"何円|(?:費用|金額|手数料|料金|価格|額)はいくら|how much (?:does|do|is|are|will)\b.*\b(?:cost|fee|charge|pay)"
             r"|what (?:is|are) the (?:fee|cost|price|charge)"),
            r"円|yen", r"金額|価格|料金|費用|手数料|額"),
    "percent": (r"何[%％]|何パーセント|何割|what (?:percentage|percent|share)", r"%|％|パーセント|割|percent",
                r"割合|比率|率|シェア"),
    "cases": (r"何件|how many cases", r"件|cases", r"件数"),
    "times": (r"何回|how many times", r"回|times", r"回数"),
    "companies": (r"何社|how many companies", r"社|companies", r"社数"),
    "age": (r"何歳|how old", r"歳|years old", r"年齢"),
}
_NUMERAL = r"[0-9〇一二三四五六七八九十百千万億][0-9,.〇一二三四五六七八九十百千万億]*"
_ASKED = [(unit, re.compile(asked)) for unit, (asked, _, _) in _UNITS.items()]
_GIVEN = {unit: re.compile(rf"{_NUMERAL}\s*(?:{given})|単位\s*[:：]?\s*[千万億]?(?:{given})|[(（]\s*[千万億]?(?:{given})\s*[)）]"
                           rf"|(?:{named})[^。\n0-9]{{0,4}}[0-9]"
                           + (r"|無料|不要|要しない|かからない|free of charge|no fee" if unit == "yen" else ""))
          for unit, (_, given, named) in _UNITS.items()}


def asked_unit(question: str) -> str | None:
    """The unit of the quantity the question asks for (people, yen, percent, …), or None."""
    text = unicodedata.normalize("NFKC", question).lower()
    return next((unit for unit, pattern in _ASKED if pattern.search(text)), None)


def gives_unit(unit: str, text: str) -> bool:
    """Does the text give a quantity in that unit (or head a table with it)?"""
    return bool(_GIVEN[unit].search(unicodedata.normalize("NFKC", text).lower()))


def missing_unit(question: str, texts: list[str]) -> str | None:
    """The unit the question asks its quantity in, when there are passages and none of them gives it."""
    unit = asked_unit(question)
    return unit if unit and texts and not any(gives_unit(unit, text) for text in texts) else None
