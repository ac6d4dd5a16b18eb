"""Indexing jobs of a running server (uploads, replacements, deletions): one at a time per index, queued.

A job runs in one background thread while the server keeps answering from the live generation;
the build it runs writes a new generation atomically, so a crash mid-job leaves the index as it
was. Each job's state is also written to jobs/ID.json beside the index, so any worker process
can report it, and a job a crashed server left unfinished is reported as failed.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from .sourcepath import without_paths
from .store import write_atomic

FOLDER = "jobs"
KEEP_FINISHED = 500  # job files kept; older finished ones are deleted


@dataclass
class Job:
    id: str
    kind: str  # upload, replace, delete
    collection: str
    who: str
    filename: str | None = None
    doc_id: str | None = None
    status: str = "queued"  # queued, running, done, failed
    stage: str = "queued"  # queued, parsing, embedding, indexing, reloading, done
    done: int = 0
    total: int = 0
    message: str = ""
    ocr_pages: int = 0
    pages: int = 0
    generation: str | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    pid: int = field(default_factory=os.getpid)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "pid"}


Work = Callable[[Job, Callable[..., None]], None]


class JobQueue:
    """Runs submitted jobs in order in one daemon thread; `get` answers for this process's jobs and the files."""

    def __init__(self, index_dir: Path) -> None:
        self.folder = Path(index_dir) / FOLDER
        self._jobs: dict[str, Job] = {}
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_write = 0.0

    def submit(self, job: Job, work: Work) -> Job:
        with self._lock:
            self._jobs[job.id] = job
            self._save(job)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True, name="govqa-jobs")
                self._thread.start()
        self._queue.put((job, work))
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            if job_id in self._jobs:
                return Job(**asdict(self._jobs[job_id]))
        if not job_id.isalnum():
            return None
        try:
            job = Job(**json.loads((self.folder / f"{job_id}.json").read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None
        if job.status in ("queued", "running") and not _alive(job.pid):
            job.status, job.stage = "failed", "failed"
            job.message = "the server stopped during this job; nothing of it was indexed: upload the file again"
        return job

    def pending(self) -> int:
        with self._lock:
            return sum(j.status in ("queued", "running") for j in self._jobs.values())

    def _run(self) -> None:
        while True:
            job, work = self._queue.get()

            def progress(stage: str | None = None, done: int | None = None, total: int | None = None, **fields) -> None:
                with self._lock:
                    moved = bool(stage) and stage != job.stage
                    job.stage = stage or job.stage
                    job.done = job.done if done is None else done
                    job.total = job.total if total is None else total
                    for key, value in fields.items():
                        setattr(job, key, value)
                    if moved or fields or time.monotonic() - self._last_write > 0.5:
                        self._save(job)

            progress("starting", status="running")
            try:
                work(job, progress)
                progress("done", status="done", finished=time.time())
            except Exception as exc:  # the job's own failure, reported to whoever follows it
                message = str(exc) if getattr(exc, "http_status", None) else f"{type(exc).__name__}: {exc}"
                message = without_paths(message)  # GET /jobs/{id} shows it: an upload's file is under the index folder
                progress("failed", status="failed", message=message, finished=time.time())

    def _save(self, job: Job) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self.folder / f"{job.id}.json", json.dumps(asdict(job), ensure_ascii=False).encode("utf-8"))
        self._last_write = time.monotonic()
        if job.status == "done":
            self._prune()

    def _prune(self) -> None:
        files = sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
        for path in files[:-KEEP_FINISHED]:
            path.unlink(missing_ok=True)


def new_job_id() -> str:
    return secrets.token_hex(8)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
