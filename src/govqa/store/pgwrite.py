"""A build into PostgreSQL: one build at a time per database, a new generation visible in one commit.

The build holds a session advisory lock from before it reads the live generation until it has
switched to its own, so a second `govqa index` (from any machine) waits and then builds on the
first one's documents: none is lost or indexed twice. The generation's tables, its row in
govqa_generations and the switch of govqa_current are one transaction: a build killed at any
point leaves no trace, and readers see the previous generation until the commit.
"""

from __future__ import annotations

import io
import json
import os
import socket
from contextlib import contextmanager
from dataclasses import asdict

import numpy as np

from ..errors import GovqaError
from .pgschema import BUILD_LOCK, NOTIFY_CHANNEL, Database, check_schema, connect, describe, register_vector

# Up to this many chunks a generation is searched exactly (no HNSW index): the same ranking as the
# embedded store's exact FAISS search; above it, HNSW (bench/bench_pgstore.py chose the settings).
PG_EXACT_MAX = 20_000
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
PARTS = ("chunks", "vectors", "pages", "terms")  # a generation's tables: govqa_g<N>_<part>


def table(gen_id: int, part: str) -> str:
    return f"govqa_g{int(gen_id)}_{part}"


class PostgresTarget:
    def __init__(self, url: str) -> None:
        self.url = url
        self.where = describe(url)
        self._conn = None
        self._previous_id: int | None = None

    @contextmanager
    def locked(self):
        conn = connect(self.url)
        try:
            check_schema(conn, self.url, create=True)
            register_vector(conn)  # the `vector` type exists now, also in a database this build has just set up
            conn.execute("SELECT pg_advisory_lock(%s)", (BUILD_LOCK,))
            self._conn = conn
            yield
        finally:
            self._conn = None
            conn.close()  # the lock goes with the session; a killed build's session ends the same way

    def previous(self):
        from .postgres import PostgresReader

        row = self._conn.execute("SELECT generation FROM govqa_current").fetchone()
        self._previous_id = row[0]
        return PostgresReader.load(Database.shared(self.url), row[0]) if row[0] is not None else None

    def write(self, manifest, pages, chunks, vectors, lexical, page_lexical, boxes) -> str:
        conn = self._conn
        exact = len(chunks) <= PG_EXACT_MAX
        with conn.transaction():
            live = conn.execute("SELECT generation FROM govqa_current FOR UPDATE").fetchone()[0]
            if live != self._previous_id:  # only without the lock (another tool's write): never build on stale data
                raise GovqaError(f"the index in {self.where} changed during this build; run `govqa index` again")
            gen_id = conn.execute(
                "INSERT INTO govqa_generations (name, manifest, exact, builder) VALUES ('', %s, %s, %s) RETURNING id",
                (json.dumps(asdict(manifest), ensure_ascii=False), exact,
                 f"{socket.gethostname()}:{os.getpid()}")).fetchone()[0]
            name = f"gen-{gen_id:06d}"
            _write_chunks(conn, gen_id, manifest.dim, chunks, vectors, boxes)
            _write_pages(conn, gen_id, pages)
            _write_terms(conn, gen_id, [lexical, page_lexical.index, page_lexical.docs])
            if not exact:
                conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
                conn.execute(f"CREATE INDEX ON {table(gen_id, 'vectors')} USING hnsw (embedding vector_ip_ops) "
                             f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})")
            for part in PARTS:
                conn.execute(f"ANALYZE {table(gen_id, part)}")
            conn.execute("UPDATE govqa_generations SET name = %s, arrays = %s WHERE id = %s",
                         (name, _arrays(manifest, chunks, [lexical, page_lexical.index, page_lexical.docs],
                                        page_lexical), gen_id))
            conn.execute("UPDATE govqa_current SET generation = %s", (gen_id,))
            conn.execute(f"NOTIFY {NOTIFY_CHANNEL}, '{name}'")
        drop_old_generations(conn, keep={gen_id, live})
        return name


def _write_chunks(conn, gen_id: int, dim: int, chunks, vectors: np.ndarray, boxes) -> None:
    conn.execute(f"""CREATE TABLE {table(gen_id, 'chunks')} (row int PRIMARY KEY, doc_id text NOT NULL,
        page int NOT NULL, start int, "end" int, text text, heading text, lang text, boxes text)""")
    with conn.cursor().copy(f"COPY {table(gen_id, 'chunks')} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["int4", "text", "int4", "int4", "int4", "text", "text", "text", "text"])
        for i, c in enumerate(chunks):
            copy.write_row((i, c.doc_id, c.page, c.start, c.end, c.text, c.heading, c.lang,
                            json.dumps(boxes[i]) if boxes is not None else "[]"))
    conn.execute(f"CREATE INDEX ON {table(gen_id, 'chunks')} (doc_id, page)")  # IndexStore.page_chunks
    # Vectors in a narrow table of their own, kept in the row (PLAIN, not TOASTed): an exact search reads
    # them alone, 5 to a page; beside the text and out of line it took twice as long (bench_pgstore.py).
    conn.execute(f"CREATE TABLE {table(gen_id, 'vectors')} (row int PRIMARY KEY, embedding vector({int(dim)}) NOT NULL)")
    conn.execute(f"ALTER TABLE {table(gen_id, 'vectors')} ALTER COLUMN embedding SET STORAGE PLAIN")
    with conn.cursor().copy(f"COPY {table(gen_id, 'vectors')} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["int4", "vector"])
        for i in range(len(chunks)):
            copy.write_row((i, vectors[i]))


def _write_pages(conn, gen_id: int, pages) -> None:
    conn.execute(f"CREATE TABLE {table(gen_id, 'pages')} (doc_id text, page int, text text, ocr boolean, "
                 f"PRIMARY KEY (doc_id, page))")
    with conn.cursor().copy(f"COPY {table(gen_id, 'pages')} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["text", "int4", "text", "bool"])
        for doc_id, doc_pages in pages.items():
            for p in doc_pages:
                copy.write_row((doc_id, p.page, p.text, bool(p.ocr)))


def _write_terms(conn, gen_id: int, indexes) -> None:
    """One row per (index, word): its rows and their BM25 contributions, as two arrays (the postings)."""
    conn.execute(f"CREATE TABLE {table(gen_id, 'terms')} (kind smallint, term text, rows int[], scores real[], "
                 f"PRIMARY KEY (kind, term))")
    with conn.cursor().copy(f"COPY {table(gen_id, 'terms')} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["int2", "text", "int4[]", "float4[]"])
        for kind, index in enumerate(indexes):
            if index is None:
                continue
            for token, rows, scores in index.postings():
                if token:
                    copy.write_row((kind, token, rows.tolist(), scores.tolist()))


def _arrays(manifest, chunks, indexes, page_lexical) -> bytes:
    """What a reader keeps in memory, read in one query when it opens: per row (1-5 bytes a chunk), and
    each BM25 index's words with their document frequency (a question's words are looked up dozens of
    times, the lexicon's translations most of all: in memory, as bm25s keeps them, not one query each)."""
    number = {d.doc_id: i for i, d in enumerate(manifest.documents)}
    words = {}
    for kind, index in enumerate(indexes):
        found = [(token, len(rows)) for token, rows, _ in index.postings()]
        words[f"terms{kind}"] = np.frombuffer("\n".join(t for t, _ in found).encode(), dtype=np.uint8)
        words[f"df{kind}"] = np.array([df for _, df in found], dtype=np.int32)
    buffer = io.BytesIO()
    np.savez(buffer, **words, chunk_langs=np.array([c.lang == "ja" for c in chunks], dtype=bool),
             row_doc=np.array([number[c.doc_id] for c in chunks], dtype=np.int32),
             chunk_page=np.asarray(page_lexical.chunk_page, dtype=np.int32),
             pages=np.frombuffer(json.dumps(page_lexical.pages, ensure_ascii=False).encode(), dtype=np.uint8),
             num_docs=np.array([lexical.num_docs for lexical in (page_lexical.index, page_lexical.docs)]))
    return buffer.getvalue()


def drop_old_generations(conn, keep: set[int | None]) -> None:
    """Drop every generation but the live one and the one before (a server may still be reading it)."""
    rows = conn.execute("SELECT id FROM govqa_generations").fetchall()
    for (gen_id,) in rows:
        if gen_id in keep:
            continue
        with conn.transaction():
            for part in PARTS:
                conn.execute(f"DROP TABLE IF EXISTS {table(gen_id, part)}")
            conn.execute("DELETE FROM govqa_generations WHERE id = %s", (gen_id,))
