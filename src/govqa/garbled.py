"""PDF pages whose text layer cannot be read -> the page's OCR, cached like scans.

Some PDFs embed fonts whose glyphs map to the wrong code points: the page shows Japanese and
its text layer reads `èÿ0÷Ïøwj_ßoöí`. Nothing finds such a page by its words; its OCR is read
like a scan's, with Tesseract's Japanese model alone (`japanese_only`). A page of a Japanese
document is taken as garbled when it has next to no kana or kanji and Latin-1 letters and signs
that European languages do not use (ÿ, þ, ß, ÷, Ì, Þ ...), or private-use and replacement
characters, make up a share of its text.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Callable

from .models import Page
from .textnorm import JAPANESE_LETTER

# Latin-1's letters and signs but those French, German, Spanish and Portuguese text uses (é, ü, ñ, ç ...),
# private-use and replacement characters.
_GARBLE = re.compile(r"[\u00c0-\u00ff\ue000-\uf8ff\ufffd]")
_EUROPEAN = frozenset("àáâãäçèéêëìíîïñòóôõöùúûüÀÁÂÃÄÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜ")
GARBLED_SHARE = 0.03  # j-bunpu2023 (allganize-dev): 3.8-30% on its 13 garbled pages, 0 on its readable ones
MAX_CJK_SHARE = 0.02
VERSION = "1"


def is_garbled(text: str) -> bool:
    chars = len(re.sub(r"\s", "", text))
    if chars < 20:
        return False
    odd = sum(1 for c in _GARBLE.findall(text) if c not in _EUROPEAN)
    return odd / chars >= GARBLED_SHARE and len(JAPANESE_LETTER.findall(text)) / chars < MAX_CJK_SHARE


class OcrCache:
    """OCR text of single pages keyed by (file sha256, page, OCR settings)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS pages (key TEXT PRIMARY KEY, text TEXT)")

    def get(self, key: str) -> str | None:
        row = self._db.execute("SELECT text FROM pages WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, text: str) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO pages VALUES (?, ?)", (key, text))

    def close(self) -> None:
        self._db.close()


def repair_pages(pages: list[Page], file: str, sha: str, lang: str, ocr_lang: str, ocr_dpi: int, cache: OcrCache,
                 warn: Callable[[str], None]) -> tuple[list[Page], list[int]]:
    """The pages with every garbled one replaced by its OCR (cached), and the numbers of those replaced.

    Run after parsing has finished: PyMuPDF is not safe to use from two threads at once.
    """
    if lang != "ja":
        return pages, []
    ocr_lang = japanese_only(ocr_lang)
    wanted = [p for p in pages if not p.ocr and is_garbled(p.text)]
    if not wanted:
        return pages, []
    texts: dict[int, str] = {}
    missing = []
    for page in wanted:
        text = cache.get(f"{sha}|{page.page}|{ocr_lang}|{ocr_dpi}|{VERSION}")
        if text is None:
            missing.append(page.page)
        else:
            texts[page.page] = text
    if missing:
        texts.update(_ocr(file, missing, ocr_lang, ocr_dpi, warn))
        for number in missing:
            if number in texts:
                cache.put(f"{sha}|{number}|{ocr_lang}|{ocr_dpi}|{VERSION}", texts[number])
    fixed = [Page(page=p.page, text=texts[p.page], ocr=True) if p.page in texts else p for p in pages]
    return fixed, sorted(texts)


def japanese_only(ocr_lang: str) -> str:
    """The OCR languages for a page of a Japanese document: Tesseract's English model left out.

    With `jpn+eng`, the English model reads the kanji of small table labels as Latin letters
    (信託銀行 -> 「fa at 銀行」, 金融機関 -> 「金 ak 機関」, 生命保険会社 -> 「生 ft 保 RM 会 Ft」); the
    Japanese model alone reads most of them right and still reads the Latin letters and figures of a
    Japanese page.
    """
    langs = ocr_lang.split("+")
    return "+".join(lang for lang in langs if lang != "eng") if "jpn" in langs else ocr_lang


def _ocr(file: str, numbers: list[int], ocr_lang: str, ocr_dpi: int, warn: Callable[[str], None]) -> dict[int, str]:
    import pymupdf

    from .ocrpage import read_upright
    from .parse import find_tessdata, ocr_available

    if not ocr_available(ocr_lang):
        return {}
    texts = {}
    try:
        with pymupdf.open(file) as doc:
            for number in numbers:
                page = doc.load_page(number - 1)
                texts[number] = read_upright(page, ocr_lang, ocr_dpi, find_tessdata()).text
    except Exception as exc:  # the garbled text stays; the build goes on
        warn(f"{file}: could not OCR pages whose text layer is unreadable ({exc})")
    return texts
