"""Passages and pages -> their BM25 indexes, with each text's tokens cached across builds."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Callable

from .lexical import LexicalIndex, Tokenizer
from .models import Chunk, Page
from .pagelex import PageLexical


def lexical_text(chunk: Chunk) -> str:
    """What BM25 sees: the heading in force (unless the passage holds it), then the passage.

    A question often names its section's topic (問3 MF登録年月日の変更について) in words the
    passage under it does not repeat. For BM25 the heading's words win where they do not for
    the embedder: Japanese hybrid MRR on the guideline set 0.841 -> 0.868, the Q&A set
    unchanged; the title as well lost on the guideline set (docs/retrieval.md).
    """
    heading = chunk.heading if chunk.heading and chunk.heading not in chunk.text else ""
    return f"{heading}\n{chunk.text}" if heading else chunk.text


class TokenCache:
    """BM25 tokens keyed by (tokenizer version, sha256 of the text): unchanged chunks are not tokenised again.

    Tokenising every chunk again was most of the time to add one file to a large index
    (bench/bench_build.py). The version is a hash of lexical.py itself and of the dictionary's
    version, so any change to the tokenizer starts afresh instead of mixing old tokens with new.
    """

    def __init__(self, path: Path) -> None:
        from importlib.metadata import version

        from . import lexical

        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS tokens (version TEXT, hash TEXT, tokens TEXT, "
                         "PRIMARY KEY (version, hash))")
        source = Path(lexical.__file__).read_bytes()
        dictionaries = "|".join(_version_or_none(version, name) for name in ("fugashi", "unidic-lite"))
        self.version = hashlib.sha256(source + dictionaries.encode()).hexdigest()[:16]
        self._new: dict[str, list[str]] = {}

    def tokenizer(self, texts: list[str], tokenize: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
        """`tokenize`, answering from the cache for the texts it already holds."""
        keys = {t: hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts}
        known: dict[str, list[str]] = {}
        wanted = list(set(keys.values()))
        for i in range(0, len(wanted), 500):
            part = wanted[i:i + 500]
            rows = self._db.execute(f"SELECT hash, tokens FROM tokens WHERE version = ? AND hash IN "
                                    f"({','.join('?' * len(part))})", [self.version, *part])
            known.update((h, json.loads(t)) for h, t in rows)

        def cached(text: str) -> list[str]:
            key = keys.get(text) or hashlib.sha256(text.encode("utf-8")).hexdigest()
            tokens = known.get(key)
            if tokens is None:
                tokens = known[key] = self._new[key] = tokenize(text)
            return tokens

        return cached

    def close(self) -> None:
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO tokens VALUES (?, ?, ?)",
                                 [(self.version, h, json.dumps(t, ensure_ascii=False)) for h, t in self._new.items()])
        self._db.close()


def _version_or_none(version: Callable[[str], str], name: str) -> str:
    try:
        return version(name)
    except Exception:
        return "none"


def build_lexical(texts: list[str], cache: TokenCache) -> LexicalIndex:
    """BM25 over the passages' texts (lexical_text); closes `cache`, which keeps the new tokens."""
    try:
        return LexicalIndex.build(texts, cache.tokenizer(texts, Tokenizer()))
    finally:
        cache.close()


def build_page_lexical(pages: dict[str, list[Page]], records: dict, chunks: list[Chunk], cache: TokenCache) -> PageLexical:
    """BM25 over whole pages (pagelex.py); closes `cache`, which keeps the new tokens."""
    try:
        chosen = {d: pages[d] for d in records}
        texts = [p.text for d in chosen for p in chosen[d]]
        return PageLexical.build(chosen, chunks, cache.tokenizer(texts, Tokenizer()),
                                 {d: records[d].title for d in records})
    finally:
        cache.close()
