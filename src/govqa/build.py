"""Files -> parsed documents -> chunks -> vectors -> a new index generation."""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from .buildembed import embed_all
from .buildfiles import PARSER_CHANGE, PARSER_VERSION, ParseAhead, ParseCache, collect_files
from .buildlexical import TokenCache, build_lexical, build_page_lexical, lexical_text
from .buildpages import ocr_figures, ocr_garbled_pages, passage_boxes
from .chunk import ChunkPolicy, chunk_document
from .config import Settings
from .embed import DEFAULT_EMBEDDER, Embedder, EmbeddingCache, base_name, load_embedder
from .errors import EmbedderMismatch, GovqaError, ManifestError, ParseError
from .filehash import hash_files
from .models import Page
from .pagetables import add_table_rows
from .sourcepath import relative_source
from .store import DEFAULT_COLLECTION, DocRecord, IndexManifest, IndexStore, open_target

ProgressFn = Callable[[str, int, int], None]
EventFn = Callable[[str], None]


@dataclass
class BuildReport:
    documents: int = 0
    pages: int = 0
    ocr_pages: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    skipped: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unindexed_pages: int = 0
    seconds: float = 0.0
    generation: str = ""

    def summary(self) -> str:
        parts = [f"indexed {self.documents} documents, {self.pages} pages ({self.ocr_pages} by OCR), "
                 f"{self.chunks} chunks; embedded {self.embedded}, reused {self.reused} from cache"]
        if self.duplicates:
            parts.append(f"{len(self.duplicates)} duplicate file(s) indexed once")
        if self.skipped:
            parts.append(f"{len(self.skipped)} file(s) skipped")
        if self.unindexed_pages:
            parts.append(f"{self.unindexed_pages} scanned page(s) NOT indexed (no OCR)")
        return "; ".join(parts) + f" in {self.seconds:.1f}s"


def slug(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[^\w.-]+", "-", text).strip("-._") or "doc"


def _load_sources(settings: Settings, warn: EventFn):
    from .sources import load_manifest

    if not settings.manifest.is_file():
        return []
    try:
        return load_manifest(settings.manifest)
    except ManifestError as exc:
        warn(f"manifest ignored: {exc}")
        return []


def _load_titles(settings: Settings, warn: EventFn) -> dict[str, str]:
    from .sources import load_titles

    if not settings.manifest.is_file():
        return {}
    try:
        return load_titles(settings.manifest)
    except ManifestError as exc:
        warn(f"titles ignored: {exc}")
        return {}


def _choose_embedder(settings: Settings, previous: IndexStore | None) -> Embedder:
    if previous is not None and settings.embedder and base_name(previous.manifest.embedder) != settings.embedder:
        raise EmbedderMismatch(
            f"the index in {settings.store and 'the --store database' or settings.index_dir} was built with "
            f"{previous.manifest.embedder!r}, not {settings.embedder!r}: use another --index-dir (or --store) "
            f"for a different embedder")
    name = settings.embedder or (base_name(previous.manifest.embedder) if previous else DEFAULT_EMBEDDER)
    return load_embedder(name)


def build_index(paths: list[Path], settings: Settings, on_progress: ProgressFn | None = None,
                on_event: EventFn | None = None, policy: ChunkPolicy = ChunkPolicy(), collection: str | None = None,
                remove: list[str] = (), require_all: bool = False, embedder: Embedder | None = None) -> BuildReport:
    """Add (or refresh) the given files in the index at settings.index_dir; atomic and cached.

    New files go to `collection` (default: `default`; files indexed before keep theirs unless it
    is given). `remove` drops those documents in the same generation. With `require_all`, a file
    that cannot be read fails the whole build (ParseError) before anything is written.
    """
    started = time.perf_counter()
    progress = on_progress or (lambda stage, done, total: None)
    event = on_event or (lambda message: None)
    report = BuildReport()
    index_dir = settings.index_dir  # the index folder, or with --store the folder of this machine's build caches
    destination = open_target(settings)
    with destination.locked():
        previous = destination.previous()
        embedder = embedder or _choose_embedder(settings, previous)
        sources = _load_sources(settings, event)
        by_name = {s.filename: s for s in sources}
        titles = _load_titles(settings, event)
        records: dict[str, DocRecord] = dict(previous.documents) if previous else {}
        for doc_id in remove:
            records.pop(doc_id, None)
        pages: dict[str, list[Page]] = _previous_pages(previous, records)
        path_to_id = {r.path: r.doc_id for r in records.values()}
        # The same file named another way (absolute now, relative last time) is still that document.
        file_to_id = {r.file: r.doc_id for r in records.values() if r.file}
        # The same bytes may sit in two collections (a notice sent to two departments): one copy per collection.
        sha_to_id = {(r.collection, r.sha256): r.doc_id for r in records.values()}

        files = collect_files(paths, event)
        fresh: set[str] = set()  # documents read by this build (their pages as the parser gave them)
        reread = 0  # files an older parser read before
        cache = ParseCache(index_dir / "cache" / "pages.sqlite")
        ocr_key = f"{PARSER_VERSION}|{settings.ocr_lang}|{settings.ocr_dpi}"
        hashes = hash_files(files)
        ahead = ParseAhead(files, hashes, cache, ocr_key, settings, event, embedder, index_dir, policy)
        for number, path in enumerate(files, 1):
            progress("parsing", number - 1, len(files))
            sha = hashes[path]
            if isinstance(sha, OSError):
                if require_all:
                    raise ParseError(str(path), f"unreadable ({sha.strerror or sha})")
                report.skipped.append(f"{path}: {sha.strerror or sha}")
                event(f"skip {path}: unreadable ({sha.strerror or sha})")
                continue
            shown = path.as_posix()
            if shown not in path_to_id and str(path.resolve()) in file_to_id:
                path_to_id[shown] = file_to_id[str(path.resolve())]
            target = collection or (records[path_to_id[shown]].collection if shown in path_to_id else DEFAULT_COLLECTION)
            owner = sha_to_id.get((target, sha))
            if owner is not None and owner != path_to_id.get(shown):
                if shown not in records[owner].duplicates:
                    records[owner].duplicates.append(shown)
                report.duplicates.append(shown)
                event(f"duplicate {shown}: same bytes as {records[owner].path}, indexed once as {owner}")
                continue
            doc = cache.get(f"{sha}|{ocr_key}")
            if doc is None:
                try:
                    doc = ahead.result(path)
                except ParseError as exc:
                    if require_all:
                        raise
                    report.skipped.append(str(exc))
                    event(f"skip {exc}")
                    continue
                reread += cache.read_by_older_parser(f"{sha}|{ocr_key}")
                cache.put(f"{sha}|{ocr_key}", doc)
            source = by_name.get(path.name)
            doc_id = path_to_id.get(shown) or (source.id if source else _free_id(slug(path.stem), sha, records))
            if doc.unindexed_pages:
                event(f"{shown}: pages {', '.join(map(str, doc.unindexed_pages))} are scanned and were NOT indexed (no OCR)")
            records[doc_id] = DocRecord(
                doc_id=doc_id, title=(source.title if source else titles.get(path.name) or titles.get(doc_id) or doc.title), path=shown, file=str(path.resolve()), sha256=sha,
                source_path=relative_source(path, paths),
                pages=len(doc.pages), lang=doc.lang, kind=doc.kind, url=source.url if source else None,
                publisher=source.publisher if source else None, year=source.year if source else None,
                date=doc.date, ocr_pages=[p.page for p in doc.pages if p.ocr], unindexed_pages=doc.unindexed_pages,
                collection=target)
            pages[doc_id] = doc.pages
            fresh.add(doc_id)
            path_to_id[shown] = doc_id
            sha_to_id[(target, sha)] = doc_id
        progress("parsing", len(files), len(files))
        if reread:
            event(f"index upgraded: {reread} file(s) read again by parser version {PARSER_VERSION} ({PARSER_CHANGE})")
        if previous is not None and any(not r.source_path and records[d].source_path
                                        for d, r in previous.documents.items() if d in records):
            event("index upgraded: documents now record their path relative to the folder they were indexed from")
        ahead.close()
        cache.close()
        ocr_garbled_pages(records, pages, settings, index_dir, event)
        add_table_rows(records, pages, fresh, index_dir / "cache" / "tables.sqlite", event, previous)
        figure_glyphs = ocr_figures(records, pages, settings, index_dir, event, progress, previous)
        if not records and previous is not None and previous.documents:
            raise GovqaError("that would remove every document and leave an empty index: delete the index folder "
                             "instead, or add a document first")
        if not records:  # nothing readable and no index yet: no empty generation to write
            report.seconds = time.perf_counter() - started
            return report

        chunks = [c for doc_id in sorted(records) for c in chunk_document(doc_id, records[doc_id].title, pages[doc_id], policy)]
        vectors, report.embedded, report.reused = embed_all(
            chunks, embedder, EmbeddingCache(index_dir / "cache" / "embeddings.sqlite"), progress, ahead.embedded)
        lexical = build_lexical([lexical_text(c) for c in chunks], TokenCache(index_dir / "cache" / "tokens.sqlite"))
        page_lexical = build_page_lexical(pages, records, chunks, TokenCache(index_dir / "cache" / "tokens.sqlite"))
        if previous is not None and previous.page_lexical is None:
            event("index upgraded: page-level BM25 added " +
                  ("(nothing re-embedded)" if not report.embedded else f"({report.embedded} passages embedded)"))
        boxes = passage_boxes(chunks, records, pages, settings, index_dir, event, progress, figure_glyphs)
        if previous is not None and not previous.has_boxes:
            event("index upgraded: passage positions on their pages recorded (nothing was re-embedded)")
        manifest = IndexManifest(embedder=embedder.id, dim=embedder.dim, documents=[records[d] for d in sorted(records)],
                                 chunks=len(chunks), chunk_policy=asdict(policy))
        gen = destination.write(manifest, {d: pages[d] for d in sorted(records)}, chunks, vectors, lexical, page_lexical,
                           boxes)

    report.documents = len(records)
    report.pages = sum(r.pages for r in records.values())
    report.ocr_pages = sum(len(r.ocr_pages) for r in records.values())
    report.unindexed_pages = sum(len(r.unindexed_pages) for r in records.values())
    report.chunks = len(chunks)
    report.generation = gen
    report.seconds = time.perf_counter() - started
    return report


def _previous_pages(previous: IndexStore | None, records: dict[str, DocRecord]) -> dict[str, list[Page]]:
    if previous is None:
        return {}
    if hasattr(previous, "all_pages"):  # one query instead of one per document
        every = previous.all_pages()
        return {d: every.get(d, []) for d in records}
    return {d: previous.pages_of(d) for d in records}


def _free_id(base: str, sha: str, records: dict[str, DocRecord]) -> str:
    return base if base not in records else f"{base}-{sha[:8]}"
