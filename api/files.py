"""An indexed document's original file: only the bytes the index recorded, never a path taken from the URL."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from fastapi.responses import StreamingResponse

from govqa.engine import Engine
from govqa.errors import GovqaError, NotFound

log = logging.getLogger("govqa.api")

# HTML originals are shown, never run: a sandboxed, script-less document of its own origin.
_HTML_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
_MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}
_BLOCK = 1 << 18


class FileChanged(GovqaError):
    http_status = 409


@dataclass
class RecordedFile:
    fd: int
    size: int
    name: str
    media_type: str
    sha256: str


class FileGuard:
    """Opens a document's file only while it is still the regular file, with the same bytes, that was indexed."""

    def __init__(self) -> None:
        self._verified: dict[str, tuple[int, int, int, int]] = {}
        self._lock = threading.Lock()

    def open(self, engine: Engine, doc_id: str) -> RecordedFile:
        record = engine.document(doc_id)
        path = engine.file_path(doc_id)
        stale = FileChanged(f"the file of {doc_id!r} is no longer the one that was indexed; "
                            f"run `govqa index` again to refresh it")
        # The recorded path was fully resolved at index time: a symlink on it now was planted since.
        if os.path.realpath(path) != os.path.abspath(path):
            log.warning("not serving %s: a symbolic link is on its path now", path)
            raise stale
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise NotFound(f"the file of {doc_id!r} cannot be opened ({exc.strerror})") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise stale
            stamp = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
            with self._lock:
                known = self._verified.get(doc_id) == stamp
            if not known:
                if _sha256(fd) != record.sha256:
                    log.warning("not serving %s: its bytes changed since it was indexed", path)
                    raise stale
                with self._lock:
                    self._verified[doc_id] = stamp
        except BaseException:
            os.close(fd)
            raise
        media_type = _MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
        return RecordedFile(fd=fd, size=info.st_size, name=Path(record.path).name, media_type=media_type,
                            sha256=record.sha256)


def file_response(opened: RecordedFile) -> StreamingResponse:
    """Stream from the descriptor that was verified, so a swap after the check changes nothing."""
    inline = opened.media_type != "application/octet-stream"
    headers = {
        "Content-Length": str(opened.size),
        "Content-Disposition": f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(opened.name)}",
        "ETag": f'"{opened.sha256}"',
        "Cache-Control": "private, no-cache",
    }
    if opened.media_type.startswith("text/html"):
        headers["Content-Security-Policy"] = _HTML_CSP
    return StreamingResponse(_blocks(opened.fd, opened.size), media_type=opened.media_type, headers=headers)


def _blocks(fd: int, size: int) -> Iterator[bytes]:
    try:
        offset = 0
        while offset < size and (block := os.pread(fd, min(_BLOCK, size - offset), offset)):
            offset += len(block)
            yield block
    finally:
        os.close(fd)


def _sha256(fd: int) -> str:
    digest = hashlib.sha256()
    offset = 0
    while block := os.pread(fd, 1 << 20, offset):
        offset += len(block)
        digest.update(block)
    return digest.hexdigest()
