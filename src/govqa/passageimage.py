"""Pages as pictures: a whole page for the viewer and assistants, the region around a passage (marked) for authors' reports."""

from __future__ import annotations

import threading
from pathlib import Path

import pymupdf

from .errors import NotFound
from .models import Hit
from .store import write_atomic

SCALE = 2.0  # 144 dpi: sharp enough to read small print in a report, a few hundred KB at most
MARGIN = 18.0  # points of page kept around the passage, so the reader sees what comes before and after
JPEG_QUALITY = 80  # scans: a photo of paper; JPEG is a third of the PNG's size and looks the same
_RENDER_LOCK = threading.Lock()  # MuPDF is not thread-safe: one page rendered at a time in a process
_FILL = (1.0, 0.8, 0.0)
_EDGE = (0.71, 0.33, 0.04)


def render_page(data: bytes, page: int, width: int, jpeg: bool = False) -> bytes:
    """Page `page` (1-based) of the PDF `data`, `width` pixels wide, as PNG (JPEG with `jpeg`)."""
    with _RENDER_LOCK, pymupdf.open(stream=data, filetype="pdf") as doc:
        pdf_page = doc.load_page(page - 1)
        scale = width / pdf_page.rect.width
        pixmap = pdf_page.get_pixmap(matrix=pymupdf.Matrix(scale, scale), alpha=False)
        return pixmap.tobytes("jpeg", jpg_quality=JPEG_QUALITY) if jpeg else pixmap.tobytes("png")


def crop_png(pdf: Path, page: int, boxes: list[list[float]]) -> bytes:
    """The region of `page` (1-based) covering `boxes` (page-relative), full text width, boxes drawn in."""
    with pymupdf.open(pdf, filetype="pdf") as doc:
        pdf_page = doc.load_page(page - 1)
        area = pdf_page.rect
        rects = [pymupdf.Rect(x0 * area.width, y0 * area.height, x1 * area.width, y1 * area.height)
                 for x0, y0, x1, y1 in boxes]
        for rect in rects:  # drawn on the document in memory only; the file is never written
            pdf_page.draw_rect(rect + (-1, -1, 1, 1), color=_EDGE, fill=_FILL, fill_opacity=0.3, width=1.2,
                               overlay=True)
        top = min(r.y0 for r in rects) - MARGIN
        bottom = max(r.y1 for r in rects) + MARGIN
        clip = pymupdf.Rect(area.x0, max(area.y0, top), area.x1, min(area.y1, bottom))
        return pdf_page.get_pixmap(matrix=pymupdf.Matrix(SCALE, SCALE), clip=clip, alpha=False).tobytes("png")


def write_hit_image(engine, hit: Hit, path: Path) -> Path | None:
    """Write `hit`'s region to `path`; None when it has no page position or its file is gone or changed."""
    from .filehash import sha256_of

    if not hit.boxes:
        return None
    record = engine.document(hit.doc_id)
    try:
        pdf = engine.file_path(hit.doc_id)
        if record.kind != "pdf" or sha256_of(pdf) != record.sha256:
            return None
    except (OSError, NotFound):
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, crop_png(pdf, hit.page, hit.boxes))
    return path


def image_name(prefix: str, hit: Hit) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in hit.doc_id)[:60]
    return f"{prefix}-{safe}-p{hit.page}.png"


def write_search_pictures(engine, query: str, hits: list[Hit], folder: Path) -> Path:
    """One picture per hit that has a page position, and `hits.md` showing them in rank order."""
    lines = [f"# Passages for: {query}", ""]
    for hit in hits:
        name = image_name(f"{hit.rank:02d}", hit)
        written = write_hit_image(engine, hit, folder / name)
        lines += [f"## {hit.rank}. {hit.title or hit.doc_id}, page {hit.page}", "", f"> {' '.join(hit.text.split())}", ""]
        lines += [f"![the passage on page {hit.page}]({name})", ""] if written else ["(no page picture: not a PDF page)", ""]
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "hits.md", "\n".join(lines).encode("utf-8"))
    return folder / "hits.md"


def write_support_report(engine, results: list, article_name: str, report: Path, references=None) -> Path:
    """The Markdown report with a picture under each quoted passage. `report` is a folder (an existing one, or
    a name without a suffix: report.md and images/ go in it) or a .md file (images in <name>-images/ beside it)."""
    from .supportreport import report_markdown

    if report.is_dir() or not report.suffix:
        markdown, pictures = report / "report.md", report / "images"
    else:
        markdown, pictures = report, report.with_name(f"{report.stem}-images")

    def figure(result, hit: Hit) -> str | None:
        index = next(i for i, passage in enumerate(result.passages) if passage is hit) + 1
        path = pictures / image_name(f"c{result.claim.n:02d}-{index}", hit)
        if not write_hit_image(engine, hit, path):
            return None
        return f"![the passage on page {hit.page} of {hit.doc_id}]({path.relative_to(markdown.parent).as_posix()})"

    text = report_markdown(results, article_name, references=references, figure=figure)
    markdown.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(markdown, text.encode("utf-8"))
    return markdown
