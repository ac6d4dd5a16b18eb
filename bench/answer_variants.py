"""The extractive answer variants bench/bench_answers.py compares: name -> factory(settings)."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from extractive_v1 import ExtractiveSummarizer as ExtractiveV1

from govqa.extractive import ExtractivePolicy, ExtractiveSummarizer


def _policy(**changes):
    return partial(ExtractiveSummarizer, policy=replace(ExtractivePolicy(), **changes))


VARIANTS = {
    "v1": ExtractiveV1,  # before issue 22: every candidate sentence embedded, fragments from several pages
    "default": ExtractiveSummarizer,
    **{f"rw{w}": _policy(retrieval_weight=w) for w in (0.35, 0.7, 1.0, 1.5, 2.5, 5.0)},
    **{f"rw2.5-pw{w}": _policy(retrieval_weight=2.5, page_weight=w) for w in (0.25, 0.5, 1.0)},
    **{f"rw1.5-pw{w}": _policy(retrieval_weight=1.5, page_weight=w) for w in (0.25, 0.5, 1.0)},
    **{f"rw2.5-fw{w}": _policy(retrieval_weight=2.5, focus_weight=w) for w in (0.0, 0.1, 0.4)},
    **{f"rw2.5-2nd{m}": _policy(retrieval_weight=2.5, second_within=m) for m in (0.1, 0.2, 0.3, 0.5)},
}
VARIANTS.update({f"rw2.5-dw{w}": _policy(retrieval_weight=2.5, dense_weight=w) for w in (0.05, 0.1, 0.2, 0.4)})
VARIANTS.update({f"rw1.0-dw{w}": _policy(retrieval_weight=1.0, dense_weight=w) for w in (0.05, 0.1, 0.2)})
VARIANTS.update({f"rw2.5-dw0.05-2nd{m}": _policy(retrieval_weight=2.5, dense_weight=0.05, second_within=m)
                 for m in (0.2, 0.3, 0.4, 1.0)})
VARIANTS.update({f"rw2.5-2nd{m}-fw0": _policy(retrieval_weight=2.5, second_within=m, focus_weight=0.0) for m in (0.3,)})
VARIANTS.update({f"2nd-sentence{m}": _policy(second_sentence_within=m) for m in (0.0, 0.1, 0.2, 0.3)})
VARIANTS.update({f"rw{w}-2nd{m}": _policy(retrieval_weight=w, second_within=m) for w in (1.0, 1.5, 2.0) for m in (0.3, 0.2)})
VARIANTS["rw2.5-2nd0.3"] = _policy(retrieval_weight=2.5, second_within=0.3)  # the default until allganize-dev was measured
VARIANTS["no-items"] = _policy(items=False)  # before list items and table rows were quoted
VARIANTS.update({f"item-penalty{w}": _policy(item_penalty=w) for w in (0.0, 0.1, 0.2, 0.3)})
VARIANTS.update({f"row-letters{w}": _policy(min_row_letters=w) for w in (0.3, 0.5)})
VARIANTS.update({f"2nd{m}": _policy(second_within=m) for m in (0.2, 0.5, 1.0)})
# Stop 15: the passage's own cosine left out, for English questions whose dense side is now moved toward
# their translated words (the cosine shown stays the question's own).
VARIANTS.update({f"dw{w}": _policy(dense_weight=w) for w in (0.0, 0.02)})
VARIANTS["rw2.5-dw0.0"] = _policy(retrieval_weight=2.5, dense_weight=0.0)  # rw1.5 is the default: dw0.0
# Stop 20: a second page that is the first's next or previous page, quoted at a wider margin.
VARIANTS.update({f"neighbour{m}": _policy(neighbour_within=m) for m in (0.5, 0.75, 1.0, 2.0)})
VARIANTS["no-lines"] = _policy(lines_when_no_sentence=False)  # before a passage with no quotable sentence offered its lines
# Stop 21: an English question over Japanese pages quotes other pages within a wider margin (default 0.5, up to
# three pages in all); "no-cross" is before.
VARIANTS["no-cross"] = _policy(cross_language_within=None)
VARIANTS.update({f"cross{m}": _policy(cross_language_within=m, cross_language_pages=2) for m in (0.5, 0.75, 1.0, 2.0)})
VARIANTS.update({f"cross{m}-3pages": _policy(cross_language_within=m, cross_language_pages=3) for m in (0.3, 0.5, 1.0)})
VARIANTS.update({f"cross{m}-4pages": _policy(cross_language_within=m, cross_language_pages=4) for m in (0.5,)})
VARIANTS["no-figures"] = _policy(figure_pages=False)  # before a sentence's figure on another page was quoted
VARIANTS["extra-any"] = _policy(extra_needs_terms=False)  # before: a passage's other sentences need no key term
VARIANTS["any-first"] = _policy(needs_terms=False)  # before: a passage sharing no key term with the question is quoted
VARIANTS.update({f"passages{n}": _policy(passages=n) for n in (3, 6, 8)})
VARIANTS["axis-rows"] = _policy(axis_rows=True)  # before: rows of a chart's axis ticks quoted
