"""What in a passage an extractive answer may quote: a sentence, a list item, a table row, a line.

Not a heading, a page number, a table of contents' entry, OCR debris, a fragment the chunker cut, a
question restated above its answer, or a chart's axis ticks.
"""

from __future__ import annotations

import re
from typing import Protocol

from .chunk import heading_of


class QuoteRules(Protocol):
    """What `quote_kind` reads of a policy (extractive.ExtractivePolicy has each, with why it is set so)."""

    min_chars: int
    max_noise: float
    long_unstopped: int
    items: bool
    min_item_chars: int
    min_row_letters: float
    axis_rows: bool


SENTENCE_END = re.compile(r"[。！？.!?][」』）)\"']*$")
_QUESTION = re.compile(
    r"(?:か|でしょうか|ですか|ますか)[。？?]?[」』）)]*$"  # Japanese question endings
    r"|[？?][」』）)\"']*$"
    r"|^\s*[(（]?\s*(?:問|Q)\s*[0-9０-９]*\s*[)）]"  # (問3) / Q3) opening a question block
    r"|[(（]\s*問\s*[0-9０-９]+\s*[)）](?!\s*を)"  # ... but not "(問5)を参照"
)
# A sentence never starts with a particle, an inflection or closing punctuation: the chunk began mid-sentence.
_CUT_START = re.compile(r"^[をにがはのへでてんっゃゅょーるれりくずねぁぃぅぇぉ、。，．,.)）」』\]］〕]|^[a-z]")
# Slide decks and tables state their facts as list items ("・中小企業は…", "○登録取消しの日から5年…")
# and rows ("セキュリティ教育・普及啓発 15.6% 27.0%"), never as sentences.
_ITEM_MARK = re.compile(r"^[・●■◆◇○□◎⚫▪▶►➡※\ue000-\uf8ff]\s*\S")  # with slides' private-use bullet glyphs
_NUMBER = re.compile(r"[0-9０-９]")
# A Japanese sentence "ending" in Latin letters and an ASCII full stop: OCR read a mark as "." mid-sentence.
_OCR_CUT_END = re.compile(r"[\u3040-\u9fff、][A-Z]{1,4}\.$")
_PAIRS = {"」": "「", "』": "『", ")": "(", "）": "（", "]": "[", "］": "［"}
# A note's or a list item's label closes a bracket it never opened: 「注2)」「※1)」「3)」「a)」「イ)」.
_LABEL = re.compile(r"(?:注|※)\s?[0-9]{1,2}[)）]"
                    r"|(?:^|(?<=[\s。、;:]))(?:[0-9]{1,2}|[a-z]|[アイウエオロハニホヘト]|[一二三四五六七八九十])[)）]")
# A table of contents' entry: its title, a leader of dots, a page number. Never an answer.
_LEADER = re.compile(r"(?:\.\s?){4,}|(?:・\s?){4,}|(?:‥\s?){2,}|(?:-\s?){6,}")
# What OCR makes of stamps, rules and table lines; prose has next to none of it. "; " between a table
# row's "header: value" pairs (tables.rows_to_lines) is not debris.
_OCR_NOISE = re.compile(r"[|¦~^_=<>\\{}@#$&*+`™®©¶§†‡]|;(?! )|(?<=[\u3040-\u9fff])\s?[a-zA-Z]\s?(?=[\u3040-\u9fff])")


def quote_kind(text: str, policy: QuoteRules, first: bool, lines: bool = False) -> str | None:
    """"sentence" for a whole sentence of prose, "item" for a list item, "row" for a table row with
    figures, and with `lines` "line" for any other line of prose (a table's cell, a figure's label);
    None for a heading, page number, OCR debris or a fragment cut by the chunker (the first sentence of
    a passage that starts mid-sentence)."""
    compact = text.replace(" ", "")
    letters = sum(ch.isalpha() for ch in compact)
    if len(text) < policy.min_chars:
        return None
    if _CUT_START.match(text) and (first or not text[0].isascii()) or _unbalanced(text) or _OCR_CUT_END.search(text):
        return None
    if len(_OCR_NOISE.findall(text)) > policy.max_noise * len(compact) or _LEADER.search(text):
        return None
    prose = letters >= 0.5 * len(compact)
    if prose and not heading_of(text) and (SENTENCE_END.search(text) or len(text) >= policy.long_unstopped):
        return "sentence"
    if not policy.items or len(compact) < policy.min_item_chars:
        return None
    if prose and _ITEM_MARK.match(text):
        return "item"
    if letters >= policy.min_row_letters * len(compact) and _NUMBER.search(text) and not heading_of(text) \
            and (policy.axis_rows or not axis_ticks(text)):
        return "row"
    if lines and prose and not heading_of(text):
        return "line"
    return None


_TICK = re.compile(r"(?<![0-9.,])([0-9]+(?:\.[0-9]+)?)(%?)(?![0-9.,])")


def axis_ticks(text: str, run: int = 4) -> bool:
    """Is the text mostly a chart axis's ticks: half or more of its numbers in runs of `run` or more, evenly
    spaced (「14 12 10 8 6 4 2」, 「0% 20% 40% 60% 80% 100%」)? A row of data that a chart's scale runs into
    (「0% 20% … 100%選定基準 19.4% 23.1% …」) is not."""
    values = [(float(m.group(1)), m.start(), m.end()) for m in _TICK.finditer(text)]

    def steps_on(j: int, first: int) -> bool:  # values[j] continues the run that starts at values[first]
        if text[values[j - 1][2]:values[j][1]].strip():
            return False
        step, before = values[j][0] - values[j - 1][0], values[j - 1][0] - values[j - 2][0]
        return j - first < 2 or (before != 0 and abs(step - before) < 1e-6)

    in_runs, i = 0, 0
    while i < len(values):
        j = i + 1
        while j < len(values) and steps_on(j, i):
            j += 1
        if j - i >= run:
            in_runs, i = in_runs + j - i, j
        else:
            i += 1
    return bool(values) and in_runs >= len(values) / 2


def _unbalanced(text: str) -> bool:
    """A closing bracket before its opening one: the sentence starts inside a quotation the chunk cut."""
    text = _LABEL.sub(" ", text)
    depth = {opening: 0 for opening in _PAIRS.values()}
    for ch in text:
        if ch in depth:
            depth[ch] += 1
        elif ch in _PAIRS:
            if depth[_PAIRS[ch]] == 0:
                return True
            depth[_PAIRS[ch]] -= 1
    return False


def is_question(text: str) -> bool:
    """Q&A documents restate the question right above the answer; quoting it answers nothing."""
    return bool(_QUESTION.search(text))
