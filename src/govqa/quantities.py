"""Text -> the numbers, amounts, dates and periods it states, normalised so that a claim and a passage compare.

Japanese and English alike: 全角 digits, kanji numerals (九十日), 万/億, 和暦 (平成26年 = 2014),
年度 and English number words ("ninety days", "25 November 2014"). A fact's `key` says what
is measured (a date, days, percent, yen, …) and `value` the normalised amount; two facts with
the same key compare by value.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Fact:
    key: str  # "date", "fiscal", "day", "pct", "yen", "article", "code", or a stance / body axis
    value: object
    span: str  # as written in the text
    start: int = 0
    end: int = 0


_ERAS = {"令和": 2018, "平成": 1988, "昭和": 1925, "大正": 1911, "R": 2018, "H": 1988, "S": 1925}
_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_SMALL = {"十": 10, "百": 100, "千": 1000}
_KANJI_LARGE = {"万": 10_000, "億": 100_000_000, "兆": 1_000_000_000_000}
# Kanji numerals become digits only before a counter: 一般, 一部 (a part), 十分 (enough) stay words.
_KANJI_NUMBER = re.compile(r"(?<![\d同唯統第])((?:[〇零一二三四五六七八九十百千]+[万億兆]?)+)"
                           r"(?=日|年|か月|ヶ月|カ月|箇月|ケ月|週|時間|%|パーセント|割|円|件|回|人|名|倍|歳|段階|種類|か所|箇所|か国|カ国)")
_EN_UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
             "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
             "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
            "ninety": 90}
_EN_NUMBER = re.compile(r"\b(?:(" + "|".join(_EN_TENS) + r")(?:[- ](" + "|".join(list(_EN_UNITS)[1:10]) + r"))?|("
                        + "|".join(_EN_UNITS) + r"))(?:\s+(hundred|thousand|million|billion))?\b(?=\s+[a-z%])",
                        re.IGNORECASE)
_EN_SCALE = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
_MONTHS = {m: i for i, m in enumerate(["january", "february", "march", "april", "may", "june", "july", "august",
                                       "september", "october", "november", "december"], start=1)}
_MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|december|" \
         r"jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?"

_JA_DATE = re.compile(r"(?:(令和|平成|昭和|大正)(\d{1,2}|元)|(\d{4}))年(度)?(?:(\d{1,2})月(?:(\d{1,2})日)?)?")
_MONTH_DAY = re.compile(r"(?<![\d年])(\d{1,2})月(\d{1,2})日")
_ISO_DATE = re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b")
_EN_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+(\d{{4}})\b", re.IGNORECASE)
_EN_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE)
_EN_MONTH_YEAR = re.compile(rf"\b{_MONTH}\s+(\d{{4}})\b", re.IGNORECASE)
_EN_FISCAL = re.compile(r"\b(?:FY\s?|fiscal(?:\s+year)?\s+)(\d{4})\b", re.IGNORECASE)
_EN_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b(?!\s*(?:%|percent|yen|days?|years?|months?))")

_NUM = r"(\d[\d,]*(?:\.\d+)?)"
# Unit after a number -> (key, multiplier). Longest first; English units are words.
_UNITS = [
    (r"日間|営業日|日|business days?|days?", "day", 1), (r"週間|週|weeks?", "week", 1),
    (r"か月|ヶ月|カ月|箇月|ケ月|月間|months?", "month", 1), (r"年間|年|years?", "year", 1),
    (r"時間|hours?", "hour", 1), (r"%|パーセント|percent|per cent", "pct", 1), (r"割", "pct", 10),
    (r"円|yen", "yen", 1), (r"件|cases?", "case", 1), (r"回|times", "times", 1),
    (r"人|名|people|persons?", "person", 1), (r"倍|-fold|fold", "fold", 1), (r"歳|years? old", "age", 1),
    (r"段階|stages?|levels?", "stage", 1), (r"種類|types|kinds", "kind", 1), (r"社|companies", "company", 1),
    (r"か国|カ国|ヶ国|countries", "country", 1), (r"部|copies|copy", "copy", 1),
]
_UNIT_RE = "|".join(f"(?P<u{i}>{pattern})" for i, (pattern, _, _) in enumerate(_UNITS))
_QUANTITY = re.compile(rf"(?<![0-9A-Za-z.,第]){_NUM}\s*(?P<scale>兆|億|万|千|million|billion|thousand)?\s*(?:{_UNIT_RE})(?![A-Za-z])",
                       re.IGNORECASE)
_ARTICLE = re.compile(r"第\s*(\d+)\s*条(?:\s*第\s*(\d+)\s*項)?|\bArticle\s+(\d+)(?:\s*\((\d+)\))?", re.IGNORECASE)
_CODE = re.compile(r"(?<![A-Za-z0-9])(?=[A-Z0-9]*\d{4})(?=[A-Z0-9]*[A-Z])[A-Z0-9]{6,}(?![A-Za-z0-9])")


def normalize(text: str) -> str:
    """NFKC (全角 -> 半角), digits joined across OCR spaces, kanji and English numerals as digits."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"(\d)\s+(?=[年月日%円件回人名倍歳条項号])", r"\1", text)
    text = re.sub(r"(?<=[年月第])\s+(?=\d)", "", text)
    text = re.sub(r"(?<=\d)\s+(?=\d+[年月日])", "", text)  # OCR: "3 1日" -> "31日"
    text = _KANJI_NUMBER.sub(lambda m: str(kanji_to_int(m.group(1))), text)
    text = re.sub(r"(?<=[令和平成昭和大正])元(?=年)", "1", text)
    return _EN_NUMBER.sub(_english_number, text)


def kanji_to_int(run: str) -> int:
    """九十 -> 90, 三千五百 -> 3500, 一億二千万 -> 120000000, 二〇二五 -> 2025."""
    if all(ch in _KANJI_DIGITS for ch in run):
        return int("".join(str(_KANJI_DIGITS[ch]) for ch in run))
    total, section, digit = 0, 0, 0
    for ch in run:
        if ch in _KANJI_DIGITS:
            digit = _KANJI_DIGITS[ch]
        elif ch in _KANJI_SMALL:
            section += (digit or 1) * _KANJI_SMALL[ch]
            digit = 0
        else:
            total += (section + digit or 1) * _KANJI_LARGE[ch]
            section = digit = 0
    return total + section + digit


def _english_number(match: re.Match) -> str:
    value = _EN_TENS[match.group(1).lower()] + (_EN_UNITS[match.group(2).lower()] if match.group(2) else 0) \
        if match.group(1) else _EN_UNITS[match.group(3).lower()]
    return str(value * _EN_SCALE[match.group(4).lower()] if match.group(4) else value)


def _number(text: str) -> float:
    value = float(text.replace(",", ""))
    return int(value) if value.is_integer() else value


def extract(text: str) -> list[Fact]:
    """Dates, fiscal years, quantities with units, law articles and codes stated in `text` (normalised first)."""
    text = normalize(text)
    facts: list[Fact] = []
    taken: list[tuple[int, int]] = []

    def add(key: str, value, match: re.Match) -> None:
        if any(s < match.end() and match.start() < e for s, e in taken):
            return
        taken.append((match.start(), match.end()))
        facts.append(Fact(key, value, match.group(0), match.start(), match.end()))

    for m in _JA_DATE.finditer(text):
        year = _ERAS[m.group(1)] + int(m.group(2)) if m.group(1) else int(m.group(3))
        if m.group(4):
            add("fiscal", year, m)
        else:
            add("date", (year, _int(m.group(5)), _int(m.group(6))), m)
    for m in _ISO_DATE.finditer(text):
        add("date", (int(m.group(1)), int(m.group(2)), int(m.group(3))), m)
    for m in _EN_DAY_MONTH.finditer(text):
        add("date", (int(m.group(3)), _MONTHS[_month(m.group(2))], int(m.group(1))), m)
    for m in _EN_MONTH_DAY.finditer(text):
        add("date", (int(m.group(3)), _MONTHS[_month(m.group(1))], int(m.group(2))), m)
    for m in _EN_MONTH_YEAR.finditer(text):
        add("date", (int(m.group(2)), _MONTHS[_month(m.group(1))], None), m)
    for m in _EN_FISCAL.finditer(text):
        add("fiscal", int(m.group(1)), m)
    for m in _MONTH_DAY.finditer(text):
        add("date", (None, int(m.group(1)), int(m.group(2))), m)
    for m in _ARTICLE.finditer(text):
        add("article", (int(m.group(1) or m.group(3)), _int(m.group(2) or m.group(4))), m)
    for m in _QUANTITY.finditer(text):
        index = next(int(name[1:]) for name, value in m.groupdict().items() if name.startswith("u") and value)
        _, key, multiplier = _UNITS[index]
        value = _number(m.group(1)) * multiplier * _scale(m.group("scale"))
        if key == "year" and value >= 1000:
            continue  # a calendar year ("2025年"), taken below
        add(key, value, m)
    for m in _EN_YEAR.finditer(text):
        add("date", (int(m.group(1)), None, None), m)
    for m in _CODE.finditer(text):
        add("code", m.group(0), m)
    return sorted(facts, key=lambda f: f.start)


def same_value(key: str, a, b) -> bool:
    """Equal, or for dates compatible: 2005 matches 2005-02-10, 11-25 matches 2014-11-25."""
    if key != "date":
        return a == b
    return all(x is None or y is None or x == y for x, y in zip(a, b))


def states(key: str, claimed, stated) -> bool:
    """Whether a passage's value states the claim's: for dates every part the claim gives (2005-03-31 is
    not stated by a bare 2005, but 2005 is stated by 2005-03-31)."""
    if key != "date":
        return claimed == stated
    return all(c is None or c == s for c, s in zip(claimed, stated))


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def _month(name: str) -> str:
    name = name.lower().rstrip(".")
    return next(month for month in _MONTHS if month.startswith(name[:3]))


def _scale(word: str | None) -> int:
    return {"兆": 1_000_000_000_000, "億": 100_000_000, "万": 10_000, "千": 1000, "thousand": 1000, "million": 1_000_000,
            "billion": 1_000_000_000}.get((word or "").lower(), 1)
