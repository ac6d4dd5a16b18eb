"""The dataclasses that travel between stages: Page -> Chunk -> Hit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Page:
    """The text of one physical page (1-based) of a document."""

    page: int
    text: str
    ocr: bool = False
    glyphs: str = ""  # an OCR'd page's characters with their boxes (pageboxes.PageGlyphs.pack), else ""


@dataclass
class Document:
    """A parsed file: its pages plus what we learned about it."""

    path: str
    title: str
    lang: str
    pages: list[Page]
    kind: str = "pdf"
    date: str | None = None
    # Pages with no text layer that could not be OCR'd (e.g. Tesseract missing).
    unindexed_pages: list[int] = field(default_factory=list)


@dataclass
class Chunk:
    """A sentence-aligned span of one page: what gets embedded and searched."""

    doc_id: str
    page: int
    start: int
    end: int
    text: str
    title: str
    heading: str
    lang: str


@dataclass
class Hit:
    """One ranked passage with its page-level citation (the contract's hit)."""

    rank: int
    score: float
    doc_id: str
    title: str
    page: int
    text: str
    source: str
    url: str
    lang: str
    start: int = 0
    end: int = 0
    dense_score: float | None = None
    lexical_score: float | None = None
    # The passage's line rectangles on its page, page-relative [x0, y0, x1, y1] (0..1, origin top-left).
    boxes: list[list[float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Citation:
    n: int
    doc_id: str
    page: int


@dataclass
class DroppedSentence:
    """A sentence of the backend's draft left out of the answer: no valid citation remained."""

    text: str
    reason: str


@dataclass
class RemovedCitation:
    """A [n] taken out of a sentence: it named no passage, or its passage did not support it."""

    n: int
    sentence: str
    reason: str


@dataclass
class Answer:
    """The passages plus a summary whose every [n] names one of `citations`."""

    query: str
    answer: str
    citations: list[Citation]
    hits: list[Hit]
    llm: str
    abstained: bool = False
    message: str | None = None
    # What the citation check took out of the backend's draft (dropped, never shown as unsupported).
    dropped_sentences: list[DroppedSentence] = field(default_factory=list)
    removed_citations: list[RemovedCitation] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)
