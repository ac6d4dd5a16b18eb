"""Bytes of unknown encoding -> text: UTF-8, Shift_JIS/CP932, EUC-JP, ISO-2022-JP, UTF-16, damaged or not.

Japanese public-sector text and CSV files come in all of these, and often with a few broken
bytes (a file cut mid-character, two files pasted together). One bad byte must cost one
replacement character, not the whole file: the old rule "not valid UTF-8, so Latin-1" turned
a damaged file's valid Japanese into mojibake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_JAPANESE = ("utf-8", "cp932", "euc_jp", "iso2022_jp")
_JA_LETTER = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_BAD_BYTE_COST = 20  # one replacement outweighs plenty of plausible characters: a codec that fits wins
_FEW = 0.02  # replaced characters above this share of the text: probably not this encoding at all


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    replaced: int = 0  # characters that were not valid in `encoding` and became U+FFFD

    def warning(self, name: str) -> str | None:
        """A one-line warning naming the file when bytes had to be replaced."""
        if not self.replaced:
            return None
        share = self.replaced / max(len(self.text), 1)
        doubt = "; the encoding may be wrong, check the file" if share > _FEW else ""
        return (f"{name}: {self.replaced} byte sequence(s) not valid in {self.encoding} were replaced; "
                f"the rest was read as {self.encoding}{doubt}")


def decode_text(data: bytes, declared: str | None = None) -> Decoded:
    """Decode with the BOM, else the declared charset or UTF-8 if they fit, else the best-fitting candidate."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _with_replacements(data, codec)
    escaped = "iso2022_jp" if b"\x1b$B" in data or b"\x1b$@" in data else None  # 7-bit, so valid UTF-8 too
    for codec in filter(None, (escaped, declared, "utf-8")):
        try:
            return Decoded(data.decode(codec), _name(codec))
        except (LookupError, UnicodeDecodeError):
            pass
    candidates = [_with_replacements(data, codec) for codec in _JAPANESE]
    guess = _charset_normalizer_guess(data)
    if guess is not None and guess.encoding not in {c.encoding for c in candidates}:
        candidates.append(guess)
    return max(candidates, key=lambda c: _plausibility(c.text) - _BAD_BYTE_COST * c.replaced)


def _with_replacements(data: bytes, codec: str) -> Decoded:
    text = data.decode(codec, errors="replace")
    if codec in ("utf-8-sig", "utf-16", "utf-32"):
        text = text.lstrip("\ufeff")
    return Decoded(text, _name(codec), text.count("\ufffd"))


def _charset_normalizer_guess(data: bytes) -> Decoded | None:
    """charset-normalizer's best match (UTF-16 without a BOM, Western and other encodings)."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # a minimal install without it still reads the Japanese encodings above
        return None
    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        return None
    return Decoded(str(best), _name(best.encoding))


def _name(codec: str) -> str:
    import codecs

    try:
        name = codecs.lookup(codec).name
    except LookupError:
        return codec
    return {"utf-8-sig": "utf-8", "iso2022_jp": "iso-2022-jp"}.get(name, name)


def _plausibility(text: str) -> float:
    """Real Japanese has kana; a wrong codec gives half-width katakana, C1 controls and stray symbols."""
    kana = sum(1 for ch in text if "\u3040" <= ch <= "\u30ff")
    kanji = len(_JA_LETTER.findall(text)) - kana
    ascii_ = sum(1 for ch in text if ch.isascii())
    latin1 = sum(1 for ch in text if "\u00c0" <= ch <= "\u00ff")
    junk = sum(1 for ch in text if "\uff61" <= ch <= "\uff9f" or "\u0080" <= ch <= "\u00bf" or "\ue000" <= ch <= "\uf8ff")
    return ascii_ + 2 * kana + (kanji if kana else 0) + latin1 - 3 * junk
