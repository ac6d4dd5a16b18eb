"""Support results -> a Markdown report an author can act on: the summary, each claim's verdict,
the passages that decide it with page links, the conflicting spans side by side, and the references.

Page images hook in two ways: `images` maps (claim n, passage index) to a picture of the passage on
its page (a path relative to the report), or `figure(result, hit)` returns the Markdown to show under
a passage (or None).
"""

from __future__ import annotations

from typing import Callable

from .models import Hit
from .references import ReferenceMatch
from .support import ClaimSupport, summary_line

Figure = Callable[[ClaimSupport, Hit], "str | None"]
REPORT_PASSAGES = 3  # passages quoted per claim


def report_markdown(results: list[ClaimSupport], article_name: str, images: dict[tuple[int, int], str] | None = None,
                    references: list[ReferenceMatch] | None = None, figure: Figure | None = None) -> str:
    """The whole report; `references` are the article's own, matched; `images` or `figure` add page pictures."""
    if images:
        figure = _pictures(images, figure)
    lines = [f"# Support for the claims of `{article_name}`", "",
             f"{len(results)} claims: {summary_line(results)}.", ""]
    attention = [r for r in results if r.verdict in ("contradicted", "unsupported")]
    if attention:
        lines += ["To check first: " + ", ".join(f"[{r.claim.n}. {r.verdict}](#claim-{r.claim.n})" for r in attention),
                  ""]
    for result in results:
        lines += _claim(result, figure)
    if references:
        lines += _references(references)
    return "\n".join(lines)


def _claim(result: ClaimSupport, figure: Figure | None) -> list[str]:
    claim = result.claim
    footnotes = f" [footnotes {', '.join(map(str, claim.footnotes))}]" if claim.footnotes else ""
    cross = " (cross-language: the claim and its passage are in different languages)" if result.cross_language else ""
    lines = [f'<a id="claim-{claim.n}"></a>', "",
             f"## {claim.n}. {result.verdict} ({result.score:.2f}){footnotes}{cross}", "", f"> {claim.text}", ""]
    if result.note:
        lines += [f"*{result.note}*", ""]
    if result.conflicts:
        lines += ["| the claim says | the source says | where |", "|---|---|---|"]
        for conflict in result.conflicts:
            hit = result.passages[conflict.passage_index]
            lines.append(f"| {_cell(conflict.claim)} | {_cell(conflict.passage)} | "
                         f"[{_cell(hit.title or hit.doc_id)}, page {hit.page}]({hit.url}) |")
        lines.append("")
    if result.passages:
        lines += ["Nearest passages (none supports it):" if result.verdict == "unsupported" else "Deciding passages:", ""]
    for hit, score in list(zip(result.passages, result.passage_scores))[:REPORT_PASSAGES]:
        quote = " ".join(hit.text.split())
        quote = quote if len(quote) <= 400 else quote[:400] + "…"
        tag = " (cited source)" if hit.doc_id in result.cited_ids else ""
        lines += [f"- [{hit.title or hit.doc_id}, page {hit.page}]({hit.url}){tag}, support {score:.2f}:",
                  f"  > {quote}"]
        shown = figure(result, hit) if figure else None
        if shown:
            lines += ["", f"  {shown}"]
    if not result.passages:
        lines.append("- no passage found")
    lines.append("")
    return lines


def _pictures(images: dict[tuple[int, int], str], fallback: Figure | None) -> Figure:
    def figure(result: ClaimSupport, hit: Hit) -> str | None:
        index = next((i for i, h in enumerate(result.passages) if h is hit), -1)
        if (result.claim.n, index) in images:
            return f"![the passage on page {hit.page} of {hit.doc_id}]({images[result.claim.n, index]})"
        return fallback(result, hit) if fallback else None
    return figure


def _references(references: list[ReferenceMatch]) -> list[str]:
    missing = [m for m in references if m.doc_id is None]
    lines = ["## References", "",
             f"{len(references) - len(missing)} of {len(references)} references match an indexed document.", ""]
    for match in references:
        text = match.reference.text if len(match.reference.text) <= 200 else match.reference.text[:200] + "…"
        found = f"→ `{match.doc_id}` (by {match.how})" if match.doc_id else \
            ("→ **not indexed**; `govqa support --fetch-missing` fetches " + match.reference.urls[0]
             if match.reference.urls else "→ **not indexed**, and it gives no URL to fetch")
        lines.append(f"- [{match.reference.n}] {text} {found}")
    lines.append("")
    return lines


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
