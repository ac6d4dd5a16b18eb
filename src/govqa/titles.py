"""A title read by OCR, checked before a document is shown under it.

Tesseract misreads a character or two of a scanned notice's title often enough
(「原薬等韻録原短に関する…」 for 「原薬等登録原簿に関する…」) that a title taken from OCR needs
evidence: the title line is read a second time on its own, and each reading is held against
the rest of the document, which nearly always repeats the title's words. The reading the
document supports best wins; when neither is supported the title is doubtful and the caller
uses the file name, with a note saying so (corpus/sources.toml `[titles]` sets it by hand).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pymupdf

from . import pdflayout
from .textnorm import normalize, squeeze_ocr_spaces

MIN_SUPPORT = 0.75  # share of a reading's character pairs found in the rest of the document
MIN_CONFIDENCE = 60.0  # Tesseract's mean word confidence (0-100) for a second reading to be considered
_BANNER_ASPECT = 3.0  # an image at least this many times wider than tall, at the top of page 1: a title banner
_SPACE = re.compile(r"\s+")
_KANA_ONLY = re.compile("[\u3040-\u309f]+")


def check_ocr_title(page: pymupdf.Page, lines: Sequence[pdflayout.Line], reading: str, text: str,
                    lang: str, tessdata: str | None) -> tuple[str | None, str | None]:
    """(title, None) if the document supports an OCR reading of its title, else (None, note)."""
    used = [line for line in lines if line.text and line.text in reading]
    readings = [reading]
    if used:
        rect = pymupdf.Rect(used[0].x0, used[0].y0, used[0].x1, used[0].y1)
        for line in used[1:]:
            rect |= pymupdf.Rect(line.x0, line.y0, line.x1, line.y1)
        second = read_clip(page, rect + (-4, -4, 4, 4), lang, tessdata)
        if second and second[1] >= MIN_CONFIDENCE and second[0] != reading:
            readings.append(second[0])
    rest = text.replace(reading, "", 1)
    for line in used:  # the title's own lines say nothing about how it should read
        rest = rest.replace(line.text, "", 1)
    best = reading
    if len(readings) > 1 and _clearly_preferred(readings[1], reading, rest):
        best = readings[1]
    if support(best, rest) >= MIN_SUPPORT:
        return best, None
    return None, f"the title read by OCR looks unreliable ({reading!r}); the file name is used instead"


def banner_title(page: pymupdf.Page, text: str, lang: str, tessdata: str | None) -> tuple[str | None, str | None]:
    """A title set as a picture at the top of page 1 (slides often do), read by OCR if the document supports it."""
    area = page.rect
    banners = [pymupdf.Rect(info["bbox"]) & area for info in page.get_image_info()]
    banners = [r for r in banners if r.y1 <= area.y0 + 0.5 * area.height and r.width >= 0.3 * area.width
               and r.width >= _BANNER_ASPECT * max(r.height, 1)]
    if not banners:
        return None, None
    reading = read_clip(page, min(banners, key=lambda r: r.y0), lang, tessdata)
    if not reading:
        return None, None
    title, confidence = reading
    if confidence >= MIN_CONFIDENCE and support(title, text) >= MIN_SUPPORT:
        return title, None
    return None, f"the title picture on page 1 could not be read reliably ({title!r}); the file name is used instead"


def read_clip(page: pymupdf.Page, rect: pymupdf.Rect, lang: str, tessdata: str | None,
              dpi: int = 300) -> tuple[str, float] | None:
    """Tesseract's reading of one region and its mean word confidence; None without the tesseract command."""
    from .figures import tesseract_words

    if rect.is_empty:
        return None
    found = tesseract_words(page.get_pixmap(dpi=dpi, clip=rect).tobytes("png"), lang, tessdata, psm="6")
    if not found:
        return None
    words = [(text, conf) for text, conf, _, _ in found]
    text = squeeze_ocr_spaces(normalize(" ".join(word for word, _ in words)))
    return text, sum(conf for _, conf in words) / len(words)


def _clearly_preferred(second: str, first: str, rest: str) -> bool:
    """Whether the document repeats what only the second reading says far more often than what only the first says.

    Counted, not just looked up: a scan misreads the same glyph the same way on every page
    (000160131 has 「原息」 twice beside 「原簿」), so one sighting proves nothing either way.
    """
    text = _SPACE.sub("", rest)
    only_second = sum(text.count(pair) for pair in _pairs(second) - _pairs(first))
    only_first = sum(text.count(pair) for pair in _pairs(first) - _pairs(second))
    return only_second > 2 * only_first + 2


def support(reading: str, rest: str) -> float:
    """Share of the reading's character pairs that the rest of the document holds."""
    pairs = _pairs(reading)
    return len(pairs & _pairs(rest)) / len(pairs) if pairs else 0.0


def _pairs(text: str) -> set[str]:
    """Neighbouring characters, leaving out pairs of kana only: particles (について) back nothing."""
    text = _SPACE.sub("", text)
    return {pair for pair in (text[i:i + 2] for i in range(len(text) - 1)) if not _KANA_ONLY.fullmatch(pair)}
