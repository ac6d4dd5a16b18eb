"""Who may call the API: the optional API key (GOVQA_API_KEY), access tokens (govqa tokens), CORS origins.

Once a key is set or any token exists, every route except /health and the page's static files
needs one, as `Authorization: Bearer TOKEN` or `X-API-Key: TOKEN` (both sent: the Bearer
value is the one checked; an empty header counts as not sent). The key is an admin token;
a token covers its collections with its role. The gate runs each request inside
`acting_as(access)` (govqa.access), so every Engine lookup the route makes answers only for
what the caller may see: a document outside it is a 404 like one that does not exist.
The web page and its static files stay public (they hold no data; the page asks for a token
and sends it with every call). A browser cannot add a header to a link it opens in a new
tab, so file (and page image) links carry a signature instead: an HMAC of the document id,
an expiry and the token's id, valid for FILE_LINK_SECONDS and only while that token is.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from govqa.access import EVERYTHING, NOTHING, Access, acting_as
from govqa.tokens import TokenStore

PUBLIC_PATHS = {"/health", "/", "/favicon.ico"}
PUBLIC_PREFIXES = ("/static/", "/docs-static/")  # the page's and the API docs' scripts and styles: no data
ADMIN_PATHS = {"/admin/reload"}  # for admin tokens and the key only; anyone else gets a plain 404
FILE_ROUTE = re.compile(r"/documents/([^/]+)/(?:file|pages/\d+/image)$")
FILE_LINK_SECONDS = 12 * 3600  # a working day: a results page left open still opens its PDFs


def add_access_control(app: FastAPI, api_key: str | None, cors_origins: str | None,
                       tokens: TokenStore | None = None) -> None:
    """The key and token check, then (outside it, so preflights need none) CORS when origins are configured."""
    app.add_middleware(ApiKeyGate, key=api_key, tokens=tokens)
    origins = [o.strip() for o in (cors_origins or "").split(",") if o.strip()]
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "PUT", "DELETE"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type"], max_age=600)


def request_access(request: Request) -> Access:
    """The caller's Access, as the gate resolved it."""
    return getattr(request.state, "access", None) or EVERYTHING


def link_query(request: Request, doc_id: str) -> str:
    """`?exp=…&sig=…` (with `&tok=ID` for a token) that opens this document's file without a header; "" when open."""
    access = request_access(request)
    tokens: TokenStore | None = getattr(request.app.state, "tokens", None)
    if access.who.startswith("token:") and tokens is not None:
        token_id = access.who.split(":", 1)[1]
        expires = int(time.time() + FILE_LINK_SECONDS)
        signature = _token_signature(tokens.link_secret(), doc_id, expires, token_id)
        return "?" + urlencode({"exp": expires, "tok": token_id, "sig": signature})
    return file_link_query(request.app.state.api_key, doc_id) if access.who == "api-key" else ""


def _token_signature(secret: bytes, doc_id: str, expires: int, token_id: str) -> str:
    return hmac.new(secret, f"file\n{doc_id}\n{expires}\n{token_id}".encode(), hashlib.sha256).hexdigest()


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
    """Resolves the caller's Access from the key, a token or a signed link; 401 on a protected route without one."""

    def __init__(self, app: ASGIApp, key: str | None = None, tokens: TokenStore | None = None) -> None:
        self.app = app
        self.key = key.encode() if key else None
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        access = self._allowed(scope)
        path = self._path(scope)
        if access is None and (path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)):
            access = NOTHING  # the page and /health answer, with nothing of the index in them
        if access is None:
            refusal = JSONResponse(
                {"detail": "this server needs an API key or access token: send it as 'Authorization: Bearer TOKEN' "
                           "or 'X-API-Key: TOKEN'"},
                status_code=401, headers={"WWW-Authenticate": "Bearer"})
            await refusal(scope, receive, send)
            return
        if path in ADMIN_PATHS and not access.is_admin:
            await JSONResponse({"detail": "Not Found"}, status_code=404)(scope, receive, send)
            return
        scope.setdefault("state", {})["access"] = access
        with acting_as(access):
            await self.app(scope, receive, send)

    def locked(self) -> bool:
        return bool(self.key) or (self.tokens is not None and self.tokens.any())

    @staticmethod
    def _path(scope: Scope) -> str:
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):  # behind a proxy that mounts govqa under a prefix
            path = path[len(root):] or "/"
        return path

    def _allowed(self, scope: Scope) -> Access | None:
        """The Access this request carries (EVERYTHING on a server with no key and no token); None: none."""
        if not self.locked():
            return EVERYTHING
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"")
        # Authorization: Bearer first, then X-API-Key; an empty header counts as absent.
        given = authorization[7:].strip() if authorization[:7].lower() == b"bearer " else b""
        given = given or headers.get(b"x-api-key", b"").strip()
        if given:
            if self.key is not None and hmac.compare_digest(given, self.key):
                return Access(role="admin", collections=None, who="api-key")
            record = self.tokens.verify(given.decode("latin-1")) if self.tokens is not None else None
            if record is not None:
                return record.access()
        return self._signed_file_link(scope)

    def _signed_file_link(self, scope: Scope) -> Access | None:
        match = FILE_ROUTE.search(scope["path"])
        if not match or scope["method"] not in ("GET", "HEAD"):
            return None
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        try:
            expires = int(query["exp"][0])
            signature = query["sig"][0]
        except (KeyError, IndexError, ValueError):
            return None
        if expires < time.time():
            return None
        doc_id = match.group(1)
        if "tok" in query and self.tokens is not None:
            record = self.tokens.by_id(query["tok"][0])
            secret = self.tokens.link_secret()
            if record is None or not secret:
                return None
            expected = _token_signature(secret, doc_id, expires, record.id)
            return record.access() if hmac.compare_digest(signature.encode(), expected.encode()) else None
        if self.key is None:
            return None
        expected = _signature(self.key.decode(), match.group(1), expires)
        if hmac.compare_digest(signature.encode(), expected.encode()):
            return Access(role="admin", collections=None, who="api-key")
        return None
