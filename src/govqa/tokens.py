"""Access tokens: created once (`govqa tokens create`), stored only as sha256 hashes in tokens.json beside the index.

A token is 32 random bytes (URL-safe text); the file keeps its hash, role and collections,
so a copy of the file (a backup) gives nobody access. Revoking deletes the entry; a running
server reads the file again whenever it changes, so a revocation takes effect at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .access import ROLES, Access, check_collection_name
from .errors import GovqaError, NotFound
from .store import write_atomic

FILE = "tokens.json"
PREFIX = "gq_"


class TokenError(GovqaError):
    http_status = 422


@dataclass
class TokenRecord:
    id: str
    sha256: str
    role: str
    collections: list[str] | None  # None: every collection (admin)
    label: str = ""
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))

    def access(self) -> Access:
        return Access(role=self.role, collections=None if self.collections is None else frozenset(self.collections),
                      who=f"token:{self.id}")

    def shown(self) -> dict:
        """What `tokens list` prints: everything but the hash."""
        return {k: v for k, v in asdict(self).items() if k != "sha256"}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    """tokens.json of one index folder; safe to share between threads, re-read when the file changes."""

    def __init__(self, index_dir: Path) -> None:
        self.path = Path(index_dir) / FILE
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._data: dict = {"secret": "", "tokens": []}
        self._by_hash: dict[str, TokenRecord] = {}

    def _load(self) -> None:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            stamp = None
        else:
            stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        with self._lock:
            if stamp == self._stamp and (stamp is not None or not self._by_hash):
                return
            data = {"secret": "", "tokens": []}
            if stamp is not None:
                try:
                    data = json.loads(self.path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise GovqaError(f"{self.path} is unreadable ({exc}); restore it from a backup") from exc
            self._data = data
            self._by_hash = {r["sha256"]: TokenRecord(**r) for r in data.get("tokens", [])}
            self._stamp = stamp

    def any(self) -> bool:
        """True once a token exists: from then on the server needs one on every route but /health."""
        self._load()
        return bool(self._by_hash)

    def records(self) -> list[TokenRecord]:
        self._load()
        return sorted(self._by_hash.values(), key=lambda r: r.created)

    def verify(self, token: str) -> TokenRecord | None:
        """The record of this token, or None (unknown or revoked)."""
        if not token.startswith(PREFIX):
            return None
        self._load()
        return self._by_hash.get(hash_token(token))

    def by_id(self, token_id: str) -> TokenRecord | None:
        self._load()
        return next((r for r in self._by_hash.values() if hmac.compare_digest(r.id, token_id)), None)

    def link_secret(self) -> bytes:
        """The key that signs file links given to token holders (made with the first token)."""
        self._load()
        return bytes.fromhex(self._data.get("secret", ""))

    def create(self, role: str, collections: list[str] | None, label: str = "",
               known_collections: set[str] | None = None) -> tuple[str, TokenRecord]:
        """A new token (returned once, never stored) and its record."""
        if role not in ROLES:
            raise TokenError(f"--role {role!r}: use one of {', '.join(ROLES)}")
        if role == "admin" and collections:
            raise TokenError("an admin token covers every collection: leave out --collections")
        if role != "admin":
            if not collections:
                raise TokenError(f"a {role} token needs --collections NAME[,NAME...]")
            for name in collections:
                check_collection_name(name)
                if known_collections is not None and name not in known_collections:
                    raise NotFound(f"no collection {name!r}: create it with `govqa collections create {name}`")
        token = PREFIX + secrets.token_urlsafe(32)
        record = TokenRecord(id=secrets.token_hex(4), sha256=hash_token(token), role=role,
                             collections=None if role == "admin" else sorted(set(collections)), label=label)
        with self._editing() as data:
            data.setdefault("tokens", []).append(asdict(record))
        return token, record

    def revoke(self, token_id: str) -> TokenRecord:
        with self._editing() as data:
            kept = [r for r in data.get("tokens", []) if r["id"] != token_id]
            gone = [TokenRecord(**r) for r in data.get("tokens", []) if r["id"] == token_id]
            if not gone:
                raise NotFound(f"no token {token_id!r} (see `govqa tokens list`)")
            data["tokens"] = kept
        return gone[0]

    def rename_collection(self, old: str, new: str | None) -> None:
        """Tokens naming `old` name `new` instead (None: they lose it)."""
        if not self.path.exists():
            return
        with self._editing() as data:
            for record in data.get("tokens", []):
                if record["collections"] and old in record["collections"]:
                    names = [n for n in record["collections"] if n != old] + ([new] if new else [])
                    record["collections"] = sorted(set(names))

    @contextmanager
    def _editing(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(".tokens.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = json.loads(self.path.read_text(encoding="utf-8")) if self.path.exists() else {}
            except (OSError, ValueError) as exc:
                raise GovqaError(f"{self.path} is unreadable ({exc}); restore it from a backup") from exc
            data.setdefault("secret", secrets.token_hex(32))
            yield data
            write_atomic(self.path, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))
            os.chmod(self.path, 0o600)
        self._stamp = None
