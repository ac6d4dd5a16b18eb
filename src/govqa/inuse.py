"""Which index generations a process is reading: a shared flock on the generation's folder.

A server that has not reloaded yet, or a request still running on the engine a reload just
replaced, keeps reading its generation; a build's clean-up must not delete it under them.
Readers hold a shared lock for as long as their IndexReader lives; clean-up takes an
exclusive lock without waiting and skips a generation it cannot get. The kernel drops the
locks of a process that dies, so a killed server never pins a generation for good.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import weakref
from pathlib import Path


def hold(owner: object, gen: Path) -> None:
    """Mark `gen` as read by `owner` until `owner` is garbage collected."""
    fd = os.open(gen, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    except BaseException:
        os.close(fd)
        raise
    weakref.finalize(owner, os.close, fd)


def remove_unless_in_use(gen: Path) -> bool:
    """Delete a generation folder unless some process still reads it; True when deleted."""
    try:
        fd = os.open(gen, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        shutil.rmtree(gen, ignore_errors=True)
        return True
    finally:
        os.close(fd)
