"""The PostgreSQL store's reader: one generation, searched in SQL (pgvector, BM25 postings), same answers as embedded.

Dense search is pgvector's inner product (`<#>`): exact below pgwrite.PG_EXACT_MAX chunks, HNSW
above. BM25 sums the per-row contributions bm25s computed at build time (the postings of
govqa_g<N>_terms), so both stores rank with the same numbers. What a query needs per row
(script, page, document: a few bytes a chunk) is read once when the generation is opened.
"""

from __future__ import annotations

import io
import json
import math
import struct
import threading
from pathlib import PurePosixPath

import numpy as np
from psycopg.adapt import Loader  # the postgres extra: select.py names it when it is missing
from psycopg.pq import Format

from ..errors import IndexNotFound
from ..lexical import Tokenizer, query_scores, top_rows, weighted_scores
from ..models import Page
from ..pagelex import PageLexical
from .base import FilterCache, IndexManifest, RowFilter, StoredChunk, collection_filter, page_slices
from .pgschema import Database, check_schema
from .pgwrite import table

# HNSW candidates per query. bench/bench_pgstore.py at 100k synthetic chunks (docs/performance.md):
# recall@10 against exact 0.81 / 0.88 / 0.94 / 0.97 at 100 / 200 / 400 / 800, 2.6 / 3.5 / 5.6 / 10.9 ms;
# 400 takes about what FAISS's exact search takes at this size and loses 0.02 % of the top ten's similarity.
EF_SEARCH = 400


def _rows_clause(allowed_mask: np.ndarray | None, column: str) -> tuple[str, tuple]:
    """A WHERE condition keeping only the allowed rows (whichever list is shorter is sent)."""
    if allowed_mask is None:
        return "true", {}
    chosen = np.flatnonzero(allowed_mask)
    if len(chosen) * 2 <= len(allowed_mask):
        return f"{column} = ANY(%(rows)s)", {"rows": chosen.astype(np.int32).tolist()}
    return f"NOT ({column} = ANY(%(rows)s))", {"rows": np.flatnonzero(~allowed_mask).astype(np.int32).tolist()}


INT4_ARRAY_OID, FLOAT4_ARRAY_OID = 1007, 1021  # PostgreSQL's built-in type oids (pg_type), fixed


class _ArrayLoader(Loader):
    """A one-dimensional int4[]/float4[] in PostgreSQL's binary format straight into numpy: each element is
    a 4-byte length and a 4-byte big-endian value, so the whole array is one strided view."""

    format = Format.BINARY
    element = ">i4"
    dtype = np.int32

    def load(self, data):
        data = bytes(data)
        ndim = struct.unpack(">i", data[:4])[0]
        if ndim == 0:
            return np.zeros(0, dtype=self.dtype)
        count = struct.unpack(">i", data[12:16])[0]
        pairs = np.frombuffer(data, dtype=[("length", ">i4"), ("value", self.element)], count=count, offset=20)
        return pairs["value"].astype(self.dtype)


class Int4ArrayLoader(_ArrayLoader):
    pass


class Float4ArrayLoader(_ArrayLoader):
    element = ">f4"
    dtype = np.float32


class PgVectors:
    def __init__(self, db: Database, gen_id: int, size: int, exact: bool) -> None:
        self.db, self.table, self.ntotal, self.exact = db, table(gen_id, "vectors"), size, exact

    def search(self, queries: np.ndarray, k: int, allowed: RowFilter | None = None):
        vector = np.asarray(queries[0], dtype=np.float32)
        where, params = _rows_clause(None if allowed is None else allowed.mask, "row")
        # ORDER BY the distance alone lets the planner use the HNSW index; exact search also orders ties by row.
        order = "embedding <#> %(q)s, row" if self.exact else "embedding <#> %(q)s"
        sql = f"SELECT row, -(embedding <#> %(q)s) FROM {self.table} WHERE {where} ORDER BY {order} LIMIT %(k)s"

        def search(conn):
            with conn.transaction():
                if self.exact:  # a scan of every vector, even where an HNSW index exists (bench_pgstore.py)
                    conn.execute("SET LOCAL enable_indexscan = off")
                else:
                    conn.execute(f"SET LOCAL hnsw.ef_search = {max(EF_SEARCH, k)}")
                    if allowed is not None:  # a filtered HNSW scan goes on until it has k rows
                        conn.execute("SET LOCAL hnsw.iterative_scan = strict_order")
                return conn.execute(sql, {"q": vector, "k": k, **params}).fetchall()

        found = self.db.run(search)
        rows = np.full((1, k), -1, dtype=np.int64)
        scores = np.full((1, k), -np.inf, dtype=np.float32)
        for i, (row, score) in enumerate(found):
            rows[0, i], scores[0, i] = row, score
        return scores, rows


class PgLexical:
    """One BM25 index (kind 0: chunks, 1: pages, 2: documents) scored in SQL from its postings."""

    def __init__(self, db: Database, gen_id: int, kind: int, num_docs: int, tokenizer: Tokenizer,
                 vocabulary: dict[str, int] | None = None) -> None:
        self.db, self.table, self.kind, self.num_docs, self._tokenizer = db, table(gen_id, "terms"), kind, num_docs, tokenizer
        # word -> document frequency: all of it (written with the generation), or what was looked up so far
        self._df: dict[str, int] = vocabulary if vocabulary is not None else {}
        self._complete = vocabulary is not None
        self._lock = threading.Lock()

    def _lookup(self, tokens) -> None:
        missing = [] if self._complete else [t for t in dict.fromkeys(tokens) if t not in self._df]
        if not missing:
            return
        found = dict(self.db.fetch(f"SELECT term, cardinality(rows) FROM {self.table} WHERE kind = %s AND term = ANY(%s)",
                                   (self.kind, missing)))
        with self._lock:
            if len(self._df) > 200_000:
                self._df.clear()
            self._df.update((t, found.get(t, 0)) for t in missing)

    def known(self, tokens: list[str]) -> list[str]:
        self._lookup(tokens)
        return [t for t in dict.fromkeys(tokens) if t and self._df.get(t)]

    def query_tokens(self, query: str) -> list[str]:
        return self.known(self._tokenizer(query))

    def idf(self, token: str) -> float:
        self._lookup([token])
        df = self._df.get(token, 0)
        return math.log(1 + (self.num_docs - df + 0.5) / (df + 0.5)) if df else 0.0

    def rows_with(self, token: str) -> np.ndarray:
        return self._postings([token]).get(token, (np.zeros(0, dtype=np.int64), None))[0]

    def _postings(self, tokens: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """token -> (rows, BM25 contributions) as the build wrote them; one query, arrays read in binary."""
        wanted = [t for t in dict.fromkeys(tokens) if t and (not self._complete or self._df.get(t))]
        if not wanted:
            return {}

        def fetch(conn):
            cursor = conn.cursor(binary=True)
            cursor.adapters.register_loader(INT4_ARRAY_OID, Int4ArrayLoader)
            cursor.adapters.register_loader(FLOAT4_ARRAY_OID, Float4ArrayLoader)
            return cursor.execute(f"SELECT term, rows, scores FROM {self.table} WHERE kind = %s AND term = ANY(%s)",
                                  (self.kind, wanted)).fetchall()

        return {term: (rows, scores) for term, rows, scores in self.db.run(fetch)}

    def search(self, query: str, n: int, tokens=None, weights=None, allowed=None):
        """As LexicalIndex.search: the same contributions, summed by the same functions (lexical.py)."""
        if weights is not None:
            found = self._postings(list(weights))
            scores = weighted_scores(self.num_docs, weights, found.get)
        else:
            tokens = self.query_tokens(query) if tokens is None else tokens
            found = self._postings(tokens)
            postings = [found[t] for t in tokens if t in found]
            if not postings:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            scores = query_scores(self.num_docs, postings)
        return top_rows(scores, n, allowed)

    def warm(self) -> None:
        pass


def _vocabulary(arrays: dict, kind: int) -> dict[str, int] | None:
    if f"terms{kind}" not in arrays:
        return None
    words = arrays[f"terms{kind}"].tobytes().decode()
    return dict(zip(words.split("\n"), arrays[f"df{kind}"].tolist())) if words else {}


class PostgresReader:
    """A generation in PostgreSQL: the IndexStore protocol (base.py), safe for concurrent readers."""

    def __init__(self, db: Database, gen_id: int, name: str, manifest: IndexManifest, arrays: dict, exact: bool) -> None:
        self.db, self.gen_id = db, gen_id
        self.path = PurePosixPath(name)
        self.manifest = manifest
        self.documents = {d.doc_id: d for d in manifest.documents}
        self.collections = {d.collection for d in manifest.documents}
        self.tokenizer = Tokenizer()
        self.chunk_langs = arrays["chunk_langs"]
        self._row_docs = arrays["row_doc"]
        self.vectors = PgVectors(db, gen_id, len(self.chunk_langs), exact)
        self.lexical = PgLexical(db, gen_id, 0, len(self.chunk_langs), self.tokenizer, _vocabulary(arrays, 0))
        pages = [tuple(p) for p in json.loads(arrays["pages"].tobytes().decode())]
        page_count, doc_count = (int(n) for n in arrays["num_docs"])
        self.page_lexical = PageLexical(PgLexical(db, gen_id, 1, page_count, self.tokenizer, _vocabulary(arrays, 1)),
                                        pages, arrays["chunk_page"].astype(np.int64),
                                        PgLexical(db, gen_id, 2, doc_count, self.tokenizer, _vocabulary(arrays, 2)))
        self.has_boxes = True
        self._filters = FilterCache()

    @classmethod
    def open(cls, url: str) -> "PostgresReader":
        db = Database.shared(url)
        gen_id = db.run(lambda conn: (check_schema(conn, url),
                                      conn.execute("SELECT generation FROM govqa_current").fetchone()[0])[1])
        if gen_id is None:
            raise IndexNotFound("the database holds no index yet: build one with `govqa index PATH --store URL`")
        return cls.load(db, gen_id)

    @classmethod
    def load(cls, db: Database, gen_id: int) -> "PostgresReader":
        name, manifest, blob, exact = db.fetch("SELECT name, manifest, arrays, exact FROM govqa_generations WHERE id = %s",
                                               (gen_id,))[0]
        arrays = dict(np.load(io.BytesIO(blob)))
        return cls(db, gen_id, name, IndexManifest.from_json(json.loads(manifest)), arrays, exact)

    @property
    def generation(self) -> str:
        return self.path.name

    @property
    def size(self) -> int:
        return self.vectors.ntotal

    def chunks(self, rows: list[int]) -> dict[int, StoredChunk]:
        if not rows:
            return {}
        return {chunk.row: chunk for chunk in self._select_chunks("row = ANY(%s)", ([int(r) for r in rows],))}

    def page_chunks(self, doc_id: str, page: int) -> list[StoredChunk]:
        """The chunks of one page in their order on it."""
        return self._select_chunks("doc_id = %s AND page = %s ORDER BY start", (doc_id, page))

    def _select_chunks(self, where: str, params: tuple) -> list[StoredChunk]:
        """Chunks matching an SQL condition on this generation's chunks table, with their regions."""
        found = self.db.fetch(f'SELECT row, doc_id, page, start, "end", text, heading, lang, boxes FROM '
                              f'{table(self.gen_id, "chunks")} WHERE {where}', params)
        return [StoredChunk(*row[:8], boxes_json=row[8] or "") for row in found]

    def page_text(self, doc_id: str, page: int) -> str | None:
        return self.page_texts([(doc_id, page)]).get((doc_id, page))

    def page_texts(self, keys: list[tuple[str, int]],
                   spans: list[tuple[int, int]] | None = None) -> dict[tuple[str, int], str]:
        """Several pages' text in one query ((doc_id, page) -> text; pages not stored are left out); with
        `spans`, only each page's characters from start to end (one (start, end) per key)."""
        if not keys:
            return {}
        columns = tuple(list(column) for column in zip(*page_slices(keys, spans)))
        found = self.db.fetch(f"SELECT p.doc_id, p.page, substr(p.text, k.first, k.length) "
                              f"FROM unnest(%s::text[], %s::int[], %s::int[], %s::int[]) AS k(doc_id, page, first, length) "
                              f"JOIN {table(self.gen_id, 'pages')} p ON p.doc_id = k.doc_id AND p.page = k.page",
                              columns)
        return {(doc_id, page): text for doc_id, page, text in found}

    def pages_of(self, doc_id: str) -> list[Page]:
        found = self.db.fetch(f"SELECT page, text, ocr FROM {table(self.gen_id, 'pages')} WHERE doc_id = %s "
                              f"ORDER BY page", (doc_id,))
        return [Page(page=p, text=t, ocr=bool(o)) for p, t, o in found]

    def all_pages(self) -> dict[str, list[Page]]:
        """Every document's pages in one query (a build reads them all)."""
        pages: dict[str, list[Page]] = {}
        for doc_id, p, t, o in self.db.fetch(f"SELECT doc_id, page, text, ocr FROM {table(self.gen_id, 'pages')} "
                                             f"ORDER BY doc_id, page"):
            pages.setdefault(doc_id, []).append(Page(page=p, text=t, ocr=bool(o)))
        return pages

    def row_filter(self, collections: frozenset[str] | None) -> RowFilter | None:
        if collections is None or self.collections <= collections:
            return None
        return self._filters.get(collections, lambda chosen: collection_filter(self.documents, self._row_docs, chosen,
                                                                               self.size))

    def warm(self) -> None:
        self.db.fetch("SELECT 1")  # this thread's connection, opened now rather than by the first query
