"""Pick up a newly built index without a restart: POST /admin/reload, or SIGHUP to the server.

The swap is one attribute store (`app.state.engine = new`): a request reads the engine once,
at its start, so it finishes on the generation it began with while later requests get the
new one. The old generation stays on disk while any reader holds it (see govqa.inuse).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from govqa.config import Settings
from govqa.engine import Engine
from govqa.store import live_generation, open_reader

log = logging.getLogger("govqa.api")
FOLLOW_SECONDS = 1.0  # with a shared database, how often a server asks which generation is live


class Reloader:
    """Loads the index's current generation and swaps it in; one reload at a time."""

    def __init__(self, app: FastAPI, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._lock = threading.Lock()
        self._next_check = 0.0

    def follow(self, now: bool = False) -> None:
        """With GOVQA_STORE: swap in a generation any machine built (asked at most every FOLLOW_SECONDS,
        or `now`). An unreachable database raises StoreUnavailable (503) and is asked again next time."""
        engine = self.app.state.engine
        if not self.settings.store or engine is None:
            return
        moment = time.monotonic()
        if not now and moment < self._next_check:
            return
        self._next_check = moment + FOLLOW_SECONDS
        if live_generation(self.settings) != engine.reader.generation:
            self.reload()

    def reload(self) -> dict:
        """Swap in the current generation; an index that fails to load leaves the old one serving."""
        with self._lock:
            old: Engine | None = self.app.state.engine
            previous = old.reader.generation if old is not None else None
            live = live_generation(self.settings)
            if old is not None and live is not None and live == old.reader.generation:
                return self._result("unchanged", old, previous)
            # Workers on a shared database follow it each by itself (follow); a folder's are restarted.
            if old is not None and _supervisor() is not None and not self.settings.store:
                return self._restart_workers(old, previous, live)
            new = self._open(old)
            new.warm()  # the new generation's pages are faulted in here, not by the first requests
            self.app.state.engine = new
            log.info("index reloaded", extra={"event": "reload", "generation": new.reader.generation,
                                              "previous": previous, "documents": len(new.reader.documents)})
            return self._result("reloaded", new, previous)

    def _open(self, old: Engine | None) -> Engine:
        if old is None:
            return Engine.open(self.settings)
        reader = open_reader(self.settings)
        if reader.manifest.embedder == old.reader.manifest.embedder and reader.manifest.dim == old.embedder.dim:
            return Engine(reader, old.embedder, self.settings)  # the loaded model is reused, not loaded twice
        return Engine.open(self.settings)

    def _restart_workers(self, old: Engine, previous: str | None, live) -> dict:
        # `govqa serve --workers N`: this process is one of N. Its supervisor restarts them one by
        # one on SIGHUP, each finishing its requests first, so every worker gets the new index.
        open_reader(self.settings)  # a broken index answers 409 here and nothing restarts
        os.kill(_supervisor(), signal.SIGHUP)
        log.info("workers restarting on the new index", extra={"event": "reload", "generation": live,
                                                                "previous": previous})
        return {"status": "restarting", "generation": live, "previous": previous,
                "documents": len(old.reader.documents), "chunks": old.reader.size}

    @staticmethod
    def _result(status: str, engine: Engine, previous: str | None) -> dict:
        return {"status": status, "generation": engine.reader.generation, "previous": previous,
                "documents": len(engine.reader.documents), "chunks": engine.reader.size}


def _supervisor() -> int | None:
    """The pid of `govqa serve --workers N`'s supervisor when this process is one of its workers."""
    pid = os.environ.get("GOVQA_SUPERVISOR_PID", "")
    return int(pid) if pid.isdigit() and int(pid) == os.getppid() else None


def reload_on_sighup(reloader: Reloader) -> bool:
    """In the server's main thread, make SIGHUP reload the index; False where signals cannot be caught."""
    try:
        loop = asyncio.get_running_loop()
        running: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks

        def on_sighup() -> None:
            task = loop.create_task(_reload_logged(reloader))
            running.add(task)
            task.add_done_callback(running.discard)

        loop.add_signal_handler(signal.SIGHUP, on_sighup)
    except (RuntimeError, ValueError, NotImplementedError, AttributeError):
        return False  # not the main thread (tests, embedded servers) or no SIGHUP on this platform
    return True


def stop_sighup() -> None:
    try:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
    except (RuntimeError, ValueError, NotImplementedError, AttributeError):
        pass


async def _reload_logged(reloader: Reloader) -> None:
    try:
        await run_in_threadpool(reloader.reload)
    except Exception as exc:  # a signal has no one to answer: the log is the answer
        log.error("reload failed, still serving the previous index: %s", exc, extra={"event": "reload_failed"})
