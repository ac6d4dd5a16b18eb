"""A scanned page lying on its side -> the turn that makes it upright, from Tesseract's orientation detection.

A page fed sideways into the scanner, or a landscape table scanned as a portrait page, OCRs as
noise (「gm a っoo EN SE N psu 4B」). Tesseract's orientation and script detection (`--psm 0`,
the `osd` model Debian's tesseract-ocr installs) says how far to turn it. It costs about half a
second a page, so it runs only on pages whose OCR reads poorly: next to no kana and next to no
common English words.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

import pymupdf

from . import pdflayout

_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_PRESERVE_LIGATURES | pymupdf.TEXT_MEDIABOX_CLIP
OSD_DPI = 150  # enough for orientation; the page is read again at the OCR resolution
MIN_CONFIDENCE = 2.0  # Tesseract's orientation confidence below which the page is left as it is
_KANA = re.compile(r"[\u3040-\u30ff]")
_WORD = re.compile(r"[A-Za-z]+")
# Words of three letters or more: noise read off a sideways page makes "a", "in" and "on" by chance.
_ENGLISH = frozenset("the and for that with this from are not was were has have which will shall been its their".split())
MIN_KANA_SHARE = 0.15  # Japanese prose is 30-50% kana; a sideways page read as Japanese about 8%
MIN_ENGLISH_SHARE = 0.05  # English prose: over a tenth of its words are these; noise: next to none


def reads_poorly(text: str) -> bool:
    """OCR text with neither the kana of Japanese prose nor the small words of English prose."""
    if len(re.sub(r"\s", "", text)) < 40:
        return False  # too little to judge, and too little to lose
    kana, english = _shares(text)
    return kana < MIN_KANA_SHARE and english < MIN_ENGLISH_SHARE


def readability(text: str) -> float:
    """How much the text looks like prose: its share of kana plus its share of small English words."""
    return sum(_shares(text))


def _shares(text: str) -> tuple[float, float]:
    chars = max(len(re.sub(r"\s", "", text)), 1)
    words = _WORD.findall(text)
    return len(_KANA.findall(text)) / chars, sum(1 for w in words if w.lower() in _ENGLISH) / max(len(words), 1)


def upright_turn(page: pymupdf.Page, tessdata: str | None) -> int:
    """Degrees (0, 90, 180, 270) to turn the page clockwise so that its text stands upright; 0 when unsure."""
    command = shutil.which("tesseract")
    if command is None:
        return 0
    picture = page.get_pixmap(dpi=OSD_DPI, colorspace=pymupdf.csGRAY).tobytes("png")
    args = [command, "stdin", "stdout", "--psm", "0"] + (["--tessdata-dir", tessdata] if tessdata else [])
    try:
        done = subprocess.run(args, input=picture, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    report = done.stdout.decode("utf-8", "replace")
    turn = re.search(r"^Rotate:\s*(\d+)", report, re.MULTILINE)
    confidence = re.search(r"^Orientation confidence:\s*([\d.]+)", report, re.MULTILINE)
    if done.returncode or not turn or not confidence or float(confidence.group(1)) < MIN_CONFIDENCE:
        return 0
    return int(turn.group(1)) % 360


@dataclass
class Reading:
    """A page read by OCR: Tesseract's text page, its lines in reading order, and the matrix from the text
    page's coordinates to the page as shown (so that a passage's boxes land on the page a user sees)."""

    textpage: pymupdf.TextPage
    lines: list[pdflayout.Line]
    to_page: pymupdf.Matrix


def ocr_textpage(page: pymupdf.Page, lang: str, dpi: int, tessdata: str | None) -> pymupdf.TextPage:
    """The page as shown (its /Rotate applied), read by Tesseract; coordinates are those of the page as shown.

    PyMuPDF's get_textpage_ocr maps the text back to the unturned page, and on some turned pages (a
    landscape page shown turned by 270 degrees) loses all of it."""
    picture = page.get_pixmap(dpi=dpi)
    ocr = pymupdf.open(stream=picture.pdfocr_tobytes(compress=False, language=lang, tessdata=tessdata))
    read = ocr.load_page(0)
    zoom = page.rect.width / read.rect.width
    textpage = read.get_textpage(flags=_FLAGS, matrix=pymupdf.Matrix(zoom, zoom))
    textpage.parent = page  # so that page.get_text(textpage=...) accepts it
    return textpage


def read_upright(page: pymupdf.Page, lang: str, dpi: int, tessdata: str | None) -> Reading:
    """The page read by OCR; a page that reads poorly is turned upright and read again if Tesseract finds it
    lying on its side. The file is never written: the turn is made in memory and undone."""
    textpage = ocr_textpage(page, lang, dpi, tessdata)
    reading = Reading(textpage, pdflayout.page_lines(page, textpage, ocr=True), pymupdf.Identity)
    text = pdflayout.page_text(reading.lines)
    turn = upright_turn(page, tessdata) if reads_poorly(text) else 0
    if not turn:
        return reading
    rotation = page.rotation
    page.set_rotation((rotation + turn) % 360)
    try:
        turned = ocr_textpage(page, lang, dpi, tessdata)
        to_page = page.derotation_matrix
    finally:
        page.set_rotation(rotation)
    lines = pdflayout.page_lines(page, turned, ocr=True)
    if readability(pdflayout.page_text(lines)) <= readability(text):
        return reading
    return Reading(turned, lines, to_page * page.rotation_matrix)
