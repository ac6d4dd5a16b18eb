"""Fuzz govqa's PDF parser with atheris: any bytes give a Document or a ParseError, nothing else.

    pip install atheris
    python bench/fuzz_parse.py -max_total_time=3600 bench/results/fuzz-corpus   # the long run
    python bench/fuzz_parse.py -runs=300 DIR                                      # what tests/test_fuzz.py runs

Arguments are libFuzzer's. The corpus folder is seeded with a few generated PDFs when empty;
libFuzzer adds the inputs that reach new code to it, and writes any input that fails
(an exception other than ParseError, a crash, a timeout, too much memory) to
`-artifact_prefix` (default: the current folder) as crash-*/timeout-*/oom-*, to replay with
`python bench/fuzz_parse.py crash-…`.

OCR is switched off (Tesseract's code is not ours, and it is slow); at most 30 pages of an
input are read, so an input declaring a million pages costs what 30 do.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["govqa"]):
    from govqa.errors import ParseError
    from govqa.parse import parse_file

SCRATCH = Path(tempfile.mkdtemp(prefix="govqa-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
INPUT = SCRATCH / "input.pdf"
PAGES = range(1, 31)


def test_one_input(data: bytes) -> None:
    INPUT.write_bytes(data)
    try:
        parse_file(INPUT, ocr_lang="none", warn=lambda message: None, pages=PAGES)
    except ParseError:
        pass


def seed(folder: Path) -> None:
    """A few small PDFs to start from: text, Japanese, two pages, a scan-like image page, compressed objects."""
    import pymupdf

    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        return
    with pymupdf.open() as doc:
        doc.new_page().insert_text((72, 72), "Library cards must be renewed every three years.")
        (folder / "text.pdf").write_bytes(doc.tobytes())
        doc.new_page().insert_text((72, 72), "公用車を利用するときは総務課へ申請してください。", fontname="japan")
        (folder / "two-pages.pdf").write_bytes(doc.tobytes(garbage=3, deflate=True, use_objstms=1))
    with pymupdf.open() as doc:
        page = doc.new_page()
        pixmap = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, 64, 64), False)
        pixmap.clear_with(200)
        page.insert_image(page.rect, pixmap=pixmap)
        doc.set_metadata({"title": "Scanned notice", "creationDate": "D:20240301000000"})
        (folder / "image.pdf").write_bytes(doc.tobytes())


def main() -> None:
    folders = [Path(a) for a in sys.argv[1:] if not a.startswith("-") and not Path(a).is_file()]
    for folder in folders:
        seed(folder)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
