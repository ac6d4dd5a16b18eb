"""Run the govqa CLI and SIGKILL it at its N-th step of a build, or of the index writer.

    python tests/killpoint.py N govqa-args...          # the N-th step in store/embedded.py, store/pgwrite.py or build.py
    python tests/killpoint.py writer:N govqa-args...   # the N-th step inside the index writer (either store's)

A step is a Python call, a C call (os.fsync, os.rename, faiss.write_index, sqlite) or a return,
so the kill lands between any two operations, however short. Inside the writer every step
of govqa's own code counts (store.py, lexical.py), C calls included: before and after each
write, fsync and rename.
N=0 kills nothing and prints `killpoints: BUILD writer: WRITER` on stderr at exit, so a test
can spread its kills over a build.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

# build.py and the modules of its steps, which once were all build.py.
BUILD = ("build.py", "filehash.py", "buildlexical.py", "buildembed.py", "buildfiles.py", "buildpages.py")
WATCHED = (os.path.join("govqa", "store", "embedded.py"), os.path.join("govqa", "store", "pgwrite.py"),
           *(os.path.join("govqa", name) for name in BUILD))
WRITERS = ("write_generation", "write")  # the embedded store's writer, and PostgresTarget.write (pgwrite.py)


def main() -> None:
    mode, _, number = sys.argv[1].rpartition(":")
    target = int(number)
    counts = {"build": 0, "writer": 0}
    writing = 0  # depth of write_generation frames

    def profile(frame, event, arg) -> None:
        nonlocal writing
        code = frame.f_code
        in_store = code.co_filename.endswith(WATCHED)
        if in_store and code.co_name in WRITERS and event in ("call", "return"):
            writing += 1 if event == "call" else -1
        if in_store:
            counts["build"] += 1
        in_govqa = writing and f"{os.sep}govqa{os.sep}" in code.co_filename
        if in_govqa:
            counts["writer"] += 1
        if (in_store or in_govqa) and counts[mode or "build"] == target:
            where = f"{os.path.basename(code.co_filename)}:{code.co_name}"
            detail = getattr(arg, "__name__", "") if event == "c_call" else ""
            print(f"killed at {where} {event} {detail}".rstrip(), file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    if target == 0:
        atexit.register(lambda: print(f"killpoints: {counts['build']} writer: {counts['writer']}",
                                      file=sys.stderr, flush=True))
    sys.argv = ["govqa", *sys.argv[2:]]
    from govqa.cli import run

    sys.setprofile(profile)
    run()


def run_cli(step: int | str, args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """govqa ARGS in a child process killed at `step` (0: never)."""
    # Parsing in-process keeps each trial short; the writer's steps are what is under test here.
    env = {**os.environ, "GOVQA_PARSE_TIMEOUT": "0", "GOVQA_PARSE_MEMORY_MB": "0", "COLUMNS": "200"}
    return subprocess.run([sys.executable, __file__, str(step), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def count_steps(args: list[str], cwd: Path) -> dict[str, int]:
    """Kill points of a complete run of govqa ARGS: {"build": N, "writer": M} (the run writes its index)."""
    result = run_cli(0, args, cwd)
    found = re.search(r"killpoints: (\d+) writer: (\d+)", result.stderr)
    if result.returncode != 0 or not found:
        raise RuntimeError(f"the counting run failed: {result.stderr[-2000:]}")
    return {"build": int(found.group(1)), "writer": int(found.group(2))}


if __name__ == "__main__":
    main()
