"""Request and response bodies of the HTTP API, so /openapi.json documents every one of them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from pydantic_core import PydanticCustomError

from govqa.engine import MAX_QUERY_CHARS


class _Request(BaseModel):
    # Strict: "5" is not a k and 123 is not a query; a client bug should get a 422, not a guess.
    model_config = ConfigDict(extra="forbid", strict=True)


def _query_text(value: str) -> str:
    value = value.strip()
    if not value:
        raise PydanticCustomError("empty_query", "the query is empty: type a question or some keywords")
    return value


# The pattern documents "not only spaces" for clients and fuzzers; _query_text checks it with a friendlier message.
Query = Annotated[StrictStr, Field(max_length=MAX_QUERY_CHARS, description="A question or keywords, Japanese or English.",
                                   examples=["MF登録申請に費用はかかりますか"], json_schema_extra={"pattern": r"\S"}),
                  AfterValidator(_query_text)]


CollectionName = Annotated[StrictStr, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", examples=["default"])]
Collections = Annotated[list[CollectionName] | None, Field(
    None, max_length=100, description="Only these collections (default: every collection you may read).")]


class SearchRequest(_Request):
    query: Query
    k: StrictInt = Field(10, ge=1, le=100, description="How many passages (1..100).")
    collections: Collections = None


class AskRequest(_Request):
    query: Query
    k: StrictInt = Field(8, ge=1, le=100, description="How many passages to answer from (1..100).")
    llm: StrictStr | None = Field(None, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$",
                                  description="Summarizer backend: extractive, openai, llamacpp or none (default: the server's).")
    stream: StrictBool = Field(False, description="Answer as server-sent events (text/event-stream): `hits`, then "
                               "`delta` (each checked sentence as it is written), then `answer` (the whole answer).")
    collections: Collections = None


class _Response(BaseModel):
    # Fields the engine adds later pass through instead of being silently dropped.
    model_config = ConfigDict(extra="allow")


class HitOut(_Response):
    rank: int
    score: float
    doc_id: str
    title: str
    page: int = Field(description="1-based physical page of the PDF (1 for HTML/TXT).")
    text: str
    source: str = Field(description="The file the passage was indexed from.")
    url: str = Field(description="Opens the cited page: the original URL for fetched sources, else the file route; "
                                 "with #page=N for PDFs.")
    lang: str
    start: int = 0
    end: int = 0
    dense_score: float | None = None
    lexical_score: float | None = None
    file_url: str = Field(description="This server's copy of the file at the cited page (works without internet).")
    publisher: str | None = None
    year: int | None = None
    highlights: list[tuple[int, int]] = Field(
        default_factory=list, description="[start, end) code-point offsets in `text` of the query's terms.")
    quoted: list[tuple[int, int]] = Field(
        default_factory=list, description="/ask: [start, end) code-point offsets in `text` of the sentences the "
                                          "answer quotes from this passage (empty for search and paraphrases).")
    collection: str = Field("default", description="The collection the document belongs to.")
    boxes: list[list[float]] = Field(
        default_factory=list, description="The passage's line rectangles on its page, [x0, y0, x1, y1] page-relative "
                                          "(0..1, origin top-left); empty for sources without pages.")
    image_url: str | None = Field(None, description="The cited page as an image (add &width=200..1600); "
                                                    "null for sources without pages.")
    pages: int | None = Field(None, description="How many pages the document has.")
    kind: str | None = Field(None, description="pdf, html, txt or md.")
    ocr: bool = Field(False, description="Whether the passage holds text read by OCR (a scanned page, or the words "
                                         "inside a picture on its page), which may carry misread characters.")


class SearchResponse(_Response):
    query: str
    hits: list[HitOut]


class CitationOut(_Response):
    n: int
    doc_id: str
    page: int


class AskResponse(_Response):
    query: str
    answer: str = Field(description="The summary; every [n] in it is one of `citations`. Empty when there is none.")
    citations: list[CitationOut]
    hits: list[HitOut]
    llm: str
    abstained: bool = Field(False, description="True when the passages do not answer the question.")
    message: str | None = None


MAX_ARTICLE_CHARS = 60_000


class SupportRequest(_Request):
    text: Annotated[StrictStr, Field(min_length=1, max_length=MAX_ARTICLE_CHARS,
                                     description="The article: plain text, Markdown or HTML, footnotes included.")]
    format: Literal["text", "markdown", "html"] = Field("text", description="How to read `text`.")
    collections: Collections = None


class CitedSourceOut(_Response):
    footnote: int
    source_id: str | None = Field(description="The manifest source the footnote cites; null when it cites none.")
    indexed: bool
    locator: str | None = None


class SupportPassageOut(HitOut):
    support: float = Field(description="How well this passage supports the claim, 0..1.")
    cited: bool = Field(description="True when the passage comes from a source the claim's footnotes cite.")


class ConflictOut(_Response):
    claim: str = Field(description="The claim's span that the source contradicts (a number, date, negation or body).")
    passage: str = Field(description="The passage's words on the same thing.")
    kind: str = Field(description="What differs: date, day, pct, yen, article, code, obligation, possibility, body, …")
    doc_id: str
    page: int


class ClaimOut(_Response):
    n: int
    text: str = Field(description="The claim sentence as written, footnote markers included.")
    footnotes: list[int]
    verdict: Literal["supported", "weak", "contradicted", "unsupported"]
    score: float
    passages: list[SupportPassageOut] = Field(description="Best first: the cited source's, then the rest of the index.")
    note: str | None = Field(None, description="e.g. that a cited source is not indexed.")
    conflicts: list[ConflictOut] = Field(default_factory=list, description="For `contradicted`: the differing spans.")
    cross_language: bool = Field(False, description="The claim and its deciding passage are in different languages.")


class ReferenceOut(_Response):
    n: int
    text: str
    urls: list[str]
    doc_id: str | None = Field(description="The indexed document the reference names; null when none matches.")
    matched_by: str | None = Field(description="url, file name or title.")


class SupportResponse(_Response):
    claims: list[ClaimOut]
    summary: str = Field("", description='e.g. "12 supported, 2 weak, 1 contradicted, 3 unsupported".')
    references: list[ReferenceOut] = Field(default_factory=list, description="The article's own reference list, matched.")


class HealthOut(_Response):
    status: str
    documents: int
    chunks: int
    embedder: str
    generation: str | None = Field(None, description="The index generation served (changes on /admin/reload).")


class ReloadOut(_Response):
    status: Literal["reloaded", "unchanged", "restarting"] = Field(
        description="restarting: `govqa serve --workers N` restarts its workers one by one on the new index.")
    generation: str = Field(description="The generation now served, e.g. gen-000007.")
    previous: str | None = Field(description="The generation served before.")
    documents: int
    chunks: int


class DocumentOut(_Response):
    doc_id: str
    title: str
    pages: int
    source: str
    url: str | None = Field(description="The original URL for fetched sources, else the file route.")
    lang: str
    file_url: str
    kind: str
    publisher: str | None = None
    year: int | None = None
    date: str | None = None
    collection: str = "default"


class PageOut(_Response):
    doc_id: str
    page: int
    text: str
    title: str
    pages: int


class CollectionOut(_Response):
    name: str
    title: str = Field(description="What staff see, e.g. 財政課 (may be empty).")
    documents: int
    pages: int
    editable: bool = Field(description="Whether you may add and delete documents here.")


class CollectionsOut(_Response):
    role: str = Field(description="reader, editor or admin.")
    upload_max_bytes: int
    accepted: list[str] = Field(default_factory=list, description="File name endings an upload may have, e.g. .pdf.")
    collections: list[CollectionOut]


class JobOut(_Response):
    id: str
    kind: Literal["upload", "replace", "delete"]
    collection: str
    status: Literal["queued", "running", "done", "failed"]
    stage: str = Field(description="queued, starting, parsing (OCR included), embedding, reloading, done or failed.")
    done: int
    total: int
    filename: str | None = None
    doc_id: str | None = Field(None, description="The document, once indexed (or the one deleted or replaced).")
    message: str = Field("", description="Why the job failed.")


class ErrorOut(BaseModel):
    detail: str = Field(description="What was wrong and what to do next, in one line.")
    errors: list[dict] | None = Field(None, description="For 422: each invalid field with its reason.")
