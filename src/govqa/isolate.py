"""Parse one file in a child process with a time and a memory limit.

Whatever people drop into a shared folder is read here: a PDF that makes the parser loop,
decode a 60,000-pixel image or crash in C must cost one line in the build's output, not the
build. Each file is parsed in a process forked from a small fork server (started once per
build, with the parser already imported, so a file costs a fork, not an interpreter start),
under RLIMIT_AS and a wall-clock timeout; the child is killed when either runs out.
As with any multiprocessing, a script that builds an index needs `if __name__ == "__main__":`.
"""

from __future__ import annotations

import multiprocessing
import resource
import signal
from pathlib import Path

from .errors import ParseError
from .models import Document
from .parse import Warn, parse_file

_MB = 1 << 20
_SAID: set[str] = set()


def parse_isolated(path: Path, *, ocr_lang: str, ocr_dpi: int, warn: Warn, timeout: float = 0,
                   memory_mb: int = 0) -> Document:
    """parse_file in a child limited to `timeout` seconds and `memory_mb` MB; both 0 parses in this process."""
    if not timeout and not memory_mb:
        return parse_file(path, ocr_lang=ocr_lang, ocr_dpi=ocr_dpi, warn=warn)
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, str(path), ocr_lang, ocr_dpi, memory_mb),
                            name="govqa-parse", daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(timeout or None):
            raise ParseError(str(path), f"took longer than {timeout:g} s to read and was stopped "
                                        f"(limit: GOVQA_PARSE_TIMEOUT)")
        try:
            outcome, payload, warnings = receiver.recv()
        except (EOFError, OSError):
            child.join(5)
            raise ParseError(str(path), _death(child.exitcode)) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
    for message in warnings:
        if str(path) not in message:  # said once per build, not once per child ("OCR is not available")
            if message in _SAID:
                continue
            _SAID.add(message)
        warn(message)
    if outcome == "ok":
        return payload
    if outcome == "memory":
        raise ParseError(str(path), _over_memory(memory_mb))
    raise ParseError(str(path), payload)


def _context():
    context = multiprocessing.get_context("forkserver")
    # "__main__" too: otherwise every child would import the CLI's main module again.
    context.set_forkserver_preload(["__main__", "govqa.parse"])
    return context


def _child(conn, path: str, ocr_lang: str, ocr_dpi: int, memory_mb: int) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file holding a confidential PDF's pages
    if memory_mb:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb * _MB, memory_mb * _MB))
    warnings: list[str] = []
    try:
        result = ("ok", parse_file(Path(path), ocr_lang=ocr_lang, ocr_dpi=ocr_dpi, warn=warnings.append), warnings)
    except ParseError as exc:
        out_of_memory = isinstance(exc.__cause__, MemoryError) or _says_out_of_memory(exc.reason)
        reason = (exc.reason.strip().splitlines() or ["unreadable"])[0]  # one line per file in the build's output
        result = ("memory", "", warnings) if out_of_memory else ("error", reason, warnings)
    except MemoryError:
        result = ("memory", "", warnings)
    conn.send(result)
    conn.close()


def _says_out_of_memory(reason: str) -> bool:
    reason = reason.lower()
    return any(words in reason for words in ("out of memory", "malloc", "cannot allocate", "memoryerror"))


def _over_memory(memory_mb: int) -> str:
    return f"needed more than {memory_mb} MB of memory and was stopped (limit: GOVQA_PARSE_MEMORY_MB)"


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.Signals._value2member_map_ else str(-exitcode)
        return f"the parser crashed on this file ({name})"
    return f"the parser stopped without an answer (exit code {exitcode})"
