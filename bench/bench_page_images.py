"""Page-image route latency: GET /documents/{id}/pages/{n}/image?width=W, cold (rendered) and cached.

    python bench/bench_page_images.py --index-dir DIR [--width 800] [--passes 5] [--workers 1]

Starts `govqa serve` (real uvicorn on 127.0.0.1) over DIR, empties DIR/cache/page-images, then:

- cold: every page of every PDF in the index once, one request at a time: each is rendered by
  PyMuPDF, written to the cache and served (the first page of a document also pays for checking
  its file's sha256);
- cached: the same pages again, --passes times, one request at a time.

Latency is measured at the client (request sent to last byte read): p50, p95, max. Also the cache's
size on disk after the cold pass (what docs/operations.md reports), and PNG vs JPEG pages.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, pct, print_table, write_results  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed_get(client, url: str) -> tuple[float, int, str]:
    started = time.perf_counter()
    response = client.get(url)
    body = response.content
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{url}: HTTP {response.status_code} {body[:200]!r}")
    return elapsed, len(body), response.headers["content-type"]


def main() -> None:
    import httpx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--width", type=int, default=800)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    cache = args.index_dir / "cache" / "page-images"
    shutil.rmtree(cache, ignore_errors=True)
    port = free_port()
    cmd = [sys.executable, "-m", "govqa.cli", "serve", "--index-dir", str(args.index_dir), "--port", str(port)]
    if args.workers > 1:
        cmd += ["--workers", str(args.workers)]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "GOVQA_LOG_LEVEL": "warning"}, start_new_session=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            for _ in range(1200):
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None:
                    raise RuntimeError(f"the server stopped: {server.stderr.read()[-2000:]}")
                time.sleep(0.1)
            pages = [(d["doc_id"], n) for d in client.get("/documents").json() if d["kind"] == "pdf"
                     for n in range(1, d["pages"] + 1)]
            urls = [f"/documents/{doc}/pages/{n}/image?width={args.width}" for doc, n in pages]
            cold = [timed_get(client, url) for url in urls]
            cached = [timed_get(client, url)[0] for _ in range(args.passes) for url in urls]
    finally:
        server.terminate()
        server.wait(timeout=60)

    files = list(cache.glob("*"))
    size_mb = sum(f.stat().st_size for f in files) / 1e6
    cold_ms = [ms for ms, _, _ in cold]
    kinds = {kind: sum(1 for _, _, k in cold if k == kind) for kind in {k for _, _, k in cold}}
    result = {
        "machine": machine(), "width": args.width, "pages": len(pages), "passes": args.passes, "workers": args.workers,
        "cold_ms": {"p50": pct(cold_ms, 50), "p95": pct(cold_ms, 95), "max": max(cold_ms)},
        "cached_ms": {"p50": pct(cached, 50), "p95": pct(cached, 95), "max": max(cached)},
        "cache_files": len(files), "cache_mb": round(size_mb, 2), "media_types": kinds,
        "mean_kb": {kind: round(sum(b for _, b, k in cold if k == kind) / n / 1000, 1) for kind, n in kinds.items()},
    }
    print_table(f"page images at width {args.width}: {len(pages)} pages", ["", "p50 ms", "p95 ms", "max ms"],
                [["cold (rendered)", *result["cold_ms"].values()], ["cached", *result["cached_ms"].values()]])
    print(f"cache: {len(files)} files, {size_mb:.2f} MB; {kinds}; mean size {result['mean_kb']} KB")
    print(f"results: {write_results('page-images', result)}")


if __name__ == "__main__":
    main()
