"""Sentences of source passages: PDF line wrapping undone, then Japanese and English splitting."""

from __future__ import annotations

import re

from .chunk import heading_of, sentence_spans

_JA_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff5e]")
_LINE_END = ("。", "！", "？", ".", "!", "?", ":", "：")
_BULLET = re.compile(r"^\s*(?:[・●■◆◇○□※①-⑳\-–—*]|\(?[0-9０-９]+[).）．]|[(（][0-9０-９a-zア-ン]+[)）])")


# A decimal point the text layer (or OCR) wrote with a space after it: 「保有比率4. 4%」 is one number.
_DECIMAL_CUT = re.compile(r"[0-9]\.$")
_DECIMAL_REST = re.compile(r"[0-9]+(?![0-9\sA-Za-z])")


def source_sentences(text: str) -> list[str]:
    """Sentences of a passage, with the line breaks of PDF layout inside a sentence undone."""
    unwrapped = unwrap(text)
    spans: list[tuple[int, int]] = []
    for start, end in sentence_spans(unwrapped):
        if spans and _DECIMAL_CUT.search(unwrapped[spans[-1][0]:spans[-1][1]]) and _DECIMAL_REST.match(unwrapped, start) \
                and "\n" not in unwrapped[spans[-1][1]:start]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return [unwrapped[s:e] for s, e in spans]


def unwrap(text: str) -> str:
    """The text with the line breaks that PDF layout put inside sentences removed."""
    lines = [line.strip() for line in text.splitlines()]
    out, previous = "", ""
    for line in lines:
        if not line:
            out, previous = out + "\n", ""
            continue
        if previous and _continues(previous, line):
            out += "" if _JA_CHAR.match(out[-1]) or _JA_CHAR.match(line[0]) else " "
        elif out and not out.endswith("\n"):
            out += "\n"
        out, previous = out + line, line
    return out


def _continues(previous: str, line: str) -> bool:
    """Does `line` carry on the sentence of the physical line before it?"""
    if previous.endswith(_LINE_END) or _BULLET.match(line) or heading_of(line):
        return False
    # A long numbered line, or one holding a full stop, is a wrapped list item, not a heading.
    return not heading_of(previous) or len(previous) >= 30 or "。" in previous
