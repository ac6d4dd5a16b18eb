"""A scanned page -> its OCR reading, upright and in its writing direction.

A page fed sideways into the scanner, or a landscape table scanned as a portrait page, OCRs as
noise (「gm a っoo EN SE N psu 4B」); so does a scan of vertical writing (縦書き) read with
Tesseract's horizontal Japanese model. A page whose first reading has neither Japanese words
(its kana and kanji mostly inside dictionary words) nor the small words of English is read
again: turned upright when Tesseract's orientation detection (`--psm 0`, the `osd` model) says
how far, and with Tesseract's vertical Japanese model (`jpn_vert`). The reading with the most
prose wins. Those two cost about 0.5 and 4 s, so only pages that read poorly pay them.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pymupdf

from . import pdflayout
from .lexical import pieces
from .textnorm import JAPANESE_LETTER

OSD_DPI = 150  # enough for orientation; the page is read again at the OCR resolution
MIN_CONFIDENCE = 2.0  # Tesseract's orientation confidence below which the page is left as it is
VERTICAL_MODEL = "jpn_vert"
_WORD = re.compile(r"[A-Za-z]+")
# Words of three letters or more: noise read off a sideways page makes "a", "in" and "on" by chance.
_ENGLISH = frozenset("the and for that with this from are not was were has have which will shall been its their".split())
# Japanese prose, OCR'd included, has 0.6-0.75 of its kana and kanji inside dictionary words of two or more
# characters (the sample scans); a sideways page or vertical writing read across, 0.15-0.35.
MIN_WORD_SHARE = 0.45
MIN_ENGLISH_SHARE = 0.05  # English prose: over a tenth of its words are these; noise: next to none


@dataclass
class Reading:
    """A page read by OCR: Tesseract's text page, its lines in reading order, and the matrix from the text
    page's coordinates to the page as shown (so that a passage's boxes land on the page a user sees)."""

    textpage: pymupdf.TextPage
    lines: list[pdflayout.Line]
    to_page: pymupdf.Matrix

    @functools.cached_property
    def text(self) -> str:
        return pdflayout.page_text(self.lines)

    @functools.cached_property
    def readability(self) -> float:
        return readability(self.text)


def read_upright(page: pymupdf.Page, lang: str, dpi: int, tessdata: str | None) -> Reading:
    """The page read by OCR; one that reads poorly is read again turned upright and in vertical writing, and
    the reading with the most prose is kept. The file is never written: a turn is made in memory and undone."""
    best = _reading(page, ocr_textpage(page, lang, dpi, tessdata))
    if not reads_poorly(best.text):
        return best
    for again in (_turned_reading, _vertical_reading):
        reading = again(page, lang, dpi, tessdata)
        if reading is not None and reading.readability > best.readability:
            best = reading
        if not reads_poorly(best.text):
            break
    return best


def reads_poorly(text: str) -> bool:
    """OCR text that reads as neither Japanese nor English prose."""
    if len(re.sub(r"\s", "", text)) < 40:
        return False  # too little to judge, and too little to lose
    japanese, english = _shares(text)
    return japanese < MIN_WORD_SHARE and english < MIN_ENGLISH_SHARE


def readability(text: str) -> float:
    """How much the text reads as prose: its Japanese word share plus its share of small English words."""
    return sum(_shares(text))


def _shares(text: str) -> tuple[float, float]:
    words = _WORD.findall(text)
    japanese = _word_share(text) if len(JAPANESE_LETTER.findall(text)) >= 20 else 0.0
    return japanese, sum(1 for w in words if w.lower() in _ENGLISH) / max(len(words), 1)


def _word_share(text: str) -> float:
    """The share of the text's kana and kanji inside dictionary words (fugashi, UniDic-lite) of 2+ characters."""
    text = unicodedata.normalize("NFKC", re.sub(r"\s+", "", text))
    tagger, lock = _tagger()
    with lock:  # MeCab taggers are not safe to share between threads
        inside = sum(len(JAPANESE_LETTER.findall(word.surface)) for piece in pieces(text) for word in tagger(piece)
                     if len(word.surface) >= 2 and not word.is_unk)
    return inside / max(len(JAPANESE_LETTER.findall(text)), 1)


@functools.lru_cache(maxsize=1)
def _tagger():
    import fugashi

    return fugashi.Tagger(), threading.Lock()


def ocr_textpage(page: pymupdf.Page, lang: str, dpi: int, tessdata: str | None) -> pymupdf.TextPage:
    """The page as shown (its /Rotate applied), read by Tesseract; coordinates are those of the page as shown.

    PyMuPDF's get_textpage_ocr maps the text back to the unturned page, and on some turned pages (a
    landscape page shown turned by 270 degrees) loses all of it."""
    picture = page.get_pixmap(dpi=dpi)
    return _textpage(page, picture.pdfocr_tobytes(compress=False, language=lang, tessdata=tessdata))


def upright_turn(page: pymupdf.Page, tessdata: str | None) -> int:
    """Degrees (0, 90, 180, 270) to turn the page clockwise so that its text stands upright; 0 when unsure."""
    report = _tesseract(page, OSD_DPI, tessdata, ["--psm", "0"])
    if report is None:
        return 0
    text = report.decode("utf-8", "replace")
    turn = re.search(r"^Rotate:\s*(\d+)", text, re.MULTILINE)
    confidence = re.search(r"^Orientation confidence:\s*([\d.]+)", text, re.MULTILINE)
    if not turn or not confidence or float(confidence.group(1)) < MIN_CONFIDENCE:
        return 0
    return int(turn.group(1)) % 360


def _reading(page: pymupdf.Page, textpage: pymupdf.TextPage, to_page: pymupdf.Matrix = pymupdf.Identity) -> Reading:
    return Reading(textpage, pdflayout.page_lines(page, textpage, ocr=True), to_page)


def _turned_reading(page: pymupdf.Page, lang: str, dpi: int, tessdata: str | None) -> Reading | None:
    turn = upright_turn(page, tessdata)
    if not turn:
        return None
    rotation = page.rotation
    page.set_rotation((rotation + turn) % 360)
    try:
        textpage = ocr_textpage(page, lang, dpi, tessdata)
        to_page = page.derotation_matrix
    finally:
        page.set_rotation(rotation)
    return _reading(page, textpage, to_page * page.rotation_matrix)


def _vertical_reading(page: pymupdf.Page, lang: str, dpi: int, tessdata: str | None) -> Reading | None:
    """The page read by Tesseract's vertical Japanese model, through its command: PyMuPDF's OCR reads such a
    page as noise even with that model. Tesseract writes a PDF of the words alone, read like any text page."""
    if "jpn" not in lang.split("+") or not tessdata or not (Path(tessdata) / f"{VERTICAL_MODEL}.traineddata").is_file():
        return None
    pdf = _tesseract(page, dpi, tessdata, ["-l", VERTICAL_MODEL, "-c", "textonly_pdf=1", "pdf"])
    if not pdf or not pdf.startswith(b"%PDF"):
        return None
    return _reading(page, _textpage(page, pdf))


def _tesseract(page: pymupdf.Page, dpi: int, tessdata: str | None, args: list[str]) -> bytes | None:
    """What Tesseract's command prints for the page as shown; None without the command or when it fails."""
    command = shutil.which("tesseract")
    if command is None:
        return None
    picture = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY).tobytes("png")
    where = ["--tessdata-dir", tessdata] if tessdata else []
    try:
        done = subprocess.run([command, "stdin", "stdout", *where, *args], input=picture, capture_output=True,
                              timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _textpage(page: pymupdf.Page, pdf: bytes) -> pymupdf.TextPage:
    """The text of an OCR'd picture of the page (a one-page PDF) in the coordinates of the page as shown."""
    read = pymupdf.open(stream=pdf, filetype="pdf").load_page(0)
    zoom = page.rect.width / read.rect.width
    textpage = read.get_textpage(flags=pdflayout.TEXT_FLAGS, matrix=pymupdf.Matrix(zoom, zoom))
    textpage.parent = page  # so that page.get_text(textpage=...) accepts it
    return textpage
