"""Marking the query's terms in a passage: spans in code points, width- and case-folded."""

from api.highlight import term_spans


def marked(text: str, terms: list[str]) -> list[str]:
    return [text[start:end] for start, end in term_spans(text, terms)]


def test_full_width_and_upper_case_letters_match_the_folded_term():
    assert marked("ＭＦ登録申請は無料です", ["mf", "登録申請"]) == ["ＭＦ登録申請"]


def test_latin_terms_match_whole_words_and_plurals_only():
    assert marked("Cards, a card, discard, cardinal, boxes", ["card", "box"]) == ["Cards", "card", "boxes"]


def test_overlapping_terms_merge_into_one_span():
    assert term_spans("原薬等登録原簿", ["原薬", "原薬等登録", "登録原簿"]) == [(0, 7)]


def test_offsets_count_code_points_beyond_the_basic_plane():
    text = "𠮷野家の申請"
    assert marked(text, ["申請"]) == ["申請"]
    assert term_spans(text, ["申請"]) == [(4, 6)]


def test_no_terms_no_spans():
    assert term_spans("anything", []) == []
