"""The optional API key (GOVQA_API_KEY) and the optional CORS origins (GOVQA_CORS_ORIGINS).

With a key set, every route except /health needs it, as `Authorization: Bearer KEY` or
`X-API-Key: KEY`. The web page and its static files stay public (they hold no data; the page
asks for the key and sends it with every call). A browser cannot add a header to a link it
opens in a new tab, so file links in answers carry a signature instead: an HMAC of the
document id and an expiry, made with the key, valid for FILE_LINK_SECONDS.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

PUBLIC_PATHS = {"/health", "/", "/favicon.ico"}
PUBLIC_PREFIXES = ("/static/", "/docs-static/")  # the page's and the API docs' scripts and styles: no data
FILE_ROUTE = re.compile(r"/documents/([^/]+)/file$")
FILE_LINK_SECONDS = 12 * 3600  # a working day: a results page left open still opens its PDFs


def add_access_control(app: FastAPI, api_key: str | None, cors_origins: str | None) -> None:
    """The key check, then (outside it, so preflights need no key) CORS when origins are configured."""
    if api_key:
        app.add_middleware(ApiKeyGate, key=api_key)
    origins = [o.strip() for o in (cors_origins or "").split(",") if o.strip()]
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type"], max_age=600)


def file_link_query(api_key: str | None, doc_id: str, now: float | None = None) -> str:
    """`?exp=…&sig=…` for a document's file route, or "" when the server has no key."""
    if not api_key:
        return ""
    expires = int((now if now is not None else time.time()) + FILE_LINK_SECONDS)
    return "?" + urlencode({"exp": expires, "sig": _signature(api_key, doc_id, expires)})


def _signature(api_key: str, doc_id: str, expires: int) -> str:
    message = f"file\n{doc_id}\n{expires}".encode()
    return hmac.new(api_key.encode(), message, hashlib.sha256).hexdigest()


class ApiKeyGate:
    """401 for any request to a non-public route without the key (or a valid signed file link)."""

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app = app
        self.key = key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        refusal = JSONResponse(
            {"detail": "this server needs its API key: send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"},
            status_code=401, headers={"WWW-Authenticate": "Bearer"})
        await refusal(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):  # behind a proxy that mounts govqa under a prefix
            path = path[len(root):] or "/"
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return True
        headers = dict(scope["headers"])
        given = headers.get(b"x-api-key")
        authorization = headers.get(b"authorization", b"")
        if given is None and authorization[:7].lower() == b"bearer ":
            given = authorization[7:].strip()
        if given is not None and hmac.compare_digest(given, self.key):
            return True
        return self._signed_file_link(scope)

    def _signed_file_link(self, scope: Scope) -> bool:
        match = FILE_ROUTE.search(scope["path"])
        if not match or scope["method"] not in ("GET", "HEAD"):
            return False
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        try:
            expires = int(query["exp"][0])
            signature = query["sig"][0]
        except (KeyError, IndexError, ValueError):
            return False
        expected = _signature(self.key.decode(), match.group(1), expires)
        return expires >= time.time() and hmac.compare_digest(signature.encode(), expected.encode())
