"""Chunking as properties over whole documents: every chunk inside its page, no text lost, overlap bounded."""

from hypothesis import example, given, settings, strategies as st

from govqa.chunk import ChunkPolicy, chunk_document
from govqa.models import Page

PAGE_TEXT = st.text(alphabet=st.sampled_from(list("あい漢字カナ abc.。！？、\n(問1)")), max_size=1200)


@settings(max_examples=80, deadline=None)
@given(st.lists(PAGE_TEXT, min_size=1, max_size=6), st.integers(min_value=30, max_value=250),
       st.integers(min_value=0, max_value=80))
# A first chunk no longer than the overlap was repeated whole: the second started where it did.
@example(["11111111111111！1111111111111111"], 30, 15)
def test_every_chunk_lies_inside_its_own_page_and_together_they_cover_every_page(texts, target, overlap):
    pages = [Page(page=n, text=text) for n, text in enumerate(texts, 1)]
    policy = ChunkPolicy(target=target, maximum=target * 2, overlap=overlap)

    chunks = chunk_document("doc", "Title", pages, policy)

    by_page = {page.page: page.text for page in pages}
    covered = {page.page: [False] * len(page.text) for page in pages}
    for chunk in chunks:
        text = by_page[chunk.page]  # a chunk names a page of this document ...
        assert 0 <= chunk.start < chunk.end <= len(text)  # ... and lies inside it
        assert text[chunk.start:chunk.end] == chunk.text
        assert chunk.end - chunk.start <= policy.maximum
        covered[chunk.page][chunk.start:chunk.end] = [True] * (chunk.end - chunk.start)
    for number, flags in covered.items():
        lost = [ch for ch, seen in zip(by_page[number], flags) if not seen]
        assert all(ch.isspace() for ch in lost), f"page {number} lost {''.join(lost)!r}"
    for before, after in zip(chunks, chunks[1:]):
        if before.page == after.page:  # overlap only within a page, and at most `overlap` characters
            assert after.start > before.start and after.end > before.end
            assert max(0, before.end - after.start) <= overlap
        else:
            assert after.page > before.page
