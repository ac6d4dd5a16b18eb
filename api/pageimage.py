"""A PDF page as a picture, rendered once per (file sha256, page, width) and kept on disk beside the index.

The bytes rendered are those of the verified file (FileGuard), so a document the caller may not
see, or a file swapped since indexing, is refused exactly as the file route refuses it.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from pathlib import Path

from fastapi.responses import FileResponse, Response

from govqa.engine import Engine
from govqa.errors import GovqaError, NotFound
from govqa.passageimage import render_page

from .files import FileGuard

MIN_WIDTH, MAX_WIDTH = 200, 1600
log = logging.getLogger("govqa.api")


class NoPageImages(GovqaError):
    http_status = 404


class PageImages:
    """Renders pages into `folder` (atomic: temp file + rename); one render per page at a time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._locks: dict[tuple[str, int, int], threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._warned = False

    def response(self, engine: Engine, files: FileGuard, doc_id: str, page: int, width: int) -> Response:
        record = engine.document(doc_id)
        if record.kind != "pdf":
            raise NoPageImages(f"document {doc_id!r} is {record.kind}, not a PDF: it has no page images")
        if not 1 <= page <= record.pages:
            raise NotFound(f"document {doc_id!r} has pages 1..{record.pages}, not {page}")
        jpeg = page in record.ocr_pages
        name = f"{record.sha256}-{page}-{width}.{'jpg' if jpeg else 'png'}"
        media_type = "image/jpeg" if jpeg else "image/png"
        headers = {"Cache-Control": "private, max-age=3600", "ETag": f'"{name}"'}
        path = self.folder / name
        opened = files.open(engine, doc_id)  # every time: the caller's access and the file's bytes are checked
        try:
            if path.is_file():
                return FileResponse(path, media_type=media_type, headers=headers)
            with self._lock_for(record.sha256, page, width):
                if not path.is_file():
                    data = self._render(opened.fd, opened.size, page, width, jpeg)
                    if not self._store(path, data):
                        return Response(data, media_type=media_type, headers=headers)
        finally:
            os.close(opened.fd)
        return FileResponse(path, media_type=media_type, headers=headers)

    def _lock_for(self, sha: str, page: int, width: int) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault((sha, page, width), threading.Lock())

    def _render(self, fd: int, size: int, page: int, width: int, jpeg: bool) -> bytes:
        return render_page(os.pread(fd, size, 0), page, width, jpeg)

    def _store(self, path: Path, data: bytes) -> bool:
        """Write beside and rename, so no reader (or other worker) sees half an image; False if the folder is read-only."""
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
            return True
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if not self._warned:
                self._warned = True
                log.warning("page images are not cached: %s (%s)", self.folder, exc.strerror or exc)
            return False
