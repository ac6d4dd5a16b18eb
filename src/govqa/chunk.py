"""Page -> Chunk: sentence-aware spans that never cross a page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from .lang import detect_lang
from .models import Chunk, Page

# A sentence ends at Japanese full stops (with closing brackets), at English
# terminal punctuation followed by whitespace, or at a paragraph break.
_SENTENCE_END = re.compile(r"[。！？]+[」』）)]*|[.!?]+[\"')\]]*(?=\s)|\n+")
_HEADING = re.compile(
    r"^\s*(?:第[0-9一二三四五六七八九十百]+[章節条部]|[0-9]+(?:\.[0-9]+)*[.)．]?\s|[(（]?[0-9０-９]+[)）]\s*\S"
    r"|問\s*[0-9０-９]+|Q\s*[0-9]+|[IVX]+\.\s|Chapter\s+[0-9]+|[■●◆◇○□【])"
)


@dataclass(frozen=True)
class ChunkPolicy:
    """Chunk size in characters; overlap is whole trailing sentences up to `overlap` chars."""

    target: int = 400
    maximum: int = 600
    overlap: int = 80


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace trimmed, covering all non-space text."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        _append_trimmed(text, start, end, spans)
        start = end
    _append_trimmed(text, start, len(text), spans)
    return spans


def _append_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def _split_long(start: int, end: int, maximum: int) -> Iterable[tuple[int, int]]:
    """A sentence longer than `maximum` (tables, lists without stops) is cut in windows."""
    while end - start > maximum:
        yield start, start + maximum
        start += maximum
    yield start, end


def heading_of(line: str) -> str | None:
    line = line.strip()
    if 2 <= len(line) <= 60 and _HEADING.match(line) and not line.endswith(("。", ".")):
        return line
    return None


def chunk_page(doc_id: str, title: str, page: Page, policy: ChunkPolicy = ChunkPolicy(),
               heading: str = "") -> tuple[list[Chunk], str]:
    """Chunks of one page and the heading in force at its end (carried to the next page)."""
    text = page.text
    spans = [piece for s, e in sentence_spans(text) for piece in _split_long(s, e, policy.maximum)]
    headings = _headings_by_offset(text)
    chunks: list[Chunk] = []
    group: list[tuple[int, int]] = []

    def flush() -> None:
        start, end = group[0][0], group[-1][1]
        current = _heading_at(headings, start) or heading
        body = text[start:end]
        chunks.append(Chunk(doc_id=doc_id, page=page.page, start=start, end=end, text=body,
                            title=title, heading=current, lang=detect_lang(body)))

    for span in spans:
        if group and span[1] - group[0][0] > policy.target:
            flush()
            group = _overlap_tail(group, policy.overlap)
            if group and span[1] - group[0][0] > policy.maximum:
                group = []
        group.append(span)
    if group and (not chunks or group[-1][1] > chunks[-1].end):
        flush()
    last = _heading_at(headings, len(text)) or heading
    return chunks, last


def _overlap_tail(group: list[tuple[int, int]], overlap: int) -> list[tuple[int, int]]:
    """The last sentences of a flushed chunk that the next one repeats; never its first, or a chunk
    no longer than `overlap` would be repeated whole and the next chunk start where it started."""
    end = group[-1][1]
    tail: list[tuple[int, int]] = []
    for span in reversed(group[1:]):
        if end - span[0] > overlap:
            break
        tail.insert(0, span)
    return tail


def _headings_by_offset(text: str) -> list[tuple[int, str]]:
    found = []
    offset = 0
    for line in text.split("\n"):
        heading = heading_of(line)
        if heading:
            found.append((offset, heading))
        offset += len(line) + 1
    return found


def _heading_at(headings: list[tuple[int, str]], offset: int) -> str | None:
    current = None
    for start, heading in headings:
        if start > offset:
            break
        current = heading
    return current


def chunk_document(doc_id: str, title: str, pages: list[Page],
                   policy: ChunkPolicy = ChunkPolicy()) -> list[Chunk]:
    """All chunks of a document, in page order."""
    chunks: list[Chunk] = []
    heading = ""
    for page in pages:
        page_chunks, heading = chunk_page(doc_id, title, page, policy, heading)
        chunks.extend(page_chunks)
    return chunks
