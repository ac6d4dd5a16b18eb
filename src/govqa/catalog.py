"""The collections of an index: their names and titles (collections.json beside the index), renames, deletions.

A document's collection is recorded in the index itself (DocRecord.collection); this file only
adds what an empty collection needs (a name, a title) and the registry `govqa collections` lists.
A rename writes a new generation whose files are hard links of the live one and whose manifest
says the new name: nothing is parsed or embedded again, and a crash leaves the old generation.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from .access import check_collection_name
from .errors import GovqaError, NotFound
from .store import (
    DEFAULT_COLLECTION,
    IndexManifest,
    build_lock,
    current_generation,
    publish_generation,
    write_atomic,
    write_manifest,
)

REGISTRY = "collections.json"


class CollectionExists(GovqaError):
    http_status = 409


class CollectionNotEmpty(GovqaError):
    http_status = 409


@dataclass
class CollectionInfo:
    name: str
    title: str
    documents: int = 0
    pages: int = 0


def registered(index_dir: Path) -> dict[str, dict]:
    """name -> {"title", "created"} as written by `govqa collections create`; {} for an older index."""
    try:
        data = json.loads((index_dir / REGISTRY).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise GovqaError(f"{index_dir / REGISTRY} is unreadable ({exc}); restore it from a backup or delete it "
                         f"(documents keep their collections; only titles are lost)") from exc
    return dict(data.get("collections", {}))


def _save(index_dir: Path, collections: dict[str, dict]) -> None:
    body = json.dumps({"collections": collections}, ensure_ascii=False, indent=1, sort_keys=True)
    write_atomic(index_dir / REGISTRY, body.encode("utf-8"))


def _manifest(index_dir: Path) -> IndexManifest | None:
    gen = current_generation(index_dir)
    if gen is None:
        return None
    return IndexManifest.from_json(json.loads((gen / "manifest.json").read_text(encoding="utf-8")))


def generation_documents(gen: Path) -> list:
    """The document records of one generation (its manifest only: nothing else is opened)."""
    return IndexManifest.from_json(json.loads((gen / "manifest.json").read_text(encoding="utf-8"))).documents


def known(index_dir: Path, documents_collections: set[str]) -> set[str]:
    """Every collection name: the registered ones, those documents are in, and `default`."""
    return {DEFAULT_COLLECTION, *registered(index_dir), *documents_collections}


def listing(index_dir: Path, visible=lambda name: True, manifest: IndexManifest | None = None) -> list[CollectionInfo]:
    """The collections (only those `visible` accepts), with how many documents and pages each holds
    (in `manifest`, default: the index folder's live generation)."""
    names = registered(index_dir)
    manifest = manifest or _manifest(index_dir)
    found: dict[str, CollectionInfo] = {}
    for name in known(index_dir, {d.collection for d in manifest.documents} if manifest else set()):
        if visible(name):
            found[name] = CollectionInfo(name, names.get(name, {}).get("title", ""))
    for doc in manifest.documents if manifest else []:
        if doc.collection in found:
            found[doc.collection].documents += 1
            found[doc.collection].pages += doc.pages
    return [found[name] for name in sorted(found)]


def create(index_dir: Path, name: str, title: str = "") -> CollectionInfo:
    check_collection_name(name)
    index_dir.mkdir(parents=True, exist_ok=True)
    with build_lock(index_dir):
        names = registered(index_dir)
        manifest = _manifest(index_dir)
        if name in names or (manifest and any(d.collection == name for d in manifest.documents)):
            raise CollectionExists(f"collection {name!r} already exists")
        names[name] = {"title": title, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        _save(index_dir, names)
    return CollectionInfo(name, title)


def set_title(index_dir: Path, name: str, title: str) -> None:
    with build_lock(index_dir):
        names = registered(index_dir)
        if name not in known(index_dir, _collections_in(_manifest(index_dir))):
            raise NotFound(f"no collection {name!r}")
        names.setdefault(name, {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})["title"] = title
        _save(index_dir, names)


def rename(index_dir: Path, old: str, new: str) -> int:
    """Move every document of `old` to `new` (a new generation, nothing re-embedded); returns how many moved.

    Tokens that named `old` name `new` afterwards (tokens.py), so nobody gains or loses access."""
    from .tokens import TokenStore

    check_collection_name(new)
    with build_lock(index_dir):
        names = registered(index_dir)
        manifest = _manifest(index_dir)
        present = _collections_in(manifest)
        if old not in known(index_dir, present) or (old == DEFAULT_COLLECTION and old not in present and old not in names):
            raise NotFound(f"no collection {old!r}")
        if new in names or new in present:
            raise CollectionExists(f"collection {new!r} already exists: choose another name")
        moved = [d for d in manifest.documents if d.collection == old] if manifest else []
        for doc in moved:
            doc.collection = new
        if moved:
            _publish_relabelled(index_dir, manifest)
        names[new] = {**names.pop(old, {"title": ""}), "renamed_from": old}
        _save(index_dir, names)
        TokenStore(index_dir).rename_collection(old, new)
    return len(moved)


def delete(index_dir: Path, name: str) -> None:
    """Forget an empty collection (a collection with documents: delete them first); tokens lose it."""
    from .tokens import TokenStore

    with build_lock(index_dir):
        names = registered(index_dir)
        present = _collections_in(_manifest(index_dir))
        if name not in names and name not in present:
            raise NotFound(f"no collection {name!r}")
        if name in present:
            count = sum(d.collection == name for d in _manifest(index_dir).documents)
            raise CollectionNotEmpty(f"collection {name!r} holds {count} document(s): delete them first "
                                     f"(`govqa collections delete {name} --with-documents` does both)")
        names.pop(name, None)
        _save(index_dir, names)
        TokenStore(index_dir).rename_collection(name, None)


def documents_of(index_dir: Path, name: str) -> list[str]:
    manifest = _manifest(index_dir)
    return [d.doc_id for d in manifest.documents if d.collection == name] if manifest else []


def _collections_in(manifest: IndexManifest | None) -> set[str]:
    return {d.collection for d in manifest.documents} if manifest else set()


def _publish_relabelled(index_dir: Path, manifest: IndexManifest) -> Path:
    """A new generation: the live one's files hard-linked (generations never change), a new manifest."""
    tmp = index_dir / f".tmp-{uuid.uuid4().hex}"
    try:
        shutil.copytree(current_generation(index_dir), tmp, copy_function=os.link)
        (tmp / "manifest.json").unlink()  # a hard link: writing through it would change the live generation
        write_manifest(tmp, manifest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return publish_generation(index_dir, tmp)
