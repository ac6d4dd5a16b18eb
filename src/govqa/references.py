"""An article's own reference list -> numbered references, each matched to an indexed document.

Plain text and Markdown: a heading (注, 脚注, 出典, 参考文献, References, Sources, Notes, …) opens
the list, or a run of reference lines ends the article; entries are `[n] …`, `n. …`, `※n …`,
`(n) …`, `[^n]: …`, or "-" bullets. HTML: `<ol>`/`<ul>` footnote sections (class or id
footnotes/endnotes/references, role doc-endnotes) and lists under such a heading. A reference is
matched to a document by URL, by file name, then by title similarity.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

MAX_REFERENCES = 2000  # entries kept from one list; a longer one is cut, and the report says so

HEADING_WORDS = (r"foot-?notes?|end-?notes?|notes|references|reference list|sources|bibliography|works cited|"
                 r"脚注|注|注記|注釈|出典|出所|参考文献|参考資料|参照文献|引用文献|文献")
REFERENCE_HEADING = re.compile(
    rf"^[ \t]*(?:#{{1,6}}[ \t]*)?[【■◆●\[]?[ \t]*(?:{HEADING_WORDS})[ \t]*[】\]]?[ \t]*[:：]?[ \t]*$",
    re.IGNORECASE | re.MULTILINE)
# An entry's marker: [1] / [^1]: / ［1］ / ※1 / 1. / 1) / (1) / ^1 at the start of a line.
_MARKER = re.compile(r"^[ \t]*(?:\[\^?(\d{1,3})\]:?|［(\d{1,3})］|※\s?(\d{1,3})|\^(\d{1,3})|\((\d{1,3})\)|（(\d{1,3})）|"
                     r"(\d{1,3})[.)．）])[ \t]*(?=\S)")
_BRACKETED = re.compile(r"^[ \t]*(?:\[\^?\d{1,3}\]:?|［\d{1,3}］|※\s?\d{1,3})[ \t]*\S")
_BULLET = re.compile(r"^[ \t]*[-–•*・][ \t]*")
_URL = re.compile(r"https?://[^\s<>\"'「」『』（）()\[\]]+", re.IGNORECASE)
_QUOTED = re.compile(r"[「『“‘\"']([^」』”’\"']{4,})[」』”’\"']")
_FILE = re.compile(r"[\w.-]+\.(?:pdf|html?|txt|md|docx?)\b", re.IGNORECASE)
_YEAR = re.compile(r"(?:19|20)\d\d|令和|平成|昭和")


@dataclass
class Reference:
    """One entry of the article's reference list."""

    n: int
    text: str
    urls: list[str] = field(default_factory=list)


@dataclass
class ReferenceMatch:
    reference: Reference
    doc_id: str | None  # None: no indexed document matches
    how: str | None = None  # "url", "file name" or "title"
    similarity: float = 0.0

    def to_dict(self) -> dict:
        return {**asdict(self.reference), "doc_id": self.doc_id, "matched_by": self.how,
                "similarity": round(self.similarity, 3)}


def split_text_references(text: str) -> tuple[str, list[Reference], int]:
    """(body, references, footnote count) of a plain-text or Markdown article.

    Markdown `[^n]:` definitions and lines that start with `[n]` or `※n` are references wherever
    they stand; a reference heading makes everything after it the list; without one, a trailing
    run of numbered lines that look like citations (a URL, a year or a quoted title) is the list.
    """
    lines = text.splitlines()
    heading = next((i for i, line in enumerate(lines) if REFERENCE_HEADING.match(line)), None)
    tail: list[str] = []
    if heading is not None:
        tail, lines = lines[heading + 1:], lines[:heading]
    else:
        end = len(lines)
        while end and (not lines[end - 1].strip() or _looks_like_reference(lines[end - 1])):
            end -= 1
        if any(lines[i].strip() for i in range(end, len(lines))):
            tail, lines = lines[end:], lines[:end]
    body, scattered = [], []
    for line in lines:
        (scattered if _BRACKETED.match(line) else body).append(line)
    references = _entries(scattered + tail)
    count = max((r.n for r in references), default=0)
    return "\n".join(body), references[:MAX_REFERENCES], count


def _looks_like_reference(line: str) -> bool:
    if _BRACKETED.match(line):
        return True
    return bool(_MARKER.match(line)) and bool(_URL.search(line) or _QUOTED.search(line) or _YEAR.search(line))


def _entries(lines: list[str]) -> list[Reference]:
    """Numbered entries, with their continuation lines; unnumbered bullets are numbered in order."""
    entries: list[Reference] = []
    numbered = any(_MARKER.match(line) for line in lines)
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        marker = _MARKER.match(unicodedata.normalize("NFKC", raw)) if numbered else None
        if marker:
            n = int(next(g for g in marker.groups() if g))
            entries.append(Reference(n, unicodedata.normalize("NFKC", raw)[marker.end():].strip()))
        elif not numbered and _BULLET.match(raw):
            rest = _BULLET.sub("", raw).strip()
            entries.append(Reference(len(entries) + 1, rest))
        elif entries:
            entries[-1].text = f"{entries[-1].text} {line}".strip()
        elif not numbered:
            entries.append(Reference(1, line))
    for entry in entries:
        entry.urls = [u.rstrip(".,;:)】>") for u in _URL.findall(entry.text)]
    return [e for e in entries if e.text]


def html_references(html: str) -> tuple[str, list[Reference]]:
    """(HTML without its reference sections, references); script and style are dropped first."""
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return html, []
    for bad in root.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    sections = root.xpath(
        "//*[self::ol or self::ul or self::section or self::div or self::aside or self::footer]"
        "[re:test(concat(@class, ' ', @id, ' ', @role), 'foot-?notes?|end-?notes?|references|bibliography|"
        "doc-endnotes|doc-bibliography|citations', 'i')]",
        namespaces={"re": "http://exslt.org/regular-expressions"})
    sections = [s for s in sections if not any(a in sections for a in s.iterancestors())]
    for heading in root.xpath("//h1|//h2|//h3|//h4|//h5|//h6|//p[strong or b]"):
        if REFERENCE_HEADING.match(" ".join(heading.text_content().split())):
            lists = [s for s in heading.itersiblings() if s.tag in ("ol", "ul", "p", "div")][:1]
            sections += [s for s in lists if s not in sections and not any(a in sections for a in s.iterancestors())]
            heading.drop_tree()
    references: list[Reference] = []
    for section in sections:
        for ordinal, item in enumerate(section.xpath(".//li") or [section], start=1):
            text = " ".join(item.text_content().split())
            text = re.sub(r"\s*[↩↑]\s*$", "", text)
            number = re.search(r"(\d{1,4})\s*$", item.get("id") or "")
            start = section.get("start") if section.tag == "ol" else None
            n = int(number.group(1)) if number else (int(start) if start and start.isdigit() else 1) + ordinal - 1
            links = [a.get("href") for a in item.xpath(".//a[@href]")]
            urls = [u for u in links if u and u.startswith(("http://", "https://"))] or _URL.findall(text)
            if text:
                references.append(Reference(n, text, urls))
        section.drop_tree()
    return lxml.html.tostring(root, encoding="unicode"), references[:MAX_REFERENCES]


def _norm(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", unicodedata.normalize("NFKC", text).lower())


def _url_key(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.netloc.lower().removeprefix('www.')}{parts.path.rstrip('/')}"


def match_references(references: list[Reference], documents: dict) -> list[ReferenceMatch]:
    """Each reference -> the indexed document it names (`documents`: doc_id -> DocRecord)."""
    by_url = {_url_key(d.url): d.doc_id for d in documents.values() if d.url}
    by_file = {}
    for d in documents.values():
        name = PurePosixPath(str(d.path).replace("\\", "/")).name
        by_file[_file_key(name)] = by_file[_file_key(f"{d.doc_id}{PurePosixPath(name).suffix}")] = d.doc_id
        for duplicate in getattr(d, "duplicates", None) or []:  # the same bytes under another name
            by_file[_file_key(PurePosixPath(str(duplicate).replace("\\", "/")).name)] = d.doc_id
    titles = [(d.doc_id, _norm(d.title)) for d in documents.values() if len(_norm(d.title)) >= 6]
    return [_match(ref, by_url, by_file, titles) for ref in references]


def _match(ref: Reference, by_url: dict, by_file: dict, titles: list) -> ReferenceMatch:
    for url in ref.urls:
        if _url_key(url) in by_url:
            return ReferenceMatch(ref, by_url[_url_key(url)], "url", 1.0)
    names = [_file_key(unquote(PurePosixPath(urlsplit(u).path).name)) for u in ref.urls] + \
        [_file_key(m) for m in _FILE.findall(ref.text)] + \
        [_file_key(f"{_reference_id(ref.n, u)}.{kind}") for u in ref.urls[:1] for kind in ("pdf", "html")]  # --fetch-missing's names
    for name in names:
        if name in by_file:
            return ReferenceMatch(ref, by_file[name], "file name", 1.0)
    text = _norm(_URL.sub("", ref.text))
    quoted = [_norm(q) for q in _QUOTED.findall(ref.text)] or [text]
    best, best_id = 0.0, None
    for doc_id, title in titles:
        score = max(_title_similarity(q, title) for q in quoted[:3] if q) if any(quoted) else 0.0
        if title in text and len(title) >= 12 and not _QUOTED.search(ref.text):
            score = max(score, 1.0)
        if score > best:
            best, best_id = score, doc_id
    if best >= TITLE_SIMILARITY:
        return ReferenceMatch(ref, best_id, "title", best)
    return ReferenceMatch(ref, None, None, best)


def _title_similarity(quoted: str, title: str) -> float:
    """Characters in common, halved when the numbers differ (「…について(その2)」 is not 「…について」)."""
    score = SequenceMatcher(None, quoted, title, autojunk=False).ratio()
    return score if re.findall(r"\d+", quoted) == re.findall(r"\d+", title) else score / 2


def _file_key(name: str) -> str:
    """File names compare without case and leading zeros (0000161338.pdf is 000161338.pdf)."""
    stem, dot, suffix = name.lower().rpartition(".")
    return f"{stem.lstrip('0') or stem}.{suffix}" if dot else name.lower()


TITLE_SIMILARITY = 0.8  # below, a title only resembles (「…(その2)」 against 「…(その3)」 is 0.97: exact parts count)


def manifest_for(article, manifest: Path | None) -> dict:
    """The manifest's footnotes, but only for the article it describes (its title opens the article)."""
    from .sources import load_manifest, sources_by_footnote

    if manifest is None or not Path(manifest).is_file():
        return {}
    sources = load_manifest(Path(manifest))
    opening = _squash(article.body[:3000])
    if any(_squash(s.title) in opening for s in sources if not s.footnotes and len(_squash(s.title)) >= 8):
        return sources_by_footnote(sources)
    return {}


def _squash(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def load_footnote_sources(manifest: Path | None) -> dict:
    """Footnote number -> Sources from the manifest; empty when there is no manifest file."""
    from .sources import load_manifest, sources_by_footnote

    if manifest is None or not Path(manifest).is_file():
        return {}
    return sources_by_footnote(load_manifest(Path(manifest)))


def fetch_missing(matches: list[ReferenceMatch], dest, lock_path, client=None, on_result=None) -> list:
    """Download the URL of every reference no indexed document matches, as `govqa fetch` does
    (same content-type and magic-byte checks, same sha256 lock); one FetchResult per URL."""
    from .sources import Source, fetch_sources

    results = []
    for match in matches:
        if match.doc_id is not None or not match.reference.urls:
            continue
        url = match.reference.urls[0]
        kind = "pdf" if urlsplit(url).path.lower().endswith(".pdf") else "html"
        for attempt in (kind, "pdf" if kind == "html" else None):
            if attempt is None:
                break
            source = Source(id=_reference_id(match.reference.n, url), title=match.reference.text[:200],
                            title_en=match.reference.text[:200], publisher="", year=0, lang="ja", kind=attempt,
                            footnotes=(match.reference.n,), url=url)
            result = fetch_sources([source], dest=dest, lock_path=lock_path, client=client, retries=1)[0]
            # A URL without .pdf may still serve a PDF: try it as one before giving up.
            if result.status == "failed" and attempt == "html" and "application/pdf" in result.message:
                continue
            break
        results.append(result)
        if on_result:
            on_result(result)
    return results


def _reference_id(n: int, url: str) -> str:
    parts = urlsplit(url)
    stem = PurePosixPath(unquote(parts.path)).stem or parts.netloc
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:40] or "page"
    return f"ref-{n}-{slug}"
