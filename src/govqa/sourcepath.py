"""Where a document came from, as people may see it: never a path of the server's disk.

The index keeps each original's absolute path to serve it (DocRecord.file) and logs may name
it; answers and messages show the file relative to the folder it was indexed from instead.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

# An absolute path in a message: "/" after a space, quote or bracket, at least two parts deep.
_ABSOLUTE = re.compile(r"(?<![\w.:/~%-])/(?:[^\s/'\"`()<>\[\]]+/)+([^\s/'\"`()<>\[\]]*)")


def relative_source(path: Path, roots: list[Path]) -> str:
    """The file as a build names it: the path as given when that is relative and stays inside
    the working folder (`corpus/raw/x.pdf`), else relative to the folder argument it was found
    under, else its name."""
    given = PurePosixPath(path.as_posix())
    if not given.is_absolute() and ".." not in given.parts:
        return given.as_posix()
    resolved = path.resolve()
    for root in roots:
        root = root.resolve()
        if root.is_dir() and resolved.is_relative_to(root):
            return resolved.relative_to(root).as_posix()
    return path.name


def public_source(record) -> str:
    """A DocRecord's `source` for answers: its recorded relative path, or (an index built before
    that was recorded) the path as given when it is relative, else the manifest's URL, else the name."""
    shown = getattr(record, "source_path", "") or ""
    if shown:
        return shown
    given = PurePosixPath(record.path)
    if not given.is_absolute() and ".." not in given.parts:
        return given.as_posix()
    return record.url or given.name


def without_paths(message: str) -> str:
    """`message` with every absolute path cut to its last part (`…/gen-000007`)."""
    return _ABSOLUTE.sub(lambda m: f"…/{m.group(1)}" if m.group(1) else "…/", message)
