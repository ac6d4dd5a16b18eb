"""Sentences of source passages: PDF line wrapping undone, then Japanese and English splitting."""

from __future__ import annotations

import re

from .chunk import heading_of, sentence_spans

_JA_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff5e]")
_LINE_END = ("。", "！", "？", ".", "!", "?", ":", "：")
# Bullets, among them the private-use glyphs of Symbol and Wingdings fonts that slides export (U+F06C, U+F0D8).
_BULLET = re.compile(r"^\s*(?:[・●■◆◇○□※①-⑳\-–—*\ue000-\uf8ff]|\(?[0-9０-９]+[).）．]|[(（][0-9０-９a-zア-ン]+[)）])")


# A decimal point the text layer (or OCR) wrote with a space after it: 「保有比率4. 4%」 is one number.
_DECIMAL_CUT = re.compile(r"[0-9]\.$")
_DECIMAL_REST = re.compile(r"[0-9]+(?![0-9\sA-Za-z])")
_OPEN, _CLOSE = "(（", ")）"
_STOP_IN_PARENTHESIS = re.compile(r"。[)）]$")
# A title or label on a line of its own: short, ending in a noun's kanji, a number or a closing bracket, with a
# longer line below that does not carry it on (a particle, a comma, 「(以下…」). A katakana word wrapped at the
# line's end (「ク」「ラウドサービス」) carries on into katakana.
_TITLE_CHARS = 30
_TITLE_END = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff0-9０-９)）」』】\]]$")
_KATAKANA_END = re.compile(r"[\u30a0-\u30ffー]$")
_KATAKANA_START = re.compile(r"^[\u30a0-\u30ffー]")
_CARRIES_ON = re.compile(r"^[\u3041-\u309f、。，,)）」』】]|^[(（]以下")
_LONGEST = 400  # a sentence joined across full stops inside brackets stops growing here (OCR's stray brackets)


def source_sentences(text: str) -> list[str]:
    """Sentences of a passage, with the line breaks of PDF layout inside a sentence undone.

    A full stop inside brackets does not end the sentence: 「…原薬等登録原簿(以下「MF」という。)の登録…」 is one."""
    unwrapped = unwrap(text)
    spans: list[tuple[int, int]] = []
    for start, end in sentence_spans(unwrapped):
        if spans and "\n" not in unwrapped[spans[-1][1]:start] and end - spans[-1][0] <= _LONGEST \
                and goes_on(unwrapped[spans[-1][0]:spans[-1][1]], unwrapped, start):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return [unwrapped[s:e] for s, e in spans]


def goes_on(sentence: str, text: str, start: int) -> bool:
    """Does the sentence so far carry on into the span at `start`: it ends inside brackets, or with a
    parenthesis that closed on its full stop (「(以下「MF」という。)」), or with half a decimal number?"""
    if _DECIMAL_CUT.search(sentence) and _DECIMAL_REST.match(text, start):
        return True
    depth = 0
    for ch in sentence:
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(depth - 1, 0)
    return depth > 0 or bool(_STOP_IN_PARENTHESIS.search(sentence)) and _opened_inside(sentence)


def _opened_inside(sentence: str) -> bool:
    """The bracket the sentence ends with was opened after its first character (a parenthetical, not a
    sentence wholly in brackets)."""
    depth = 0
    for i in range(len(sentence) - 1, -1, -1):
        ch = sentence[i]
        if ch in _CLOSE:
            depth += 1
        elif ch in _OPEN:
            depth -= 1
            if depth == 0:
                return i > 0
    return False


def unwrap(text: str) -> str:
    """The text with the line breaks that PDF layout put inside sentences removed."""
    lines = [line.strip() for line in text.splitlines()]
    out, previous = "", ""
    for line in lines:
        if not line:
            out, previous = out + "\n", ""
            continue
        if previous and _continues(previous, line):
            out += " " if titles(previous, line) or not (_JA_CHAR.match(out[-1]) or _JA_CHAR.match(line[0])) else ""
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


def titles(previous: str, line: str) -> bool:
    """Is `previous` a title or label above `line` rather than the first part of its sentence? The two are still
    read as one (the title's words say what the sentence is about), set apart by a space: 「原薬等登録原簿(マスター
    ファイル)制度」 above 「原薬等の製造業者が、…」 had been quoted as 「…制度原薬等の製造業者が、…」."""
    if len(previous) > _TITLE_CHARS or len(line) < 2 * len(previous) or _CARRIES_ON.match(line):
        return False
    if _KATAKANA_END.search(previous):
        return not _KATAKANA_START.match(line)
    return bool(_TITLE_END.search(previous))
