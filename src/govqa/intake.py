"""Checks on a file someone uploads, before anything is indexed: name, type by its bytes, encryption, zip bombs.

Each refusal is an UploadRejected with one line a member of staff can act on; nothing is
written to the index until a file has passed every check (and the build itself is atomic).
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from pathlib import Path

from .errors import GovqaError
from .parse import SUPPORTED_SUFFIXES

MAX_NAME_CHARS = 200
ZIP_MAX_RATIO = 100  # uncompressed / compressed of a whole Office file; real documents stay far below
ZIP_MAX_MEMBERS = 10_000
OFFICE_PARTS = {".docx": "word/", ".xlsx": "xl/", ".pptx": "ppt/"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0080-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


class UploadRejected(GovqaError):
    http_status = 422


class UploadTooLarge(UploadRejected):
    http_status = 413


class UnsupportedType(UploadRejected):
    http_status = 415


class DuplicateUpload(UploadRejected):
    http_status = 409


def accepted_suffixes() -> set[str]:
    """What this govqa can index: its parser's types (Office files only once the parser reads them)."""
    return set(SUPPORTED_SUFFIXES)


def check_filename(name: str | None) -> str:
    """The file's own name, NFC; refused if it has folders, control characters or no supported type."""
    if not name or not name.strip():
        raise UploadRejected("the upload has no file name: send the file as the multipart field 'file' with its name")
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith("."):
        raise UploadRejected(f"file name {name!r} contains a folder part or starts with '.': send the file's own name only")
    if _CONTROL.search(name):
        raise UploadRejected("the file name contains control or direction-changing characters: rename the file")
    name = unicodedata.normalize("NFC", name.strip())
    if len(name) > MAX_NAME_CHARS:
        raise UploadRejected(f"the file name is {len(name)} characters long; the limit is {MAX_NAME_CHARS}")
    suffix = Path(name).suffix.lower()
    if suffix not in accepted_suffixes():
        kinds = ", ".join(sorted(accepted_suffixes()))
        raise UnsupportedType(f"{name}: files of type '{suffix or 'none'}' cannot be indexed (accepted: {kinds})")
    return name


def check_content(path: Path, name: str, max_bytes: int) -> None:
    """The bytes are what the name says, readable, not encrypted, not a zip bomb."""
    size = path.stat().st_size
    if size > max_bytes:
        raise UploadTooLarge(f"{name} is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:g} MB")
    if size == 0:
        raise UploadRejected(f"{name} is empty")
    with open(path, "rb") as fh:
        head = fh.read(8192)
    suffix = Path(name).suffix.lower()
    if suffix == ".pdf":
        _check_pdf(path, name, head)
    elif suffix in OFFICE_PARTS:
        _check_office(path, name, head, suffix, max_bytes)
    else:
        _check_text(name, head)


def _check_pdf(path: Path, name: str, head: bytes) -> None:
    if b"%PDF-" not in head[:1024]:
        raise UnsupportedType(f"{name} is named .pdf but is not a PDF (its first bytes are {_kind_of(head)})")
    import pymupdf

    try:
        with pymupdf.open(path) as doc:
            if doc.needs_pass:
                raise UploadRejected(f"{name} is encrypted (it needs a password to open): upload an unprotected copy")
            if doc.page_count == 0:
                raise UploadRejected(f"{name} has no pages")
    except UploadRejected:
        raise
    except Exception as exc:  # PyMuPDF raises its own types for damaged files
        raise UploadRejected(f"{name} is damaged and cannot be read as a PDF ({type(exc).__name__})") from None


def _check_office(path: Path, name: str, head: bytes, suffix: str, max_bytes: int) -> None:
    if not head.startswith(b"PK\x03\x04"):
        raise UnsupportedType(f"{name} is named {suffix} but is not an Office file (its first bytes are {_kind_of(head)})")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > ZIP_MAX_MEMBERS:
                raise UploadRejected(f"{name} holds {len(members)} parts; an Office file has far fewer")
            unpacked = sum(m.file_size for m in members)
            packed = max(1, sum(m.compress_size for m in members))
            if unpacked > 10 * max_bytes or unpacked / packed > ZIP_MAX_RATIO:
                raise UploadRejected(f"{name} would unpack to {unpacked / 1e6:.0f} MB from {packed / 1e6:.1f} MB: "
                                     f"refused as a possible zip bomb")
            names = {m.filename for m in members}
            if "[Content_Types].xml" not in names or not any(n.startswith(OFFICE_PARTS[suffix]) for n in names):
                raise UnsupportedType(f"{name} is a zip file but not a {suffix} document")
            if "EncryptedPackage" in names:
                raise UploadRejected(f"{name} is encrypted: upload an unprotected copy")
    except zipfile.BadZipFile:
        raise UploadRejected(f"{name} is damaged and cannot be opened") from None


def _check_text(name: str, head: bytes) -> None:
    if head.startswith((b"%PDF-", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\x7fELF", b"MZ", b"\x89PNG", b"\xff\xd8\xff")):
        raise UnsupportedType(f"{name} is named as text but holds {_kind_of(head)}: upload it with its own type")
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnsupportedType(f"{name} is named as text but holds binary data")


def _kind_of(head: bytes) -> str:
    for magic, kind in ((b"%PDF-", "a PDF"), (b"PK\x03\x04", "a zip archive"), (b"\xd0\xcf\x11\xe0", "an old Office file"),
                        (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"MZ", "a Windows program"),
                        (b"\x7fELF", "a program")):
        if head.startswith(magic):
            return kind
    return "text" if b"\x00" not in head[:512] else "binary data"
