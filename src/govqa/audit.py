"""The audit log: one JSON line per upload, deletion, token or collection change (and, if enabled, question).

Beside the index (audit.jsonl) unless GOVQA_AUDIT_LOG names another file. Each line is written
with one append under an exclusive lock and flushed to disk, so lines from several server
processes and the CLI never interleave and a crash loses at most the line being written.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import time
from pathlib import Path

from .config import Settings

FILE = "audit.jsonl"


def audit_path(settings: Settings) -> Path:
    return Path(settings.audit_log) if settings.audit_log else settings.index_dir / FILE


def record(settings: Settings, event: str, who: str, **fields) -> None:
    """Append one line: time, event (e.g. document.upload), who (a token id, api-key, cli:USER), details."""
    line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "event": event, "who": who, **fields}
    path = audit_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(line, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def cli_user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in a container without /etc/passwd entry
        return f"cli:uid{os.getuid()}"
