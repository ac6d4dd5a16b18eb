"""Load: many concurrent staff clients against `govqa serve` on 127.0.0.1, bounded in time and count.

    python bench/load.py --index-dir /srv/govqa/index [--clients 200] [--duration 60] [--think 1.0]
    python bench/load.py --url http://127.0.0.1:8000 ...     # a server already running (on this machine)

Each client is a person at the staff page: it sends a request, waits for the answer, reads
for a random 0..2×--think seconds, and sends the next. Requests (--mix): by default 70 % POST
/search, 20 % POST /ask (extractive), 5 % GET /documents, 5 % GET /health; the questions are
those of eval/mhlw.jsonl (Japanese and English). --think 0 makes every client send back to back.
The run stops after --duration seconds or --max-requests requests, whichever comes first,
and only ever talks to 127.0.0.1 (or the --url given, which must be a loopback address).

Prints, and writes to bench/results/load-<time>.json: requests, errors (any non-2xx or a
failed connection), requests per second, and latency p50/p95/p99/max in ms, overall and per
route. Exit code 1 when there were errors.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MIX = "search=70,ask=20,documents=5,health=5"


def questions() -> list[str]:
    lines = (ROOT / "eval" / "mhlw.jsonl").read_text(encoding="utf-8").splitlines()
    found = [json.loads(line)["question"] for line in lines if line.strip()]
    return found + ["Is it mandatory to register a drug substance in the master file?", "MF登録申請に費用はかかりますか"]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    at = (len(ordered) - 1) * q / 100
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def stats(values: list[float]) -> dict:
    return {"n": len(values), "p50_ms": round(percentile(values, 50), 1), "p95_ms": round(percentile(values, 95), 1),
            "p99_ms": round(percentile(values, 99), 1), "max_ms": round(max(values), 1) if values else None}


def start_server(index_dir: Path, log: Path, workers: int) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "govqa.cli", "serve", "--port", "0", "--workers", str(workers),
               "--index-dir", str(index_dir)]
    sink = open(log, "w")
    server = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=sink, text=True)
    banner = server.stderr.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+", banner)
    if not found:
        server.kill()
        raise SystemExit(f"govqa serve did not start: {banner}{server.stderr.read()}")
    # Keep draining the server's log so a full pipe never stalls it.
    import threading
    threading.Thread(target=lambda: [sink.write(line) for line in server.stderr], daemon=True).start()
    return server, found.group(0)


def parse_mix(text: str) -> list[str]:
    """"search=70,ask=20" -> a list to draw routes from, each as often as its weight."""
    routes = []
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name.strip() not in ("search", "ask", "documents", "health"):
            raise SystemExit(f"--mix: unknown route {name!r} (search, ask, documents, health)")
        routes += [name.strip()] * int(weight or 1)
    return routes


async def client(http: httpx.AsyncClient, rng: random.Random, asks: list[str], think: float, deadline: float,
                 budget: list[int], latencies: dict, errors: list, routes: list[str]) -> None:
    await asyncio.sleep(rng.uniform(0, think * 2 if think else 0.05))  # people do not all press Enter at once
    while time.monotonic() < deadline and budget[0] > 0:
        budget[0] -= 1
        route = rng.choice(routes)
        started = time.perf_counter()
        try:
            if route == "search":
                response = await http.post("/search", json={"query": rng.choice(asks), "k": 10})
            elif route == "ask":
                response = await http.post("/ask", json={"query": rng.choice(asks), "k": 8, "llm": "extractive"})
            else:
                response = await http.get(f"/{route}")
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code >= 300:
                errors.append(f"{route}: HTTP {response.status_code} {response.text[:200]}")
            else:
                latencies.setdefault(route, []).append(elapsed)
        except httpx.HTTPError as exc:
            errors.append(f"{route}: {type(exc).__name__} {exc}")
        if think:
            await asyncio.sleep(min(rng.uniform(0, 2 * think), max(0.0, deadline - time.monotonic())))


async def run(url: str, clients: int, duration: float, think: float, max_requests: int, seed: int,
              mix: str) -> dict:
    asks = questions()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: dict[str, list[float]] = {}
    errors: list[str] = []
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        for _ in range(3):  # warm-up: the first query loads the tokenizer and model pages
            await http.post("/search", json={"query": asks[0], "k": 10})
        budget = [max_requests]
        started = time.monotonic()
        await asyncio.gather(*(client(http, random.Random(seed + n), asks, think, started + duration, budget,
                                      latencies, errors, parse_mix(mix)) for n in range(clients)))
        wall = time.monotonic() - started
    everything = [v for values in latencies.values() for v in values]
    return {"clients": clients, "mix": mix, "duration_s": round(wall, 1), "think_s": think, "requests": len(everything) + len(errors),
            "errors": len(errors), "error_samples": errors[:10], "rps": round((len(everything) + len(errors)) / wall, 1),
            "overall": stats(everything), "routes": {route: stats(values) for route, values in sorted(latencies.items())}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index-dir", type=Path, default=Path(os.environ.get("GOVQA_INDEX_DIR", "index")))
    parser.add_argument("--url", default=None, help="a running server on this machine (default: start one)")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds a client waits between requests")
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--mix", default=MIX, help=f"routes and weights (default {MIX})")
    parser.add_argument("--workers", type=int, default=1, help="govqa serve --workers (when it starts the server)")
    options = parser.parse_args()

    server = None
    if options.url:
        host = urlsplit(options.url).hostname or ""
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise SystemExit("--url must be a loopback address (127.0.0.1, ::1 or localhost)")
        url = options.url
    else:
        server, url = start_server(options.index_dir, Path(tempfile.mkstemp(prefix="govqa-load-", suffix=".log")[1]),
                                   options.workers)
    try:
        result = asyncio.run(run(url, options.clients, options.duration, options.think, options.max_requests,
                                 options.seed, options.mix))
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    result["index_dir"] = str(options.index_dir) if server else None
    result["workers"] = options.workers if server else None
    result["cpus"] = os.cpu_count()
    print(json.dumps(result, ensure_ascii=False, indent=1))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"load-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
