"""Parsed PDF pages read again after parsing: unreadable text layers and figures by OCR; each passage's boxes."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .config import Settings
from .garbled import OcrCache, repair_pages
from .models import Chunk, Page
from .store import DocRecord, IndexStore

Warn = Callable[[str], None]
Progress = Callable[[str, int, int], None]


def ocr_garbled_pages(records: dict[str, DocRecord], pages: dict[str, list[Page]], settings: Settings, index_dir: Path,
                      event: Warn) -> None:
    """PDF pages whose text layer is unreadable are read by OCR instead (garbled.py); after parsing, never beside it."""
    cache = OcrCache(index_dir / "cache" / "ocr-pages.sqlite")
    try:
        for doc_id, record in records.items():
            if not record.file or Path(record.file).suffix.lower() != ".pdf" or doc_id not in pages:
                continue
            fixed, numbers = repair_pages(pages[doc_id], record.file, record.sha256, record.lang, settings.ocr_lang,
                                          settings.ocr_dpi, cache, event)
            if numbers:
                pages[doc_id] = fixed
                record.ocr_pages = sorted({*record.ocr_pages, *numbers})
                event(f"{record.path}: pages {', '.join(map(str, numbers))} have an unreadable text layer; read by OCR")
    finally:
        cache.close()


def ocr_figures(records: dict[str, DocRecord], pages: dict[str, list[Page]], settings: Settings, index_dir: Path,
                event: Warn, progress: Progress, previous: IndexStore | None) -> dict:
    """Text inside large pictures is added to PDF pages that have a text layer (figures.py); the glyphs it adds."""
    from .figures import add_figure_text

    if not settings.figure_ocr:
        return {}
    cache = OcrCache(index_dir / "cache" / "ocr-pages.sqlite")
    try:
        glyphs, changed = add_figure_text(records, pages, settings.ocr_lang, settings.ocr_dpi, cache, event, progress)
    finally:
        cache.close()
    if previous is not None and any(r.figure_pages is None and r.file.lower().endswith(".pdf")
                                    for r in previous.documents.values()):
        event(f"index upgraded: text inside figures read by OCR and added to {changed} page(s) "
              "(only their passages are embedded again)")
    return glyphs


def passage_boxes(chunks: list[Chunk], records: dict[str, DocRecord], pages: dict[str, list[Page]], settings: Settings,
                  index_dir: Path, event: Warn, progress: Progress, extra: dict) -> list[list[list[float]]]:
    """Each passage's rectangles on its PDF page (pageboxes.py); `extra`: glyphs ocr_figures read."""
    from .pageboxes import GlyphCache, chunk_boxes

    progress("locating passages", 0, 1)
    cache = GlyphCache(index_dir / "cache" / "glyphs.sqlite")
    try:
        return chunk_boxes(chunks, records, pages, cache, ocr_lang=settings.ocr_lang, ocr_dpi=settings.ocr_dpi, warn=event,
                           extra=extra)
    finally:
        cache.close()
        progress("locating passages", 1, 1)
