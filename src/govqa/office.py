"""Word, Excel and PowerPoint files -> Document: converted to PDF by LibreOffice, else read natively.

With LibreOffice the file is printed to PDF, so a citation's page is the page a reader sees
when printing it. Without it (or when conversion fails) .docx/.xlsx/.pptx are read with
python-docx, openpyxl and python-pptx, and a "page" is what the file itself divides:
a Word page break or section, an Excel sheet, a PowerPoint slide. Tables become one line per
row with each value beside its header (tables.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from . import tables
from .errors import ParseError
from .lang import detect_lang
from .models import Document, Page
from .textnorm import normalize

NATIVE = {".docx", ".xlsx", ".pptx"}
SHEETS = {".xlsx", ".xls", ".ods"}
SUFFIXES = NATIVE | SHEETS | {".doc", ".ppt", ".odt", ".odp", ".rtf"}
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_JUNK_TITLES = {"", "untitled", "無題", "powerpoint プレゼンテーション", "powerpoint presentation", "スライド 1"}


def converter() -> str | None:
    """The LibreOffice command (GOVQA_OFFICE_CONVERTER, default soffice; `none`: read natively), if installed."""
    name = os.environ.get("GOVQA_OFFICE_CONVERTER", "soffice")
    return None if name.lower() in ("", "none") else shutil.which(name)


def parse_office(path: Path, *, ocr_lang: str, ocr_dpi: int, warn: Callable[[str], None],
                 parse_pdf: Callable[..., Document]) -> Document:
    """Print the file to PDF with LibreOffice and parse that; else read .docx/.xlsx/.pptx natively."""
    suffix = path.suffix.lower()
    if suffix in NATIVE and not zipfile.is_zipfile(path):  # said at once, without starting LibreOffice
        raise ParseError(str(path), f"damaged or unreadable {suffix} file (not a ZIP archive, as {suffix} files are)")
    command = converter()
    if suffix in SHEETS:
        return _spreadsheet(path, command)
    if command is not None:
        try:
            return _converted(path, command, ocr_lang, ocr_dpi, warn, parse_pdf)
        except ParseError as exc:
            if suffix not in NATIVE:
                raise
            doc = _native(path, {".docx": _read_docx, ".pptx": _read_pptx}[suffix])
            warn(f"{path}: {exc.reason}; read without LibreOffice instead (pages are its "
                 f"{_native_unit(suffix)}s)")
            return doc
    elif suffix not in NATIVE:
        package, modern = ("libreoffice-impress", ".pptx") if suffix in (".ppt", ".odp") else ("libreoffice-writer", ".docx")
        raise ParseError(str(path), f"{suffix} files need LibreOffice to be read: install {package} "
                                    f"(or save the file as {modern})")
    return _native(path, {".docx": _read_docx, ".pptx": _read_pptx}[suffix])


def _spreadsheet(path: Path, command: str | None) -> Document:
    """Spreadsheets are cited by sheet even with LibreOffice: printed, a sheet's rows and columns are cut
    across pages and lose their headers ("年度 件数2024 120" where the sheet says 年度: 2024; 件数: 120)."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _native(path, _read_xlsx)
    if command is None:
        raise ParseError(str(path), f"{suffix} files need LibreOffice to be read: install libreoffice-calc "
                                    "(or save the file as .xlsx)")
    with _convert(path, command, "xlsx") as xlsx:
        doc = _native(xlsx, _read_xlsx)
    doc.path, doc.kind = str(path), suffix.lstrip(".")
    doc.title = doc.title if doc.title != xlsx.stem else path.stem
    return doc


def _native(path: Path, reader) -> Document:
    suffix = path.suffix.lower()
    try:
        title, pages = reader(path)
    except ParseError:
        raise
    except Exception as exc:  # a damaged ZIP or XML inside; one line naming the file
        raise ParseError(str(path), f"damaged or unreadable {suffix} file ({type(exc).__name__}: {exc})") from exc
    text = "\n".join(p.text for p in pages)
    return Document(path=str(path), title=title or path.stem, lang=detect_lang(text), pages=pages,
                    kind=suffix.lstrip("."))


def _native_unit(suffix: str) -> str:
    return {".docx": "page break or section", ".xlsx": "sheet", ".pptx": "slide"}[suffix]


# --- with LibreOffice --------------------------------------------------------------------------------

def _converted(path: Path, command: str, ocr_lang: str, ocr_dpi: int, warn: Callable[[str], None],
               parse_pdf: Callable[..., Document]) -> Document:
    with _convert(path, command, "pdf") as pdf:
        doc = parse_pdf(pdf, ocr_lang, ocr_dpi, lambda message: warn(message.replace(str(pdf), str(path))), None)
    doc.path, doc.kind = str(path), path.suffix.lower().lstrip(".")
    doc.title = _own_title(path) or doc.title
    try:
        tables.attach_to_pages(doc.pages, _native_tables(path))
    except Exception:  # the printed text is already there; headers beside values are a bonus
        pass
    return doc


def _native_tables(path: Path) -> list[list[list[str]]]:
    """The rows of every table in a .docx or .pptx (none for other types)."""
    suffix = path.suffix.lower()
    if suffix == ".docx":
        import docx

        return [list(_table_rows(table)) for table in docx.Document(str(path)).tables]
    if suffix == ".pptx":
        from pptx import Presentation

        return [[[cell.text for cell in row.cells] for row in shape.table.rows]
                for slide in Presentation(str(path)).slides for shape in slide.shapes
                if getattr(shape, "has_table", False) and shape.has_table]
    return []


@contextlib.contextmanager
def _convert(path: Path, command: str, target: str) -> Iterator[Path]:
    """The file converted by LibreOffice to `target` (pdf, xlsx), in a temporary folder removed afterwards."""
    timeout = float(os.environ.get("GOVQA_OFFICE_TIMEOUT", "300"))
    with tempfile.TemporaryDirectory(prefix="govqa-office-") as tmp:
        source, out = Path(tmp, "in", path.name), Path(tmp, "out")
        source.parent.mkdir()
        shutil.copyfile(path, source)
        # A private profile: a user's running LibreOffice (or another conversion) holds the default one's lock.
        args = [command, f"-env:UserInstallation={Path(tmp, 'profile').as_uri()}", "--headless", "--norestore",
                "--nologo", "--nolockcheck", "--nodefault", "--convert-to", target, "--outdir", str(out), str(source)]
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   start_new_session=True, env={**os.environ, "HOME": tmp})
        try:
            _, stderr = process.communicate(timeout=timeout or None)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # soffice starts soffice.bin: stop the whole group
            process.communicate()
            raise ParseError(str(path), f"LibreOffice took longer than {timeout:g} s to convert it "
                                        "(limit: GOVQA_OFFICE_TIMEOUT)") from None
        converted = out / f"{source.stem}.{target}"
        if not converted.is_file():
            said = " ".join(stderr.decode("utf-8", "replace").split())[:200]
            raise ParseError(str(path), f"LibreOffice could not convert it to {target.upper()} "
                                        f"(exit {process.returncode}{': ' + said if said else ''})")
        yield converted


def _own_title(path: Path) -> str | None:
    """The title the file itself states (property, Title/Heading 1 style, first slide's title): the PDF
    LibreOffice prints does not know which line that was."""
    reader = {".docx": _read_docx, ".xlsx": _read_xlsx, ".pptx": _read_pptx}.get(path.suffix.lower())
    try:
        return reader(path)[0] if reader else None
    except Exception:  # the PDF was readable; a title is not worth failing the file for
        return None


# --- without: Word -----------------------------------------------------------------------------------

def _read_docx(path: Path) -> tuple[str | None, list[Page]]:
    import docx
    from docx.table import Table

    document = docx.Document(str(path))
    body = document.element.body
    # Word records where it last broke pages (w:lastRenderedPageBreak): the printed pages. Files
    # written by other tools lack them; their hard page breaks and sections divide the pages instead.
    rendered = next(body.iter(f"{_W}lastRenderedPageBreak"), None) is not None
    pages: list[list[str]] = [[]]
    heading = None
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            pages[-1].extend(tables.rows_to_lines(_table_rows(block)))
            continue
        style = (block.style.name if block.style is not None else "").lower()
        if not rendered and block._p.find(f"{_W}pPr/{_W}pageBreakBefore") is not None and pages[-1]:
            pages.append([])
        pieces = _paragraph_pieces(block._p, rendered)
        for n, piece in enumerate(pieces):
            if n:
                pages.append([])
            if piece.strip():
                pages[-1].append(piece)
        text = " ".join("".join(pieces).split())
        if heading is None and text and (style.startswith(("title", "heading 1")) or style in ("表題", "見出し 1")):
            heading = text
        if not rendered and block._p.find(f"{_W}pPr/{_W}sectPr") is not None:
            pages.append([])  # a section break: the next section starts on a new page
    while len(pages) > 1 and not pages[-1]:
        pages.pop()
    first_line = next((line for page in pages for line in page if line.strip()), None)
    title = _meaningful(document.core_properties.title, path) or heading or first_line
    return _short(title), [Page(page=n, text=normalize("\n".join(lines))) for n, lines in enumerate(pages, 1)]


def _paragraph_pieces(paragraph, rendered: bool) -> list[str]:
    """The paragraph's text split where a page ends (rendered breaks, or hard page breaks)."""
    pieces = [""]
    for element in paragraph.iter():
        tag = element.tag
        if tag == f"{_W}t":
            pieces[-1] += element.text or ""
        elif tag == f"{_W}tab":
            pieces[-1] += " "
        elif tag == f"{_W}br":
            if not rendered and element.get(f"{_W}type") == "page":
                pieces.append("")
            else:
                pieces[-1] += "\n"
        elif rendered and tag == f"{_W}lastRenderedPageBreak":
            pieces.append("")
    return pieces


def _table_rows(table) -> Iterable[list[str]]:
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell is returned once per grid column it spans
                cells.append("")
                continue
            seen.add(id(cell._tc))
            cells.append(cell.text)
        yield cells


# --- without: Excel and PowerPoint -------------------------------------------------------------------

def _read_xlsx(path: Path) -> tuple[str | None, list[Page]]:
    import openpyxl

    book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    try:
        pages = []
        for n, sheet in enumerate(book.worksheets, 1):
            rows = ([_cell(v) for v in row] for row in sheet.iter_rows(values_only=True))
            pages.append(Page(page=n, text=normalize("\n".join([sheet.title, *tables.rows_to_lines(rows)]))))
        title = _meaningful(book.properties.title, path)
    finally:
        book.close()
    return _short(title), pages


def _cell(value: object) -> object:
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return value


def _read_pptx(path: Path) -> tuple[str | None, list[Page]]:
    from pptx import Presentation

    presentation = Presentation(str(path))
    pages, first_title = [], None
    for n, slide in enumerate(presentation.slides, 1):
        lines: list[str] = []
        for shape in sorted(slide.shapes, key=lambda s: (s.top or 0, s.left or 0)):
            lines.extend(_shape_lines(shape))
        title_shape = slide.shapes.title
        if first_title is None and title_shape is not None and title_shape.has_text_frame:
            first_title = " ".join(title_shape.text_frame.text.split()) or None
        pages.append(Page(page=n, text=normalize("\n".join(lines))))
    title = _meaningful(presentation.core_properties.title, path) or first_title
    return _short(title), pages


def _shape_lines(shape) -> list[str]:
    if getattr(shape, "has_table", False) and shape.has_table:
        return tables.rows_to_lines([cell.text for cell in row.cells] for row in shape.table.rows)
    if hasattr(shape, "shapes"):  # a group: its members in reading order
        return [line for member in sorted(shape.shapes, key=lambda s: (s.top or 0, s.left or 0))
                for line in _shape_lines(member)]
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        return [p.text for p in shape.text_frame.paragraphs if p.text.strip()]
    return []


def _meaningful(title: str | None, path: Path) -> str | None:
    """A document property title, unless it is empty, a placeholder or the file name."""
    title = " ".join((title or "").split())
    if title.lower() in _JUNK_TITLES or title in (path.stem, path.name) or title.lower().startswith("microsoft "):
        return None
    return title


def _short(title: str | None, limit: int = 120) -> str | None:
    if not title:
        return None
    title = " ".join(title.split())
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"
