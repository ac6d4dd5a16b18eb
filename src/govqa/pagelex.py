"""Page-level BM25: one row per page over its whole text, and the map from chunk rows to pages.

A page's words are spread over several ~400-character chunks; a question that names words
from two of them matches no single chunk well but matches the page. This index scores the
page as a whole (the `page-bm25` baseline, and a signal fused into `hybrid`).

Stored in a generation folder as `page-lexical/`: the BM25 arrays, `pages.json` (the
[doc_id, page] of each row) and `chunk_page.npy` (each chunk row's page row). An index
written before it existed has no such folder; `load` then returns None and re-running
`govqa index` adds it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from .lexical import LexicalIndex, Tokenizer
from .models import Chunk, Page

FOLDER = "page-lexical"


class PageLexical:
    def __init__(self, index: LexicalIndex, pages: list[tuple[str, int]], chunk_page: np.ndarray,
                 docs: LexicalIndex | None = None) -> None:
        self.index = index
        self.pages = pages
        self.chunk_page = np.asarray(chunk_page)  # a plain view of a mapped file: no np.memmap indexing per row
        # One row per document (its title, headings and first page), rows in sorted doc_id order.
        self.docs = docs
        doc_ids = sorted({doc_id for doc_id, _ in pages})
        row_of_doc = {d: i for i, d in enumerate(doc_ids)}
        self.page_doc = np.array([row_of_doc[d] for d, _ in pages], dtype=np.int64)
        first = np.full(len(pages), len(chunk_page), dtype=np.int64)
        np.minimum.at(first, np.asarray(chunk_page), np.arange(len(chunk_page), dtype=np.int64))
        self.first_row = np.where(first == len(chunk_page), -1, first)  # a page's first chunk (-1: none)

    @classmethod
    def build(cls, pages: dict[str, list[Page]], chunks: list[Chunk], tokenize: Callable[[str], list[str]],
              titles: dict[str, str] | None = None) -> "PageLexical":
        """Rows in the order the chunks were written (documents sorted by id, pages in order)."""
        keys = [(doc_id, p.page) for doc_id in sorted(pages) for p in pages[doc_id]]
        row_of = {key: i for i, key in enumerate(keys)}
        text_of = {(doc_id, p.page): p.text for doc_id in pages for p in pages[doc_id]}
        index = LexicalIndex.build([text_of[key] for key in keys], tokenize)
        chunk_page = np.array([row_of[(c.doc_id, c.page)] for c in chunks], dtype=np.int64)
        docs = LexicalIndex.build([doc_text(d, (titles or {}).get(d, ""), pages[d], chunks) for d in sorted(pages)],
                                  tokenize)
        return cls(index, keys, chunk_page, docs)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.index.save(folder / "bm25")
        (folder / "pages.json").write_text(json.dumps(self.pages, ensure_ascii=False), encoding="utf-8")
        np.save(folder / "chunk_page.npy", self.chunk_page)
        if self.docs is not None:
            self.docs.save(folder / "docs-bm25")

    @classmethod
    def load(cls, folder: Path, tokenizer: Tokenizer) -> "PageLexical | None":
        if not (folder / "pages.json").is_file():
            return None
        pages = [tuple(p) for p in json.loads((folder / "pages.json").read_text(encoding="utf-8"))]
        docs = LexicalIndex.load(folder / "docs-bm25", tokenizer) if (folder / "docs-bm25").is_dir() else None
        return cls(LexicalIndex.load(folder / "bm25", tokenizer), pages,
                   np.load(folder / "chunk_page.npy", mmap_mode="r"), docs)

    def top(self, tokens: list[str], n: int, allowed=None,
            weights: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The n best page rows with a positive score for these query tokens (or this weighted bag of
        words), best first, and their scores; with `allowed` (a store.RowFilter over chunks), only pages
        with an allowed chunk."""
        known = self.index.known(tokens)
        if not known and not weights:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self.pages), dtype=bool)
            mask[np.asarray(self.chunk_page)[allowed.mask]] = True
        return self.index.search("", n, tokens=known, weights=weights or None, allowed=mask)


def doc_text(doc_id: str, title: str, pages: list[Page], chunks: list[Chunk]) -> str:
    """What says what a document is about: its title, its headings, its first page."""
    headings = dict.fromkeys(c.heading for c in chunks if c.doc_id == doc_id and c.heading)
    first = pages[0].text if pages else ""
    return "\n".join([title, *headings, first])


def doc_evidence(pages: PageLexical, tokens: list[str], pool: set[int], allowed=None,
                 weights: dict[str, float] | None = None) -> list[tuple[int, float]]:
    """(chunk row, its document's BM25) for the passages in `pool` (for the query tokens, or a weighted
    bag of words); with `allowed` (a store.RowFilter), documents without an allowed chunk are left out
    (they would set the scale)."""
    if pages.docs is None:
        return []
    known = pages.docs.known(tokens)
    if not known and not weights:
        return []
    mask = None
    if allowed is not None:
        mask = np.zeros(pages.docs.num_docs, dtype=bool)
        mask[pages.page_doc[np.asarray(pages.chunk_page)[allowed.mask]]] = True
    rows, scores = pages.docs.search("", pages.docs.num_docs, tokens=known, weights=weights or None, allowed=mask)
    score_of = dict(zip(rows.tolist(), scores.tolist()))
    found = [(row, score_of.get(int(pages.page_doc[pages.chunk_page[row]]), 0.0)) for row in sorted(pool)]
    return [(row, score) for row, score in found if score > 0]


def page_evidence(pages: PageLexical, tokens: list[str], n: int, pool: set[int], allowed=None,
                  weights: dict[str, float] | None = None) -> list[tuple[int, float]]:
    """(chunk row, its page's BM25) for the passages in `pool` on the n best pages; a best page
    with no passage in the pool brings its first one, so a page found only as a whole is not lost."""
    top_pages, scores = pages.top(tokens, n, allowed, weights)
    if not len(top_pages):
        return []
    score_of = dict(zip(top_pages.tolist(), scores.tolist()))
    found = [(row, score_of[page]) for row in sorted(pool) if (page := int(pages.chunk_page[row])) in score_of]
    covered = {int(pages.chunk_page[row]) for row, _ in found}
    found += [(int(pages.first_row[p]), s) for p, s in score_of.items() if p not in covered and pages.first_row[p] >= 0]
    return found
