"""Which requests the server answers at all: the Host they name, the Origin of what changes state.

- Host: only the names this server is reached by (`--host`, GOVQA_ALLOWED_HOSTS, localhost),
  so a page on another site that rebinds its DNS name to 127.0.0.1 cannot read answers (400).
- Origin: a browser sends one with every cross-origin POST, even a "simple" one (text/plain,
  no preflight); any that is not this server's or a GOVQA_CORS_ORIGINS one is refused (403).
  Scripts and curl send none and pass.
- HEAD is answered as GET without the body (FastAPI's routes list GET only).
- Under an API key or tokens, or for a request carrying credentials, no API answer may be stored
  (`Cache-Control: no-store`): a shared proxy or the browser's disk cache would keep it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import PUBLIC_PATHS, PUBLIC_PREFIXES

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARDS = ("0.0.0.0", "::", "")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_SHOWN_HOST = re.compile(r"^[A-Za-z0-9.:\[\]-]{1,100}$")


def host_name(value: str) -> str | None:
    """The name or address in a Host header or an origin's netloc ("[::1]:8000" -> "::1"); None if unreadable."""
    try:
        name = urlsplit(f"//{value}").hostname
    except ValueError:
        return None
    return name.rstrip(".").lower() if name else None


def allowed_hosts(listen_host: str, configured: str | None) -> tuple[set[str] | None, set[str]]:
    """(every name the Host header may carry, or None for any; the names an operator configured)."""
    named = {h.strip().lower().rstrip(".") for h in (configured or "").split(",") if h.strip()}
    if "*" in named:
        return None, set()
    named = {host_name(h) or h for h in named}
    hosts = {*LOCAL_NAMES, *named}
    listen = listen_host.strip().lower()
    if listen in WILDCARDS:  # every interface: the machine's own names, and any address (below)
        hosts |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    elif listen:
        hosts.add(host_name(listen) or listen)
    return hosts, named


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class RequestGuard:
    """Host check, Origin check for state-changing methods, HEAD as GET, no-store under credentials."""

    def __init__(self, app: ASGIApp, listen_host: str, configured_hosts: str | None,
                 cors_origins: Iterable[str], locked: Callable[[], bool]) -> None:
        self.app = app
        self.hosts, self.named = allowed_hosts(listen_host, configured_hosts)
        # A DNS-rebinding page reaches the server under the attacker's name, never under an
        # address: on every interface, any address is one of this machine's.
        self.any_address = listen_host.strip().lower() in WILDCARDS
        self.cors_origins = {o.rstrip("/").lower() for o in cors_origins}
        self.locked = locked  # a key or a token is set

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        refusal = self._refuse_host(host) or self._refuse_origin(scope["method"], host, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        no_store = not public_path(scope) and (b"authorization" in headers or b"x-api-key" in headers
                                               or b"sig=" in scope.get("query_string", b"") or self.locked())
        if not head and not no_store:
            await self.app(scope, receive, send)
            return
        body_sent = False

        async def adjusted(message: Message) -> None:
            nonlocal body_sent
            if message["type"] == "http.response.start" and no_store:
                MutableHeaders(scope=message)["Cache-Control"] = "no-store"
            if message["type"] == "http.response.body" and head:
                if body_sent:
                    return
                body_sent = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app(scope, receive, adjusted)

    def _refuse_host(self, host: str) -> JSONResponse | None:
        if self.hosts is None or not host:  # no Host at all: HTTP/1.0 by hand, not a browser
            return None
        name = host_name(host)
        if name is not None and (name in self.hosts or (self.any_address and _is_address(name))):
            return None
        shown = f" {host!r}" if _SHOWN_HOST.match(host) else ""
        return JSONResponse({"detail": f"this server does not answer to the host name{shown}; "
                                       f"an administrator can add it to GOVQA_ALLOWED_HOSTS"}, status_code=400)

    def _refuse_origin(self, method: str, host: str, headers: dict[bytes, bytes]) -> JSONResponse | None:
        if method in SAFE_METHODS:
            return None
        origin = headers.get(b"origin", b"").decode("latin-1").strip().rstrip("/").lower()
        if not origin:
            # Browsers send Origin with every POST; Sec-Fetch-Site covers one that would not.
            if headers.get(b"sec-fetch-site", b"") != b"cross-site":
                return None
        else:
            netloc = urlsplit(origin).netloc
            if origin in self.cors_origins or (netloc and netloc == host.lower()) or host_name(netloc) in self.named:
                return None
        return JSONResponse({"detail": "a request that changes something must come from this server's own page "
                                       "(or an origin in GOVQA_CORS_ORIGINS)"}, status_code=403)


def public_path(scope: Scope) -> bool:
    """Whether the path is the page, its assets or /health (the routes that hold no data)."""
    path, root = scope["path"], scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):] or "/"
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
