"""The source manifest (corpus/sources.toml) and fetching its files into corpus/raw, pinned by sha256."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator
from urllib.parse import quote, unquote, urlsplit

import httpx

from . import __version__
from .errors import FetchError, ManifestError

USER_AGENT = f"govqa/{__version__} (+offline document QA; contact: site admin)"
LANGS = ("ja", "en")
KINDS = ("pdf", "html")
_REQUIRED = {"id": str, "title": str, "title_en": str, "publisher": str, "year": int,
             "lang": str, "kind": str, "footnotes": list, "url": str}
_OPTIONAL = {"locators": dict, "authors": list}
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
_SAFE_PDF_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\.pdf", re.IGNORECASE)
_RETRYABLE = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class Source:
    """One manifest entry: a document the article cites (or the article itself)."""

    id: str
    title: str
    title_en: str
    publisher: str
    year: int
    lang: str
    kind: str
    footnotes: tuple[int, ...]
    url: str
    locators: dict[int, str] = field(default_factory=dict, compare=False, hash=False)
    authors: tuple[str, ...] = ()

    @property
    def filename(self) -> str:
        """The file's name under corpus/raw: the URL's own name for PDFs, else `<id>.<kind>`."""
        name = unquote(PurePosixPath(urlsplit(self.url).path).name)
        if self.kind == "pdf" and _SAFE_PDF_NAME.fullmatch(name):
            return name
        return f"{self.id}.{self.kind}"


def load_manifest(path: Path) -> list[Source]:
    """Read and check a sources.toml; any problem is a ManifestError naming the entry and field."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path}: manifest not found; pass --manifest PATH") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read the manifest ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: not valid TOML: {exc}") from None
    tables = data.get("source")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise ManifestError(f"{path}: no [[source]] tables; each source needs one")
    sources: list[Source] = []
    for n, table in enumerate(tables, start=1):
        where = f"{path}: [[source]] #{n}" + (f" ({table['id']})" if isinstance(table.get("id"), str) else "")
        try:
            sources.append(_source_from_table(table))
        except ValueError as exc:
            raise ManifestError(f"{where}: {exc}") from None
    for attr, what in (("id", "id"), ("filename", "local file name")):
        seen: dict[str, str] = {}
        for source in sources:
            key = getattr(source, attr)
            if key in seen:
                raise ManifestError(f"{path}: duplicate {what} {key!r} (sources {seen[key]!r} and {source.id!r}); "
                                    "each source needs its own")
            seen[key] = source.id
    return sources


def load_titles(path: Path) -> dict[str, str]:
    """The manifest's [titles] table: file name (or document id) -> the title to show for it."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}  # load_manifest reports an unreadable manifest
    titles = data.get("titles", {})
    if not isinstance(titles, dict) or not all(isinstance(v, str) and v.strip() for v in titles.values()):
        raise ManifestError(f"{path}: [titles] must map file names to titles, like \"000161338.pdf\" = \"…について\"")
    return {str(k): " ".join(v.split()) for k, v in titles.items()}


def _source_from_table(table: dict) -> Source:
    unknown = sorted(set(table) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}; allowed: {', '.join([*_REQUIRED, *_OPTIONAL])}")
    for name, kind in {**_REQUIRED, **_OPTIONAL}.items():
        if name not in table:
            if name in _REQUIRED:
                raise ValueError(f"missing field {name!r}")
        elif not isinstance(table[name], kind) or isinstance(table[name], bool):
            raise ValueError(f"field {name!r} must be {kind.__name__}, not {table[name]!r}")
    if not _SLUG.fullmatch(table["id"]):
        raise ValueError(f"id {table['id']!r} must be a lowercase slug like 'soumu-genai-cases-2024'")
    if table["lang"] not in LANGS:
        raise ValueError(f"lang {table['lang']!r} must be one of {', '.join(LANGS)}")
    if table["kind"] not in KINDS:
        raise ValueError(f"kind {table['kind']!r} must be one of {', '.join(KINDS)}")
    if not _is_url(table["url"]) or not urlsplit(table["url"]).netloc:
        raise ValueError(f"url {table['url']!r} must be an http(s) URL")
    footnotes = table["footnotes"]
    if not all(isinstance(fn, int) and not isinstance(fn, bool) and fn > 0 for fn in footnotes):
        raise ValueError(f"footnotes must be positive integers, not {footnotes!r}")
    locators: dict[int, str] = {}
    for key, value in table.get("locators", {}).items():
        if not key.isdigit() or int(key) not in footnotes or not isinstance(value, str):
            raise ValueError(f"locator {key} = {value!r} must map one of its footnotes to text like \"page 5\"")
        locators[int(key)] = value
    authors = table.get("authors", [])
    if not all(isinstance(a, str) for a in authors):
        raise ValueError(f"authors must be a list of names, not {authors!r}")
    return Source(**{**table, "footnotes": tuple(footnotes), "locators": locators, "authors": tuple(authors)})


def source_for_file(sources: list[Source], path: Path) -> Source | None:
    """The source a local file came from, by its name (`000956981.pdf`) or by `<id>.<ext>`."""
    name = Path(path).name
    by_name = next((s for s in sources if s.filename == name), None)
    return by_name or next((s for s in sources if Path(name).stem == s.id), None)


def sources_by_footnote(sources: Iterable[Source]) -> dict[int, list[Source]]:
    """Footnote number -> the sources it cites, in footnote order."""
    cited: dict[int, list[Source]] = {}
    for source in sources:
        for footnote in source.footnotes:
            cited.setdefault(footnote, []).append(source)
    return dict(sorted(cited.items()))


@dataclass
class FetchResult:
    """What happened to one source: ok | cached | changed | failed, with a one-line message."""

    source: Source
    status: str
    path: Path | None
    sha256: str | None
    message: str


@dataclass
class _Download:
    sha256: str
    size: int
    content_type: str | None
    location: str


def fetch_sources(sources: list[Source], *, dest: Path, lock_path: Path, mirror: str | None = None,
                  client: httpx.Client | None = None, on_result: Callable[[FetchResult], None] | None = None,
                  timeout: float = 30.0, retries: int = 3, backoff: float = 0.5) -> list[FetchResult]:
    """Download (or copy from `mirror`) every source into `dest`, verify it and pin its sha256 in the lock.

    A file that already matches the lock is not fetched again. `mirror` is a folder or an
    http(s) base URL holding the files by `Source.filename`. A given `client` is used as is;
    otherwise one is made with `timeout` and the govqa User-Agent. One failure never stops the rest.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if mirror and not _is_url(mirror) and not Path(mirror).expanduser().is_dir():
        raise FetchError(f"--from {mirror}: no such folder; give a folder holding the files or an http(s) URL")
    lock = _read_lock(Path(lock_path))
    own_client = client is None
    if own_client:
        client = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), follow_redirects=True,
                              headers={"User-Agent": USER_AGENT})
    results = []
    try:
        for source in sources:
            result = _fetch_one(source, dest, lock, mirror, client, retries, backoff)
            if result.status in ("ok", "changed"):
                _write_lock(Path(lock_path), lock)
            results.append(result)
            if on_result:
                on_result(result)
    finally:
        if own_client:
            client.close()
    return results


def _fetch_one(source: Source, dest: Path, lock: dict, mirror: str | None, client: httpx.Client,
               retries: int, backoff: float) -> FetchResult:
    target = dest / source.filename
    pinned = lock["sources"].get(source.id)
    if pinned and (pinned.get("url"), pinned.get("file")) != (source.url, source.filename):
        pinned = None  # the manifest moved the source; the old pin says nothing about the new URL
    note = ""
    if target.exists() and pinned:
        if _sha256_file(target) == pinned.get("sha256"):
            return FetchResult(source, "cached", target, pinned["sha256"],
                               f"{target} matches the lock (sha256 {pinned['sha256'][:12]})")
        note = "local file was corrupt or modified, fetched again; "
    part = target.with_name(target.name + ".part")
    try:
        if mirror and not _is_url(mirror):
            got = _copy_from_folder(source, Path(mirror).expanduser(), part)
        else:
            url = f"{mirror.rstrip('/')}/{quote(source.filename)}" if mirror else source.url
            got = _download(client, url, source.kind, part, retries, backoff)
        os.replace(part, target)
    except (FetchError, httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        message = str(exc) if isinstance(exc, FetchError) else f"{type(exc).__name__}: {exc}"
        if note:
            message = f"{message} (and {target} does not match the lock)"
        return FetchResult(source, "failed", None, None, " ".join(message.split()))
    finally:
        part.unlink(missing_ok=True)
    lock["sources"][source.id] = {
        "file": source.filename, "sha256": got.sha256, "bytes": got.size, "url": source.url,
        "content_type": got.content_type, "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **({"from": got.location} if got.location != source.url else {}),
    }
    via = f" via {got.location}" if got.location != source.url else ""
    if pinned and pinned.get("sha256") != got.sha256:
        return FetchResult(source, "changed", target, got.sha256,
                           f"{note}content changed since the lock (sha256 {pinned['sha256'][:12]} -> "
                           f"{got.sha256[:12]}){via}; lock updated, re-index to pick it up")
    return FetchResult(source, "ok", target, got.sha256,
                       f"{note}{got.size:,} bytes -> {target} (sha256 {got.sha256[:12]}){via}")


def _download(client: httpx.Client, url: str, kind: str, part: Path, retries: int, backoff: float) -> _Download:
    problem, wait = "", 0.0
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(max(wait, backoff * 2 ** (attempt - 1)))
        try:
            with client.stream("GET", url) as response:
                status = response.status_code
                if status == 429 or status >= 500:
                    problem = f"HTTP {status} from {url}"
                    retry_after = response.headers.get("retry-after", "")
                    wait = min(float(retry_after), 60.0) if retry_after.isdigit() else 0.0
                    continue
                if status >= 400:
                    raise FetchError(f"HTTP {status} from {url}; check the URL in the manifest or use --from")
                content_type = response.headers.get("content-type")
                _check_content_type(kind, content_type, url)
                sha256, size = _write_verified(response.iter_bytes(), part, kind, url)
                return _Download(sha256, size, content_type, url)
        except httpx.TimeoutException as exc:
            problem = f"timed out fetching {url} ({type(exc).__name__})"
        except _RETRYABLE as exc:
            problem = f"network error fetching {url} ({type(exc).__name__}: {exc})"
    raise FetchError(f"{problem} after {retries + 1} attempts; check the network or proxy, "
                     "try again later, or use --from")


def _copy_from_folder(source: Source, folder: Path, part: Path) -> _Download:
    names = dict.fromkeys([source.filename, f"{source.id}.{source.kind}"])
    found = next((folder / name for name in names if (folder / name).is_file()), None)
    if found is None:
        raise FetchError(f"not in the mirror folder {folder} (looked for {' or '.join(names)}); "
                         "copy the file there and run again")
    with found.open("rb") as f:
        sha256, size = _write_verified(iter(lambda: f.read(1 << 16), b""), part, source.kind, str(found))
    return _Download(sha256, size, "application/pdf" if source.kind == "pdf" else "text/html", str(found))


def _write_verified(chunks: Iterator[bytes], part: Path, kind: str, where: str) -> tuple[str, int]:
    """Stream to `part`, fsync, and check the first bytes are really a PDF / an HTML page."""
    digest, size, head = hashlib.sha256(), 0, b""
    with part.open("wb") as f:
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            if len(head) < 2048:
                head += chunk[:2048 - len(head)]
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())
    _check_magic(kind, head, where)
    return digest.hexdigest(), size


def _check_content_type(kind: str, content_type: str | None, url: str) -> None:
    mime = (content_type or "").split(";")[0].strip().lower()
    if not mime:
        return  # no claim to check; the first bytes decide
    if kind == "pdf" and (mime.startswith("text/") or mime in ("application/xhtml+xml", "application/json")):
        raise FetchError(f"{url} answered {mime}, not a PDF (often a login, cookie or error page); "
                         "open it in a browser to check, or use --from")
    if kind == "html" and not (mime.startswith("text/") or mime == "application/xhtml+xml"):
        raise FetchError(f"{url} answered {mime}, not an HTML page; "
                         "set kind = \"pdf\" in the manifest if that is right, or use --from")


def _check_magic(kind: str, head: bytes, where: str) -> None:
    if not head:
        raise FetchError(f"{where} is empty; check the URL in a browser, or use --from")
    is_pdf = b"%PDF-" in head[:1024]
    if kind == "pdf" and not is_pdf:
        seen = "an HTML page (often a login, cookie or error page)" if _looks_like_html(head) \
            else f"data starting {head[:12]!r}"
        raise FetchError(f"expected a PDF from {where} but got {seen}; open it in a browser to check, or use --from")
    if kind == "html" and (is_pdf or b"\x00" in head or not _looks_like_html(head)):
        raise FetchError(f"expected an HTML page from {where} but got data starting {head[:12]!r}; "
                         "check kind in the manifest, or use --from")


def _looks_like_html(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith(b"<") or b"<html" in text


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_lock(path: Path) -> dict:
    if not path.exists():
        return {"version": 1, "sources": {}}
    try:
        lock = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FetchError(f"{path}: unreadable lock file ({exc}); fix it, or delete it to fetch everything afresh") \
            from None
    if not isinstance(lock, dict) or lock.get("version") != 1 or not isinstance(lock.get("sources"), dict):
        raise FetchError(f"{path}: not a version 1 govqa lock file; delete it to fetch everything afresh")
    return lock


def _write_lock(path: Path, lock: dict) -> None:
    """Write the lock atomically: a crash leaves the old lock or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    with part.open("w", encoding="utf-8") as f:
        json.dump(lock, f, ensure_ascii=False, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, path)
