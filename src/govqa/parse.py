"""PDF / HTML / text files -> Document of Pages; OCR (Tesseract via PyMuPDF) for scanned pages."""

from __future__ import annotations

import contextlib
import functools
import glob
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

from . import htmltext, ocrpage, office, pageboxes, pdflayout, textfiles, titles
from .errors import ParseError
from .lang import detect_lang
from .models import Document, Page
from .decode import decode_text
from .textfiles import shorten as _shorten
from .textnorm import normalize, squeeze_cjk_spaces

__all__ = ["SUPPORTED_SUFFIXES", "detect_lang", "normalize", "ocr_available", "parse_file"]

SUPPORTED_SUFFIXES = {".pdf", ".html", ".htm", *textfiles.TEXT_SUFFIXES, *textfiles.CSV_SUFFIXES, *office.SUFFIXES}
Warn = Callable[[str], None]

_MIN_TEXT_CHARS = 20  # fewer characters than this on a page with images: treat it as a scan
_MIN_IMAGE_SHARE = 0.05  # ... unless the images are only logos or stamps
_JUNK_TITLE = re.compile(
    r"^(?:untitled|無題|document\d*|microsoft (?:word|powerpoint|excel)\b.*|スライド\s*\d+|"
    r"powerpoint\s*プレゼンテーション|.*\.(?:docx?|xlsx?|pptx?|jtd|pdf|rtf|txt|html?))$",
    re.IGNORECASE,
)
_log = logging.getLogger(__name__)
# Said once per process, not once per file: a corpus of scans must not repeat it 500 times.
_WARNED: set[str] = set()


def parse_file(
    path: Path,
    *,
    ocr_lang: str = "jpn+eng",
    ocr_dpi: int = 300,
    warn: Warn | None = None,
    pages: Iterable[int] | None = None,
) -> Document:
    """Read a PDF, HTML, text or Markdown file; `pages` (1-based) limits which PDF pages are read."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise ParseError(str(path), f"unsupported file type '{suffix or path.name}' (supported: {supported})")
    if not path.exists():
        raise ParseError(str(path), "file not found")
    if not path.is_file():
        raise ParseError(str(path), "not a regular file")
    warn = warn or _log.warning
    try:
        if suffix == ".pdf":
            return _parse_pdf(path, ocr_lang, ocr_dpi, warn, pages)
        if suffix in office.SUFFIXES:
            return office.parse_office(path, ocr_lang=ocr_lang, ocr_dpi=ocr_dpi, warn=warn, parse_pdf=_parse_pdf)
        data = path.read_bytes()
        if suffix in {".html", ".htm"}:
            return _parse_html(path, data, warn)
        if suffix in textfiles.CSV_SUFFIXES:
            return textfiles.parse_csv(path, data, warn)
        return textfiles.parse_text(path, data, warn)
    except ParseError:
        raise
    except OSError as exc:
        raise ParseError(str(path), f"cannot read file ({exc.strerror or exc})") from exc
    except Exception as exc:  # the contract: nothing raw escapes, whatever the file holds
        raise ParseError(str(path), f"could not read file: {type(exc).__name__}: {exc}") from exc


@dataclass
class _PdfPage:
    number: int
    width: float = 595.0
    height: float = 842.0
    lines: list[pdflayout.Line] = field(default_factory=list)
    ocr: bool = False
    unindexed: bool = False
    error: str | None = None
    glyphs: str = ""


def _parse_pdf(path: Path, ocr_lang: str, ocr_dpi: int, warn: Warn, wanted: Iterable[int] | None) -> Document:
    with _open_pdf(path) as doc:
        if doc.is_repaired:
            warn(f"{path}: damaged PDF was repaired; some of its text may be missing")
        numbers = range(1, doc.page_count + 1)
        if wanted is not None:
            numbers = sorted({n for n in wanted if 1 <= n <= doc.page_count})
        pages = [_read_page(doc, n, path, ocr_lang, ocr_dpi, warn) for n in numbers]
        metadata = doc.metadata or {}
        broken = [p for p in pages if p.error]
        if broken and len(broken) == len(pages):
            raise ParseError(str(path), f"damaged PDF: {broken[0].error}")
        for page in broken:
            warn(f"{path}: page {page.number} cannot be read ({page.error}); it will not be indexed")

        lines = {p.number: p.lines for p in pages}
        body_size = pdflayout.body_font_size(lines)
        lines = pdflayout.strip_headers_and_footers(lines, {p.number: (p.width, p.height) for p in pages})
        result = [Page(page=p.number, text=pdflayout.page_text(lines[p.number]), ocr=p.ocr, glyphs=p.glyphs)
                  for p in pages]
        title = _meaningful_title(metadata.get("title") or "", path) or _page_title(
            doc, pages, lines, body_size, "\n".join(p.text for p in result), ocr_lang, lambda note: warn(f"{path}: {note}"))
    return Document(
        path=str(path),
        title=_shorten(title or path.stem),
        lang=detect_lang("\n".join(p.text for p in result)),
        pages=result,
        kind="pdf",
        date=_pdf_date(metadata.get("creationDate") or ""),
        unindexed_pages=[p.number for p in pages if p.unindexed],
    )


def _page_title(doc: pymupdf.Document, pages: list[_PdfPage], lines: dict, body_size: float, text: str,
                ocr_lang: str, note: Warn) -> str | None:
    """Page 1's heading; checked against the document when OCR read it; else a title picture, read by OCR."""
    first = next((p for p in pages if p.number == 1 and not p.error), None)
    if first is None:
        return None
    heading = pdflayout.find_title(lines.get(1, []), body_size)
    if heading and not first.ocr:
        return heading
    try:
        if heading:
            title, doubt = titles.check_ocr_title(doc.load_page(0), lines[1], heading, text, ocr_lang, find_tessdata())
        elif not first.ocr and ocr_available(ocr_lang):
            title, doubt = titles.banner_title(doc.load_page(0), text, ocr_lang, find_tessdata())
        else:
            return None
    except Exception:  # the title is a nicety; the document's text is already read
        return heading if not first.ocr else None
    if doubt:
        note(f"{doubt}; set one under [titles] in corpus/sources.toml")
    return title


def _read_page(doc: pymupdf.Document, number: int, path: Path, ocr_lang: str, ocr_dpi: int, warn: Warn) -> _PdfPage:
    """The page's text lines; OCR'd when it is a scan, left unindexed when OCR is impossible."""
    try:
        page = doc.load_page(number - 1)
        result = _PdfPage(number, page.rect.width, page.rect.height, pdflayout.page_lines(page))
        if not _looks_scanned(page, result.lines):
            return result
    except Exception as exc:  # one broken page should not lose the rest of the file
        return _PdfPage(number, unindexed=True, error=_one_line(exc))
    if not ocr_available(ocr_lang):
        _warn_once(warn, f"ocr:{ocr_lang}", _ocr_missing_message(ocr_lang))
        result.unindexed = True
        return result
    try:
        with _quiet_stderr():
            reading = ocrpage.read_upright(page, ocr_lang, ocr_dpi, find_tessdata())
        result.lines, result.ocr = reading.lines, True
        # So that passages get boxes without a second OCR.
        result.glyphs = pageboxes.read_glyphs(page, reading.textpage, reading.to_page).pack()
    except Exception as exc:
        warn(f"{path}: OCR failed on page {number} ({_one_line(exc)}); the page will not be indexed")
        result.unindexed = True
    return result


def _one_line(exc: Exception) -> str:
    """An exception as one short line: MuPDF's messages can carry a whole Python traceback."""
    text = str(exc)
    if isinstance(exc, MemoryError) or "MemoryError" in text or "malloc" in text:
        return "out of memory (GOVQA_PARSE_MEMORY_MB limits it)"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first if len(first) <= 200 else first[:199] + "…"


@contextlib.contextmanager
def _quiet_stderr():
    """Tesseract prints diagnostics ("Image too small to scale!!") straight to fd 2; a user
    should see our one-line messages, not those."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _open_pdf(path: Path) -> pymupdf.Document:
    with path.open("rb") as f:
        head = f.read(1024)
    if not head:
        raise ParseError(str(path), "empty file")
    if b"%PDF-" not in head:
        raise ParseError(str(path), f"not a PDF ({_sniff(head)})")
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except Exception as exc:
        raise ParseError(str(path), f"damaged PDF: {str(exc).replace(str(path), path.name)}") from exc
    if doc.needs_pass:
        doc.close()
        raise ParseError(str(path), "encrypted PDF (password required)")
    if doc.page_count == 0:
        damaged = doc.is_repaired
        doc.close()
        raise ParseError(str(path), "damaged or truncated PDF: no pages found" if damaged else "PDF has no pages")
    return doc


def _sniff(head: bytes) -> str:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in start:
        return "looks like HTML"
    for magic, kind in ((b"pk\x03\x04", "a ZIP or Office file"), (b"\x89png", "a PNG image"),
                        (b"\xff\xd8\xff", "a JPEG image"), (b"gif8", "a GIF image"), (b"<?xml", "XML")):
        if start.startswith(magic):
            return f"looks like {kind}"
    return "no %PDF header"


def _looks_scanned(page: pymupdf.Page, lines: list[pdflayout.Line]) -> bool:
    if sum(len(line.text.replace(" ", "")) for line in lines) >= _MIN_TEXT_CHARS:
        return False
    area = abs(page.rect)
    covered = sum(abs(pymupdf.Rect(info["bbox"]) & page.rect) for info in page.get_image_info())
    return area > 0 and covered / area >= _MIN_IMAGE_SHARE


@functools.lru_cache(maxsize=1)
def find_tessdata() -> str | None:
    """Tesseract's language folder: $TESSDATA_PREFIX, the usual Linux/macOS places, then PyMuPDF's search."""
    candidates = [os.environ.get("TESSDATA_PREFIX", "")]
    candidates += sorted(glob.glob("/usr/share/tesseract-ocr/*/tessdata"), reverse=True)
    candidates += ["/usr/share/tessdata", "/usr/local/share/tessdata", "/opt/homebrew/share/tessdata"]
    for candidate in candidates:
        if candidate and os.path.isdir(candidate):
            return candidate
    try:
        return pymupdf.get_tessdata()
    except Exception:
        return None


@functools.lru_cache(maxsize=8)
def ocr_available(lang: str = "jpn+eng") -> bool:
    """Whether Tesseract with these languages works through PyMuPDF (tried once on a blank page)."""
    tessdata = find_tessdata()
    if not tessdata or not all(os.path.isfile(os.path.join(tessdata, f"{code}.traineddata")) for code in lang.split("+")):
        return False
    try:
        with pymupdf.open() as probe:
            probe.new_page(width=72, height=72).get_textpage_ocr(language=lang, dpi=72, full=True, tessdata=tessdata)
    except Exception:  # e.g. a PyMuPDF built without Tesseract
        return False
    return True


def _ocr_missing_message(lang: str) -> str:
    packages = " ".join(["tesseract-ocr"] + [f"tesseract-ocr-{c}" for c in lang.split("+") if c != "eng"])
    return (
        f"Tesseract OCR with {lang} is not available: install {packages} (or set TESSDATA_PREFIX); "
        "scanned pages will not be indexed"
    )


def _warn_once(warn: Warn, key: str, message: str) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        warn(message)


def _meaningful_title(title: str, path: Path) -> str | None:
    title = normalize(title).replace("\n", " ")
    if len(title) < 3 or _JUNK_TITLE.match(title) or title == path.stem or not any(ch.isalpha() for ch in title):
        return None
    return title


def _pdf_date(raw: str) -> str | None:
    match = re.match(r"D:(\d{4})(\d{2})(\d{2})", raw)
    return "-".join(match.groups()) if match else None


def _parse_html(path: Path, data: bytes, warn: Warn) -> Document:
    decoded = decode_text(data, htmltext.declared_charset(data))
    if decoded.warning(str(path)):
        warn(decoded.warning(str(path)))
    html = decoded.text
    extracted = htmltext.extract(html, lambda key, message: _warn_once(warn, key, message))
    text = squeeze_cjk_spaces(normalize(extracted.text))
    title = extracted.title or textfiles.first_line_title(text) or path.stem
    return Document(
        path=str(path),
        title=_shorten(normalize(title)),
        lang=detect_lang(text),
        pages=[Page(page=1, text=text)],
        kind="html",
        date=extracted.date,
    )
