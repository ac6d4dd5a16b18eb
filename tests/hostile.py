"""Broken and hostile files, generated: what people drop into a shared folder on a bad day."""

from __future__ import annotations

import random
import zlib
from pathlib import Path

GOOD_TEXT = "The recycling centre accepts batteries and fluorescent tubes on Saturdays from nine to noon."


def text_pdf(path: Path, pages: list[str]) -> Path:
    import pymupdf

    with pymupdf.open() as doc:
        for text in pages:
            doc.new_page(width=595, height=842).insert_textbox(pymupdf.Rect(60, 60, 535, 800), text, fontsize=11)
        doc.save(path)
    return path


def raw_pdf(path: Path, objects: list[bytes]) -> Path:
    """A PDF written by hand from numbered objects (1 is the catalog), with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def image_page_pdf(path: Path, page_points: int, pixels: int) -> Path:
    """One page of `page_points` square holding one gray image of `pixels` square (zeros, deflated: tiny on disk)."""
    zeros = zlib.compressobj(9)
    row_block = bytes(pixels * 256)
    data = b"".join(zeros.compress(row_block) for _ in range(pixels // 256)) + zeros.compress(bytes(pixels * (pixels % 256))) + zeros.flush()
    content = b"q %d 0 0 %d 0 0 cm /Im0 Do Q" % (page_points, page_points)
    return raw_pdf(path, [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /XObject << /Im0 5 0 R >> >> "
        b"/Contents 4 0 R >>" % (page_points, page_points),
        stream(b"", content),
        stream(b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 "
               b"/Filter /FlateDecode" % (pixels, pixels), data),
    ])


def broken_font_pdf(path: Path) -> Path:
    """Text set in an embedded TrueType font whose bytes are garbage."""
    garbage = random.Random(7).randbytes(4000)
    content = b"BT /F1 12 Tf 72 720 Td (" + GOOD_TEXT.encode() + b") Tj ET"
    return raw_pdf(path, [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        stream(b"", content),
        b"<< /Type /Font /Subtype /TrueType /BaseFont /Broken /FirstChar 32 /LastChar 126 /Widths [" +
        b"500 " * 95 + b"] /FontDescriptor 6 0 R >>",
        b"<< /Type /FontDescriptor /FontName /Broken /Flags 32 /FontBBox [0 0 1000 1000] /ItalicAngle 0 "
        b"/Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 /FontFile2 7 0 R >>",
        stream(b"/Length1 4000", garbage),
    ])


def encrypted_pdf(path: Path) -> Path:
    import pymupdf

    with pymupdf.open() as doc:
        doc.new_page().insert_text((72, 72), "Confidential personnel list")
        doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")
    return path


def truncated_pdf_bytes() -> bytes:
    """The first half of a PDF whose page tree sits near its end: beyond repair."""
    import pymupdf

    with pymupdf.open() as doc:
        for number in range(3):
            doc.new_page().insert_text((72, 72), f"Parking permits, part {number}. " * 10)
        data = doc.tobytes(garbage=3, deflate=True, use_objstms=1)
    return data[: len(data) // 2]


def many_pages_pdf(path: Path, count: int) -> Path:
    import pymupdf

    with pymupdf.open() as doc:
        for n in range(1, count + 1):
            doc.new_page(width=595, height=842).insert_text((72, 300), f"Annex {n}: the ward {n % 23} figures for year {1990 + n % 30} are in table {n * 7 % 101}.")
        doc.save(path, garbage=0, deflate=True)
    return path


def hostile_folder(folder: Path) -> dict[str, str]:
    """Write one file of each broken kind plus one good PDF; name -> what it is."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "truncated.pdf").write_bytes(truncated_pdf_bytes())
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "webpage.pdf").write_bytes(b"<!doctype html><html><body>not a pdf</body></html>")
    (folder / "random.pdf").write_bytes(random.Random(1).randbytes(50_000))
    (folder / "header-then-noise.pdf").write_bytes(b"%PDF-1.7\n" + random.Random(2).randbytes(50_000))
    encrypted_pdf(folder / "encrypted.pdf")
    text_pdf(folder / "good.pdf", [GOOD_TEXT])
    return {
        "truncated.pdf": "truncated", "empty.pdf": "empty", "webpage.pdf": "not a PDF", "random.pdf": "random bytes",
        "header-then-noise.pdf": "damaged", "encrypted.pdf": "encrypted",
    }
