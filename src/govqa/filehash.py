"""File bytes -> their sha256: what says a document is the same version as the one indexed."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_files(files: list[Path]) -> dict[Path, str | OSError]:
    """Each file's sha256, or the error that kept it from being read."""
    hashes: dict[Path, str | OSError] = {}
    for path in files:
        try:
            hashes[path] = sha256_of(path)
        except OSError as exc:
            hashes[path] = exc
    return hashes
