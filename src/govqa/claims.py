"""An article (text, Markdown or HTML) -> its claim sentences and the footnotes each one cites."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .errors import GovqaError


class ArticleError(GovqaError):
    """The article file cannot be read or holds no text."""


@dataclass
class Claim:
    """One sentence of the article's body; `text` as written, `query` without footnote markers."""

    n: int
    text: str
    query: str
    footnotes: list[int] = field(default_factory=list)
    # True when the footnotes come from the sentence introducing a quotation ("…, citing:").
    inherited: bool = False


@dataclass
class Article:
    body: str
    footnote_count: int  # entries found in the footnote section (0 when it has none)
    references: list = field(default_factory=list)  # references.Reference entries of its own list


_DIGIT = "[0-9０-９]"
_NUM = f"{_DIGIT}{{1,3}}"
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_MD_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+")
_MD_LINK = re.compile(r"!?\[([^\]^][^\]]*)\]\([^)]*\)")

# Markers that cannot be mistaken for numbers: [4], [^4], [4, 5], [4-6], ^4, ※4, ⁴.
_EXPLICIT = re.compile(
    rf"\[\^?({_NUM}(?:\s*[,，–-]\s*{_NUM})*)\]|［({_NUM})］|\^({_NUM})|※\s?({_NUM})|([⁰¹²³⁴⁵⁶⁷⁸⁹]+)")
# Digits glued to a word or a closing quote/bracket and followed by a break, as in
# "adopted by them4." or "(DX)”3," — never "98%", "2025", "3.5", "G7" or "問１）".
_GLUED_LATIN = re.compile(
    rf"(?<=[A-Za-z\u00C0-\u024F)\]”’\"'»])(?<!\b[A-Z])({_NUM})(?![0-9０-９%％])(?![.,][0-9])"
    r"(?=[\s.,;:!?)\]。、，．]|$)")
_GLUED_CJK = re.compile(rf"(?<=[\u3040-\u30ff\u4e00-\u9fff」』）])(?<![第約計問答全各])({_NUM})(?=[。、，．\s]|$)")
# A marker glued after the sentence's full stop: "… adopted by them.4 Next …".
_AFTER_STOP = re.compile(rf"(?<=[A-Za-z\u3040-\u30ff\u4e00-\u9fff][.。])({_NUM})(?=\s|$)")

_ABBREVIATIONS = {"e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "prof", "no", "nos", "p", "pp", "fig",
                  "cf", "approx", "u.s", "u.k", "inc", "ltd", "co", "st", "al", "vol", "ed", "eds", "jan", "feb",
                  "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "art", "sec"}
_SENTENCE_END = re.compile(r"[。！？!?]+[」』）)”’\"]*|\.+[」』）)”’\"]*")
_TRAILING_MARKERS = re.compile(rf"(?:{_NUM}|\[\^?{_NUM}(?:\s*[,，–-]\s*{_NUM})*\]|\^{_NUM}|※\s?{_NUM}|[⁰¹²³⁴⁵⁶⁷⁸⁹]+)*")
# Captions (図1, Table 2), table rows and table-of-contents lines (dot leaders to a page number) are not claims.
_NOT_PROSE = re.compile(r"^\s*(?:(?:図|表|写真|グラフ|Figure|Fig\.|Table|Chart|Photo)\s*[0-9０-９]+|\|)|"
                        r"(?:\.{3,}|…{2,}|・{3,}|‥{2,})\s*[0-9０-９]+\s*$", re.IGNORECASE)
_TERMINAL = ("。", ".", "！", "!", "．", ":", "：")


MAX_ARTICLE_BYTES = 1_000_000
MAX_CLAIMS = 500  # claims checked in one run (each is a search): a longer article is split by its author


def read_article(path: Path) -> Article:
    """Read an article file; HTML by its main text, Markdown without its markup."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ArticleError(f"{path}: no such file; give the article as a .txt, .md or .html file") from None
    except OSError as exc:
        raise ArticleError(f"{path}: cannot read the article ({exc.strerror or exc})") from None
    if len(raw) > MAX_ARTICLE_BYTES:
        raise ArticleError(f"{path}: the article is {len(raw):,} bytes; govqa support reads at most "
                           f"{MAX_ARTICLE_BYTES:,} (about 300 pages): split it into chapters")
    if b"\x00" in raw[:8192]:
        raise ArticleError(f"{path}: a binary file, not an article; give it as .txt, .md or .html (UTF-8)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ArticleError(f"{path}: not UTF-8 text; save the article as UTF-8 (.txt, .md or .html)") from None
    if not text.strip():
        raise ArticleError(f"{path}: the file is empty; give an article with some text")
    suffix = path.suffix.lower()
    kind = "html" if suffix in (".html", ".htm") or text.lstrip()[:15].lower().startswith(("<!doctype", "<html")) \
        else "markdown" if suffix in (".md", ".markdown") else "text"
    article = parse_article(text, kind)
    if not article.body.strip():
        raise ArticleError(f"{path}: the article has no text before its footnotes")
    return article


def parse_article(text: str, kind: str = "text") -> Article:
    """The article's body (without its reference list), its own references, and how many footnotes it has."""
    from .references import split_text_references

    html_refs: list = []
    if kind == "html":
        text, html_refs = _html_to_text(text)
    text, references, count = split_text_references(text)
    if kind == "markdown":
        text = _MD_LINK.sub(r"\1", text)
        text = "\n".join(_MD_HEADING.sub("\x00", line) for line in text.splitlines())  # \x00: a heading
    references = html_refs + references
    return Article(text, max([count, *(r.n for r in references)]), references)


_HTML_BLOCKS = {"p", "li", "td", "th", "dd", "dt", "blockquote", "pre", "div", "section", "article", "main",
                "h1", "h2", "h3", "h4", "h5", "h6", "figcaption", "caption", "address", "body"}
_HTML_SKIPPED = {"nav", "header", "footer", "aside", "form", "figcaption", "caption", "button", "select", "menu"}


def _html_to_text(html: str) -> tuple[str, list]:
    """Block by block: headings marked as such (\x00), captions, menus and reference sections left out."""
    import lxml.html
    from lxml import etree

    from .references import html_references

    html, references = html_references(html)
    # <sup>4</sup> and <sup><a href="#fn:4">4</a></sup> survive as [4].
    html = re.sub(r"<sup\b[^>]*>\s*(?:<a\b[^>]*>)?\s*\[?(\d{1,3})\]?\s*(?:</a>)?\s*</sup>", r"[\1]", html,
                  flags=re.IGNORECASE)
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return "", references
    lines = []
    for element in root.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag not in _HTML_BLOCKS or any(a.tag in _HTML_SKIPPED for a in element.iterancestors()) \
                or tag in _HTML_SKIPPED:
            continue
        if any(isinstance(d.tag, str) and d.tag in _HTML_BLOCKS for d in element.iterdescendants()):
            own = " ".join((element.text or "").split())  # text directly in a container, outside its blocks
            if own:
                lines.append(own)
            continue
        text = " ".join(element.text_content().split())
        if text:
            lines.append(("\x00" if tag in ("h1", "h2", "h3", "h4", "h5", "h6") else "") + text)
    return "\n\n".join(lines), references


def footnote_markers(sentence: str, max_footnote: int | None = None) -> tuple[str, list[int]]:
    """The sentence without its footnote markers, and the footnote numbers in order of appearance."""
    found: list[tuple[int, int, list[int]]] = []
    for match in _EXPLICIT.finditer(sentence):
        group = next(g for g in match.groups() if g)
        found.append((match.start(), match.end(), _numbers(group)))
    taken = [(s, e) for s, e, _ in found]
    for pattern in (_GLUED_LATIN, _GLUED_CJK, _AFTER_STOP):
        for match in pattern.finditer(sentence):
            if any(s <= match.start() < e for s, e in taken):
                continue
            number = int(unicodedata.normalize("NFKC", match.group(1)))
            if 0 < number and (max_footnote is None or number <= max_footnote):
                found.append((match.start(), match.end(), [number]))
                taken.append((match.start(), match.end()))
    found.sort()
    clean, last = [], 0
    for start, end, _ in found:
        clean.append(sentence[last:start])
        last = end
    clean.append(sentence[last:])
    numbers = list(dict.fromkeys(n for _, _, ns in found for n in ns))
    return " ".join("".join(clean).split()), numbers


def _numbers(group: str) -> list[int]:
    group = unicodedata.normalize("NFKC", group.translate(_SUPERSCRIPTS))
    if len(group) > 1 and group.isdigit() and not group.isascii():
        return [int(group)]
    parts = re.split(r"\s*([,–-])\s*", group)
    numbers = [int(parts[0])]
    for sep, value in zip(parts[1::2], parts[2::2]):
        high = int(value)
        numbers.extend(range(numbers[-1] + 1, high + 1) if sep != "," and high - numbers[-1] <= 20 else [high])
    return numbers


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph, Japanese or English; a footnote marker stays with its sentence."""
    sentences, start = [], 0
    for match in _SENTENCE_END.finditer(paragraph):
        end = match.end()
        end += len(_TRAILING_MARKERS.match(paragraph, end).group())
        if match.group().startswith(".") and not _ends_sentence(paragraph, match.start(), end):
            continue
        if end < len(paragraph) and not paragraph[end].isspace() and not match.group()[0] in "。！？":
            continue
        piece = paragraph[start:end].strip()
        if piece:
            sentences.append(piece)
        start = end
    rest = paragraph[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def _ends_sentence(text: str, dot: int, end: int) -> bool:
    word = re.search(r"([A-Za-z][A-Za-z.]*)$", text[:dot])
    if word and (word.group(1).lower() in _ABBREVIATIONS or len(word.group(1)) == 1 and word.group(1).isupper()):
        return False  # "e.g.", "p. 100277", "Rashid, A.B."
    if dot > 0 and text[dot - 1].isdigit() and end < len(text) and text[end:end + 1].isdigit():
        return False  # 3.5
    following = text[end:].lstrip()
    return not following or not following[0].islower()


def paragraphs(body: str) -> list[tuple[str, bool]]:
    """(paragraph, is_heading): a line is its own paragraph unless it plainly wraps onto the next."""
    result: list[tuple[str, bool]] = []
    lines = [line.strip() for line in body.splitlines()]
    buffer = ""
    for i, line in enumerate(lines + [""]):
        heading = line.startswith("\x00")
        line = line.lstrip("\x00").strip()
        if not line:
            if buffer:
                result.append((buffer, False))
                buffer = ""
            continue
        if heading:
            if buffer:
                result.append((buffer, False))
                buffer = ""
            result.append((line, True))
            continue
        joiner = "" if buffer and _is_cjk(buffer[-1]) and _is_cjk(line[0]) else " "
        buffer = f"{buffer}{joiner}{line}" if buffer else line
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if not _wraps(line, following):
            result.append((buffer, False))
            buffer = ""
    return result


def _is_cjk(char: str) -> bool:
    return "\u3000" <= char <= "\u9fff" or "\uff00" <= char <= "\uffef"


def _wraps(line: str, following: str) -> bool:
    """Hard-wrapped prose: a long line cut mid-sentence, continued on the next line."""
    if not following or following.startswith("\x00") or line.endswith(_TERMINAL + ("?", "？")):
        return False
    if _is_cjk(line[-1]):
        return len(line) >= 25 and _is_cjk(following[0])
    return len(line) >= 40 and (following[0].islower() or following[0].isdigit())


def split_claims(article: Article | str, max_footnote: int | None = None) -> list[Claim]:
    """The claim sentences of an article's body, numbered from 1. Headings and questions are not claims."""
    if isinstance(article, str):
        article = parse_article(article)
    limit = max_footnote or article.footnote_count or None
    if article.footnote_count and max_footnote:
        limit = max(article.footnote_count, max_footnote)
    claims: list[Claim] = []
    quoted: list[int] = []  # footnotes of a sentence that introduces a quotation ("…, citing:")
    for paragraph, is_heading in paragraphs(article.body):
        sentences = split_sentences(paragraph)
        marked = [footnote_markers(sentence, limit) for sentence in sentences]
        if is_heading or _NOT_PROSE.search(paragraph) or (len(sentences) == 1 and _looks_like_heading(*marked[0])):
            continue
        inherit, quoted = quoted, []
        for sentence, (query, numbers) in zip(sentences, marked):
            if not _is_claim(query) or (query.endswith(("?", "？")) and not numbers):
                continue
            inherited = not numbers and bool(inherit)
            claims.append(Claim(n=len(claims) + 1, text=sentence, query=query,
                                footnotes=list(inherit) if inherited else numbers, inherited=inherited))
            quoted = numbers if query.endswith((":", "：")) else []
    return claims


def _looks_like_heading(query: str, numbers: list[int]) -> bool:
    if numbers:
        return False
    return query.endswith(("?", "？")) or not query.rstrip("」』）)”’\"").endswith(_TERMINAL)


def _is_claim(text: str) -> bool:
    letters = sum(ch.isalpha() for ch in text)
    if any(_is_cjk(ch) for ch in text):
        return letters >= 8
    return letters >= 12 and len(text.split()) >= 3
