"""An answer's first passage, read with the chunks beside it on its page.

A page's words are spread over several ~400-character chunks and retrieval returns the one that matched
best, but the sentence that answers may sit in the chunk next to it: for 「MFの登録申請に手数料は必要ですか」
the best chunk of the right page holds 「MF登録申請」, and 「MF登録申請は、無料で行っています。」 is in the
next one. So the answer reads its first passage together with the chunks just before and after it on the
same page. The passage it shows and cites is that wider span, with the regions of all its chunks, so the
reader finds every quoted sentence in the passage and marked on the page. Only the first passage: widening
every passage moves the margins by which further pages are quoted (docs/retrieval.md, "The page around the
first passage").
"""

from __future__ import annotations

from dataclasses import replace

from .models import Hit
from .store.base import IndexStore


NEIGHBOURS = 1  # chunks read on each side


def with_neighbours(reader: IndexStore, hits: list[Hit], neighbours: int = NEIGHBOURS) -> list[Hit]:
    """`hits` with the first one widened to the chunks before and after it on its page."""
    if not hits or neighbours <= 0:
        return hits
    return [_widened(reader, hits[0], neighbours), *hits[1:]]


def _widened(reader: IndexStore, hit: Hit, neighbours: int) -> Hit:
    chunks = reader.page_chunks(hit.doc_id, hit.page)
    at = next((i for i, c in enumerate(chunks) if (c.start, c.end) == (hit.start, hit.end)), None)
    if at is None:
        return hit
    near = chunks[max(at - neighbours, 0): at + neighbours + 1]
    start, end = min(c.start for c in near), max(c.end for c in near)
    if (start, end) == (hit.start, hit.end):
        return hit
    text = reader.page_texts([(hit.doc_id, hit.page)], [(start, end)]).get((hit.doc_id, hit.page))
    if not text:
        return hit
    boxes: list[list[float]] = []
    for c in near:
        boxes += [box for box in c.boxes if box not in boxes]
    return replace(hit, text=text, start=start, end=end, boxes=boxes or hit.boxes)
