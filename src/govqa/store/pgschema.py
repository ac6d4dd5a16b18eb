"""The PostgreSQL store's connection and schema: versioned migrations, `govqa db upgrade`, errors as one line.

Tables (one set per database):
    govqa_schema        the schema version this database is at
    govqa_generations   one row per built generation: name, manifest, the small per-row arrays
    govqa_current       one row: the live generation (switched in the build's own transaction)
    govqa_g<N>_*        a generation's chunks (with vectors), pages, terms and BM25 postings
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from ..errors import GovqaError

log = logging.getLogger("govqa.store")

# Each migration takes the database from version i to i + 1; append, never edit a released one.
MIGRATIONS: list[str] = [
    """
    CREATE EXTENSION IF NOT EXISTS vector;
    CREATE TABLE govqa_schema (version int NOT NULL);
    INSERT INTO govqa_schema VALUES (0);
    CREATE TABLE govqa_generations (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE,
        created timestamptz NOT NULL DEFAULT now(), manifest text NOT NULL, arrays bytea, exact boolean NOT NULL);
    CREATE TABLE govqa_current (one boolean PRIMARY KEY DEFAULT true CHECK (one),
        generation bigint REFERENCES govqa_generations (id));
    INSERT INTO govqa_current VALUES (true, NULL);
    """,
    # Who wrote a generation (host and process), so an operator can tell concurrent builders apart.
    "ALTER TABLE govqa_generations ADD COLUMN builder text NOT NULL DEFAULT '';",
    # Vectors move out of the chunks table into govqa_g<N>_vectors, stored in the row (exact scans 2x faster).
    """
    DO $$
    DECLARE g record;
    BEGIN
      FOR g IN SELECT id, exact FROM govqa_generations LOOP
        IF to_regclass(format('govqa_g%s_vectors', g.id)) IS NULL
           AND to_regclass(format('govqa_g%s_chunks', g.id)) IS NOT NULL THEN
          EXECUTE format('CREATE TABLE govqa_g%s_vectors AS SELECT row, embedding FROM govqa_g%s_chunks', g.id, g.id);
          EXECUTE format('ALTER TABLE govqa_g%s_vectors ADD PRIMARY KEY (row), ALTER COLUMN embedding SET STORAGE PLAIN',
                         g.id);
          IF NOT g.exact THEN
            EXECUTE format('CREATE INDEX ON govqa_g%s_vectors USING hnsw (embedding vector_ip_ops)', g.id);
          END IF;
          EXECUTE format('ALTER TABLE govqa_g%s_chunks DROP COLUMN embedding', g.id);
        END IF;
      END LOOP;
    END $$;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
BUILD_LOCK = 0x676F7161  # pg_advisory_lock key: one build at a time per database ("govq")
NOTIFY_CHANNEL = "govqa_generation"


class StoreUnavailable(GovqaError):
    """The database cannot be reached now; the next request tries again."""

    http_status = 503


class SchemaError(GovqaError):
    http_status = 409


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(url)
    except Exception:
        return "the --store URL"
    where = (parts.get("host") or "localhost") + (f":{parts['port']}" if parts.get("port") else "")
    return f"postgresql://{parts.get('user', '') + '@' if parts.get('user') else ''}{where}/{parts.get('dbname', '')}"


def require_postgres_extra() -> None:
    """One line naming the extra when psycopg or pgvector is missing."""
    _psycopg()


def _psycopg():
    try:
        import psycopg
        from pgvector.psycopg import register_vector
    except ImportError as exc:
        raise GovqaError(f"--store/GOVQA_STORE needs the postgres extra ({exc.name} is missing): "
                         f"pip install 'govqa[postgres]'") from exc
    return psycopg, register_vector


def connect(url: str, vectors: bool = True):
    """A new autocommit connection; an unreachable database or a bad URL is one line naming --store."""
    psycopg, register_vector = _psycopg()
    if not url.startswith(("postgresql://", "postgres://")) and "=" not in url:
        raise GovqaError(f"--store/GOVQA_STORE must be a postgresql://… URL, not {url!r}")
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise StoreUnavailable(f"cannot reach the database of --store/GOVQA_STORE ({describe(url)}): "
                               f"{_first_line(exc)}") from exc
    if vectors:
        try:
            register_vector(conn)
        except psycopg.ProgrammingError:  # no `vector` type yet: a database govqa has not set up
            pass
    return conn


def register_vector(conn) -> None:
    _psycopg()[1](conn)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def schema_version(conn) -> int | None:
    """The database's version, or None when govqa has never written to it."""
    if conn.execute("SELECT to_regclass('govqa_schema')").fetchone()[0] is None:
        return None
    return conn.execute("SELECT version FROM govqa_schema").fetchone()[0]


def check_schema(conn, url: str, create: bool = False) -> None:
    """Refuse an older or newer schema with the command that fixes it; with `create`, set up an empty database."""
    version = schema_version(conn)
    if version is None and create:
        upgrade(conn)
        return
    if version is None:
        raise SchemaError(f"no govqa index in {describe(url)}: build one with `govqa index PATH --store URL`")
    if version < SCHEMA_VERSION:
        raise SchemaError(f"the database {describe(url)} has govqa schema version {version}, this govqa needs "
                          f"{SCHEMA_VERSION}: run `govqa db upgrade --store URL`")
    if version > SCHEMA_VERSION:
        raise SchemaError(f"the database {describe(url)} has govqa schema version {version}, newer than this "
                          f"govqa's {SCHEMA_VERSION}: upgrade govqa")


def upgrade(conn, to: int = SCHEMA_VERSION) -> tuple[int, int]:
    """Apply the missing migrations, each in its own transaction (under the build lock); (before, after)."""
    conn.execute("SELECT pg_advisory_lock(%s)", (BUILD_LOCK,))
    try:
        before = schema_version(conn) or 0
        for number in range(before, to):
            with conn.transaction():
                conn.execute(MIGRATIONS[number])
                conn.execute("UPDATE govqa_schema SET version = %s", (number + 1,))
        return before, max(before, to)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (BUILD_LOCK,))


class Database:
    """One connection per thread to one database; a broken connection is dropped and the error is a 503."""

    _shared: dict[str, "Database"] = {}
    _shared_lock = threading.Lock()

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        self._reached = False  # connected once: later failures are an outage, told to clients without details

    @classmethod
    def shared(cls, url: str) -> "Database":
        with cls._shared_lock:
            return cls._shared.setdefault(url, cls(url))

    def run(self, work: Callable):
        """work(connection) on this thread's connection; connection failures become StoreUnavailable."""
        psycopg, _ = _psycopg()
        for attempt in (1, 2):
            conn = getattr(self._local, "conn", None)
            fresh = conn is None or conn.closed
            if fresh:
                try:
                    conn = self._local.conn = connect(self.url)
                except StoreUnavailable as exc:
                    if not self._reached:  # at start (a command, a server starting): the operator reads the reason
                        raise
                    log.warning("index database %s unavailable: %s", describe(self.url), exc)
                    raise StoreUnavailable("the index database (--store/GOVQA_STORE) is unavailable; "
                                           "retry shortly") from exc
                self._reached = True
            try:
                return work(conn)
            except psycopg.errors.UndefinedTable as exc:  # a generation two builds old, dropped meanwhile
                raise StoreUnavailable("the index changed while this request read it; retry") from exc
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self._local.conn = None
                try:
                    conn.close()
                except Exception:
                    pass
                # A kept connection may have been cut while idle (a restart, a failover): reads are
                # safe to repeat once on a new one. A new connection failing means the database is down.
                if fresh or attempt == 2:
                    # The reason goes to the log; a client is told no more than that the database is away.
                    log.warning("index database %s unavailable: %s", describe(self.url), _first_line(exc))
                    raise StoreUnavailable("the index database (--store/GOVQA_STORE) is unavailable; "
                                           "retry shortly") from exc

    def fetch(self, sql, params=(), binary: bool = False) -> list[tuple]:
        return self.run(lambda conn: conn.execute(sql, params, binary=binary).fetchall())

    def live_generation(self) -> str | None:
        def current(conn):
            check_schema(conn, self.url)
            row = conn.execute("SELECT g.name FROM govqa_current c JOIN govqa_generations g ON g.id = c.generation"
                               ).fetchone()
            return row[0] if row else None

        return self.run(current)
