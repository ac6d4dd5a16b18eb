"""Who is asking, and which collections they may see or change: an Access, carried per request.

The HTTP gate (api/auth.py) turns a token into an Access and runs the request inside
`acting_as(access)`; every Engine lookup (documents, pages, files, search) reads it with
`current()`, so a route added later inherits the check without knowing about it. Other
transports (the CLI, an MCP server) call the same Engine methods with `access=` or inside
`acting_as`. Outside any request the Access is EVERYTHING: the CLI sees the whole index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from .errors import GovqaError, NotFound

ROLES = ("reader", "editor", "admin")
COLLECTION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class BadCollectionName(GovqaError):
    http_status = 422


def check_collection_name(name: str) -> str:
    """A collection name is what goes into URLs, tokens and file names: a-z, 0-9, _ and -, up to 64."""
    if not isinstance(name, str) or not COLLECTION_NAME.match(name):
        raise BadCollectionName(f"collection name {name!r}: use lower-case letters, digits, '_' and '-' "
                                f"(up to 64, starting with a letter or digit), e.g. zaisei; put 財政課 in --title")
    return name


@dataclass(frozen=True)
class Access:
    """A role and the collections it covers (None: every collection)."""

    role: str = "admin"
    collections: frozenset[str] | None = None
    who: str = "local"  # for the audit log: a token id, "api-key", "local" (the CLI, an open server)

    def sees(self, collection: str) -> bool:
        return self.collections is None or collection in self.collections

    def edits(self, collection: str) -> bool:
        return self.role in ("editor", "admin") and self.sees(collection)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and self.collections is None

    def scope(self, requested: Iterable[str] | None, known: set[str]) -> frozenset[str] | None:
        """The collections a search may read: the requested ones (all visible ones when None).

        A requested name this Access may not see answers exactly as a name that does not exist,
        so the answer never tells a reader that another department's collection is there.
        """
        if requested is None:
            return self.collections
        chosen = frozenset(requested)
        for name in sorted(chosen):
            if not self.sees(name) or name not in known:
                raise NotFound(f"no collection {name!r}")
        return chosen


EVERYTHING = Access()
NOTHING = Access(role="reader", collections=frozenset(), who="anonymous")

_current: ContextVar[Access] = ContextVar("govqa_access", default=EVERYTHING)


def current() -> Access:
    """The Access of the request being served (EVERYTHING outside one)."""
    return _current.get()


@contextmanager
def acting_as(access: Access) -> Iterator[Access]:
    token = _current.set(access)
    try:
        yield access
    finally:
        _current.reset(token)
