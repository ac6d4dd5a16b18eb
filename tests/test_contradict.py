"""Deterministic comparison of a claim with its passages: normalised numbers, dates, stances and bodies."""

from __future__ import annotations

import pytest

from govqa.contradict import compare, facts
from govqa.quantities import extract, kanji_to_int, normalize


def words(claim: str, sentences: list[str]) -> list[float]:
    """Relevance for the tests: the share of the claim's characters found in the sentence."""
    chars = set(claim)
    return [len(chars & set(s)) / len(chars) for s in sentences]


def values(text: str) -> list[tuple]:
    return [(f.key, f.value) for f in extract(text)]


@pytest.mark.parametrize("text, expected", [
    ("平成26 年11 月25 日から適用", [("date", (2014, 11, 25))]),
    ("2014年11月25日から適用", [("date", (2014, 11, 25))]),
    ("from 25 November 2014", [("date", (2014, 11, 25))]),
    ("from November 25, 2014", [("date", (2014, 11, 25))]),
    ("令和元年度の調査", [("fiscal", 2019)]),
    ("FY2024 budget", [("fiscal", 2024)]),
    ("審査は九十日以内", [("day", 90)]),
    ("takes ninety days", [("day", 90)]),
    ("手数料は３万円", [("yen", 30000)]),
    ("予算は1.5億円", [("yen", 150_000_000)]),
    ("約９８％が", [("pct", 98)]),
    ("3割が", [("pct", 30)]),
    ("renewed every five years", [("year", 5)]),
    ("薬事法第15条", [("article", (15, None))]),
    ("ダミー番号99AZ555555", [("code", "99AZ555555")]),
    ("平成17年3月3 1日まで", [("date", (2005, 3, 31))]),  # OCR split the day
    ("一般用医薬品の一部変更、十分に協議", []),  # 一般, 一部, 十分 are words, not numbers
    ("CTDの第2部", []),  # an ordinal, not a count of copies
])
def test_numbers_dates_and_periods_are_normalised(text, expected):
    assert values(text) == expected


def test_kanji_numerals():
    assert [kanji_to_int(k) for k in ("九十", "三千五百", "一億二千万", "二〇二五", "十")] == [90, 3500, 120_000_000, 2025, 10]
    assert normalize("ＭＦ登録は５年") == "MF登録は5年"


@pytest.mark.parametrize("text, axis, value", [
    ("MF登録申請は、必須事項ではありません。", "obligation", "-"),
    ("MF制度は任意登録制度です。", "obligation", "-"),
    ("原薬等国内管理人の選任が必須となっている。", "obligation", "+"),
    ("MF登録は任意ではない。", "obligation", "+"),
    ("押印に代えることができます。", "possibility", "+"),
    ("押印に代えることはできない。", "possibility", "-"),
    ("MF登録申請は、無料で行っています。", "cost", "-"),
    ("MF registration is mandatory.", "obligation", "+"),
    ("MF registration is voluntary.", "obligation", "-"),
    ("必ず一部変更承認申請になる。", "certainty", "+"),
    ("原則、一部変更承認申請になる。", "certainty", "-"),
])
def test_stances_read_negation_and_modality(text, axis, value):
    assert (axis, value) in [(f.key, f.value) for f in facts(text)]


PASSAGE = ("(問2) MF登録申請は、必須事項か。(答) 1. MF 制度は任意登録制度ですので、MF登録申請は、必須事項ではありません。"
           "本通知は、平成26 年11 月25 日から適用することとし、旧指針は同日をもって廃止します。"
           "MF登録事項についての照会がある場合は、MF登録者に対して直接機構から照会が行われること。")


@pytest.mark.parametrize("claim, kind", [
    ("MF登録申請は必須事項である。", "obligation"),
    ("本通知は平成26年12月1日から適用される。", "date"),
    ("本通知は2015年11月25日から適用される。", "date"),
    ("照会がある場合は、厚生労働省からMF登録者に直接照会が行われる。", "body"),
])
def test_a_changed_detail_is_a_conflict_with_both_spans(claim, kind):
    result = compare(claim, [PASSAGE], words)
    assert [c.kind for c in result.conflicts] == [kind]
    assert result.conflicts[0].claim in claim and result.conflicts[0].passage


@pytest.mark.parametrize("claim", [
    "MF登録申請は必須事項ではない。",
    "MF制度は任意の登録制度である。",
    "本通知は2014年11月25日から適用される。",  # 西暦 for 和暦
    "照会はPMDAからMF登録者に直接行われる。",  # an English alias of 機構
])
def test_the_same_fact_in_other_words_is_no_conflict(claim):
    assert compare(claim, [PASSAGE], words).conflicts == []


def test_a_question_in_the_passage_asserts_nothing_and_an_unrelated_passage_cannot_contradict():
    assert compare("MF登録申請は必須事項である。", ["(問2) MF登録申請は、必須事項か。"], words).conflicts == []
    assert compare("MF登録申請は必須事項である。", [PASSAGE], words, topical=[False]).conflicts == []


def test_a_number_no_passage_states_is_reported_as_unbacked():
    result = compare("MF登録の審査には通常90日を要する。", [PASSAGE], words)
    assert result.conflicts == [] and [f.span for f in result.unbacked] == ["90日"]
