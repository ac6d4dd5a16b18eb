"""HTML -> main text, title and date: trafilatura, or a plain extractor when it cannot run."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser

_SKIPPED = {"script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside", "form",
            "button", "select", "iframe", "head"}
_BLOCKS = {"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "section",
           "article", "main", "table", "ul", "ol", "dd", "dt", "blockquote", "pre", "hr"}
_DATE_META = {"date", "dc.date", "dc.date.issued", "dcterms.date", "dcterms.issued", "article:published_time",
              "pubdate", "publishdate", "citation_publication_date"}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class Extracted:
    text: str
    title: str | None = None
    date: str | None = None


def declared_charset(data: bytes) -> str | None:
    """The charset a page declares in its <meta> tags, if any."""
    match = re.search(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-]+)", data[:4096], re.IGNORECASE)
    return match.group(1).decode("ascii") if match else None


def extract(html: str, warn_once: Callable[[str, str], None]) -> Extracted:
    """The page's main text (no scripts, menus or footers), title and publication date."""
    try:
        import trafilatura
    except Exception as exc:  # e.g. lxml >= 5.2 without the separate lxml_html_clean package
        warn_once(
            "trafilatura",
            f"trafilatura cannot be imported ({' '.join(str(exc).split())}); HTML is read with a basic extractor. "
            "Fix: pip install lxml_html_clean",
        )
        return basic_extract(html)
    try:
        found = trafilatura.bare_extraction(
            html, with_metadata=True, include_comments=False, include_tables=True, favor_recall=True
        )
    except Exception:  # trafilatura gives up on some malformed pages; the basic reader does not
        found = None
    if found is None:
        return basic_extract(html)
    get = found.get if isinstance(found, dict) else lambda name: getattr(found, name, None)  # 1.x: dict
    if not (get("text") or "").strip():
        return basic_extract(html)
    return Extracted(text=get("text"), title=get("title") or basic_extract(html).title, date=get("date"))


def basic_extract(html: str) -> Extracted:
    """Visible text outside navigation, headers, footers and scripts; <title> or <h1> as title."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    title = " ".join("".join(collector.title).split()) or " ".join("".join(collector.h1).split())
    return Extracted(text="".join(collector.parts), title=title or None, date=collector.date)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.h1: list[str] = []
        self.date: str | None = None
        self._skipping = 0
        self._open: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "meta" and not self.date:
            name = (values.get("name") or values.get("property") or values.get("itemprop") or "").lower()
            self._take_date(values.get("content", "") if name in _DATE_META else "")
        elif tag == "time" and not self.date:
            self._take_date(values.get("datetime", ""))
        if tag in _SKIPPED:
            self._skipping += 1
        if tag in {"title", "h1"}:
            self._open.add(tag)
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        self._open.discard(tag)
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if "title" in self._open:
            self.title.append(data)
        elif not self._skipping:
            self.parts.append(data.replace("\n", " "))  # only block elements break lines
            if "h1" in self._open:
                self.h1.append(data)

    def _take_date(self, value: str) -> None:
        match = _ISO_DATE.search(value)
        self.date = match.group() if match else None
