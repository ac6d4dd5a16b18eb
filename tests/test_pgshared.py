"""Many servers and builders on one PostgreSQL database: builds are all-or-nothing, none is lost, servers follow.

Two `govqa serve` processes (real uvicorn on 127.0.0.1) answer searches the whole time while
builds are killed with SIGKILL at several steps, two `govqa index` processes run at once (each
with its own cache folder, as two machines would), and the database is restarted and stopped.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from killpoint import count_steps, run_cli

from govqa.build import build_index
from govqa.config import Settings
from govqa.store.pgschema import connect

CORPORA = {
    "base": {"kosodate.txt": "子育て支援センターは平日の九時から十七時まで開いています。予約は不要です。",
             "gomi.txt": "粗大ごみの収集は毎月第二水曜日です。申込みは収集日の一週間前までに電話で行います。",
             "library.txt": "Library cards are free for residents and must be renewed every three years."},
    "killed": {"suido.txt": "水道料金の口座振替は申込みの翌々月から始まります。",
               "parks.txt": "Park benches are repainted every spring by the parks department."},
    "east": {"bosai.txt": "防災訓練は九月一日に全地区で行います。避難所の開設手順を確認します。",
             "bus.txt": "The community bus runs every thirty minutes between the station and the city hall."},
    "west": {"zeikin.txt": "固定資産税の納期は年四回です。納付書は四月に送付します。",
             "pool.txt": "The municipal swimming pool is closed for maintenance during the first week of June."},
}
SEARCH = {"query": "予約は必要ですか", "k": 3}
DEADLINE = 120  # seconds: a safeguard against a hang, never a timing assertion


def write_corpus(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir()
    for file, text in CORPORA[name].items():
        (folder / file).write_text(text, encoding="utf-8")
    return folder


def doc_ids(*names: str) -> set[str]:
    return {file.removesuffix(".txt") for name in names for file in CORPORA[name]}


def live_state(url: str) -> tuple[str, list[str], set[str]]:
    """(live generation, its documents as listed, govqa tables in the database)."""
    import json

    with connect(url, vectors=False) as conn:
        name, manifest = conn.execute("SELECT g.name, g.manifest FROM govqa_current c "
                                      "JOIN govqa_generations g ON g.id = c.generation").fetchone()
        tables = {t for (t,) in conn.execute("SELECT tablename FROM pg_tables") if re.match(r"govqa_g\d+_", t)}
        gen_id = int(name.split("-")[1])
        rows, distinct = conn.execute(f'SELECT count(*), count(DISTINCT (doc_id, page, start)) '
                                      f'FROM govqa_g{gen_id}_chunks').fetchone()
    assert rows == distinct  # no passage twice
    return name, [d["doc_id"] for d in json.loads(manifest)["documents"]], tables


class Server:
    """`govqa serve --store URL --port 0` in a process of its own; its port read from its start line."""

    def __init__(self, url: str, cache: Path, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "govqa.cli", "serve", "--store", url, "--index-dir", str(cache), "--port", "0"],
            cwd=cwd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.log: list[str] = []
        for line in self.process.stderr:
            self.log.append(line)
            found = re.search(r"open http://127\.0\.0\.1:(\d+)/", line)
            if found:
                self.url = f"http://127.0.0.1:{found.group(1)}"
                break
        else:
            raise RuntimeError("the server did not start: " + "".join(self.log))
        threading.Thread(target=lambda: self.log.extend(self.process.stderr), daemon=True).start()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


class Load:
    """Searches on every server, one after the other, until stopped; every status and error body kept."""

    def __init__(self, servers: list[Server]) -> None:
        self.servers = servers
        self.statuses: list[int] = []
        self.refusals: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self._stop.is_set():
                for server in self.servers:
                    response = client.post(f"{server.url}/search", json=SEARCH)
                    self.statuses.append(response.status_code)
                    if response.status_code != 200:
                        self.refusals.append(response.json()["detail"])

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=DEADLINE)


def wait_for(condition, what: str):
    give_up = time.monotonic() + DEADLINE
    while time.monotonic() < give_up:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def health(server: Server) -> dict:
    response = httpx.get(f"{server.url}/health", timeout=30)
    return response.json() if response.status_code == 200 else {}


def settings(cache: Path, url: str) -> Settings:
    return Settings(index_dir=cache, store=url, manifest=cache / "no-manifest.toml")


def test_servers_and_builders_share_one_database(pg, tmp_path):
    folders = {name: write_corpus(tmp_path, name) for name in CORPORA}
    url, counting, warming = pg.database(), pg.database(), pg.database()
    cache = tmp_path / "machine-k"
    for database in (url, counting):
        build_index([folders["base"]], settings(cache, database))
    build_index([folders["killed"]], settings(cache, warming))  # its passages embedded: kill runs match the count
    first, documents, tables = live_state(url)
    assert set(documents) == doc_ids("base")

    servers = [Server(url, tmp_path / f"server-{i}", tmp_path) for i in (1, 2)]
    load = Load(servers)
    try:
        args = ["index", str(folders["killed"]), "--store", counting, "--index-dir", str(cache)]
        steps = count_steps(args, tmp_path)
        args[3] = url
        for where, fraction in (("build", 0.5), ("writer", 0.2), ("writer", 0.6), ("writer", 0.95)):
            step = max(1, int(steps[where] * fraction))
            killed = run_cli(step if where == "build" else f"writer:{step}", args, tmp_path)
            assert killed.returncode == -9 and "killed at" in killed.stderr, (where, fraction, killed.stderr[-800:])
            assert live_state(url) == (first, documents, tables), (where, fraction)  # nothing of it is left

        # Two machines index at once: each build waits for the other and keeps its documents.
        indexers = [subprocess.Popen([sys.executable, "-m", "govqa.cli", "index", str(folders[name]), "--store", url,
                                      "--index-dir", str(tmp_path / f"machine-{name}")], cwd=tmp_path,
                                     stderr=subprocess.PIPE, text=True) for name in ("east", "west")]
        for indexer in indexers:
            assert indexer.wait(timeout=600) == 0, indexer.stderr.read()
        finished = subprocess.run([sys.executable, "-m", "govqa.cli", "index", str(folders["killed"]), "--store", url,
                                   "--index-dir", str(cache)], cwd=tmp_path, capture_output=True, text=True)
        assert finished.returncode == 0, finished.stderr  # the killed builds left no lock behind
        live, documents, tables = live_state(url)
        assert sorted(documents) == sorted(doc_ids("base", "killed", "east", "west"))
        assert len({t.split("_")[1] for t in tables}) == 2  # the live generation and the one before

        # Both servers serve the newest generation without a restart.
        for server in servers:
            wait_for(lambda: health(server).get("generation") == live, f"{server.url} to serve {live}")
            hits = httpx.post(f"{server.url}/search", json={"query": "固定資産税の納期", "k": 3}, timeout=60).json()["hits"]
            assert hits[0]["doc_id"] == "zeikin"

        # The database restarts under load, then stops: 503 while it is away, answers again once it is back.
        pg.restart()
        for server in servers:
            wait_for(lambda: httpx.post(f"{server.url}/search", json=SEARCH, timeout=60).status_code == 200,
                     "an answer after the restart")
        pg.stop()
        try:
            for server in servers:
                down = httpx.post(f"{server.url}/search", json=SEARCH, timeout=60)
                assert down.status_code == 503 and "database" in down.json()["detail"]
                assert "postgresql://" not in down.json()["detail"]  # where the database is stays in the log
                assert httpx.get(f"{server.url}/health", timeout=60).status_code == 503
        finally:
            pg.start()
        for server in servers:
            wait_for(lambda: health(server).get("generation") == live, "health after the database came back")
    finally:
        load.stop()
        for server in servers:
            server.stop()
    assert len(load.statuses) > 20 and set(load.statuses) <= {200, 503}, sorted(set(load.statuses))
    assert all("database" in reason or "retry" in reason for reason in load.refusals), load.refusals[:5]
    assert not any("Traceback" in line for server in servers for line in server.log)
