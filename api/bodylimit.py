"""Request bodies counted as they arrive, chunked or not: 413 once a route's limit is passed, 408 when the client stalls.

A Content-Length over the limit is refused before anything is read. Without one
(`Transfer-Encoding: chunked`) the bytes are counted as the app reads them, and the read that
passes the limit ends the request: the body is never held whole. A route that takes more
(an upload) registers its own limit:

    app.state.body_limits.set("PUT", "/documents/{doc_id}", 100 * 1024 * 1024, seconds=UPLOAD_SECONDS)
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from fastapi import HTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_BODY_BYTES = 64 * 1024
# An article of 60,000 characters (schemas.MAX_ARTICLE_CHARS) is 180 KB of UTF-8 Japanese,
# 360 KB when a client escapes every character as \uXXXX.
SUPPORT_BODY_BYTES = 512 * 1024
DEFAULT_BODY_SECONDS = 60.0  # a whole small body; a slow line sends 64 KB in well under a minute
UPLOAD_SECONDS = 3600.0  # a whole upload (100 MB at ~30 KB/s); pauses are still cut at the idle timeout


class BodyRefused(HTTPException):
    """Raised from the app's own read, so FastAPI answers with it instead of a parse error."""

    def __init__(self, status_code: int, detail: str) -> None:
        # A stalled client's connection is closed. After a 413 it stays open so that the client,
        # still sending, reads the answer (a close would reset it); uvicorn drops what comes
        # after the answer, and api/serving.py closes the connection if no new request follows.
        headers = {"Connection": "close"} if status_code == 408 else None
        super().__init__(status_code=status_code, detail=detail, headers=headers)


@dataclass(frozen=True)
class RouteLimit:
    method: str
    path: re.Pattern
    max_bytes: int
    seconds: float


class BodyLimits:
    """Byte (and whole-body time) limits per route; every other route gets the defaults."""

    def __init__(self, max_bytes: int = DEFAULT_BODY_BYTES, seconds: float = DEFAULT_BODY_SECONDS) -> None:
        self.default = (max_bytes, seconds)
        self._routes: list[RouteLimit] = []

    def set(self, method: str, path: str, max_bytes: int, seconds: float = DEFAULT_BODY_SECONDS) -> None:
        """`path` as the route declares it, e.g. "/documents/{doc_id}"."""
        pattern = compile_path(path)[0]
        self._routes = [r for r in self._routes if not (r.method == method.upper() and r.path == pattern)]
        self._routes.append(RouteLimit(method.upper(), pattern, max_bytes, seconds))

    def limit_for(self, method: str, path: str) -> tuple[int, float]:
        for route in self._routes:
            if route.method == method and route.path.match(path):
                return route.max_bytes, route.seconds
        return self.default


class BodyGuard:
    """Counts each request's body bytes and times its arrival; `idle_seconds` is the longest pause allowed."""

    def __init__(self, app: ASGIApp, limits: BodyLimits, idle_seconds: float) -> None:
        self.app = app
        self.limits = limits
        self.idle_seconds = idle_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes, seconds = self.limits.limit_for(scope["method"], scope["path"])
        length = dict(scope["headers"]).get(b"content-length")
        refused = None
        if length is not None and not length.isdigit():
            refused = BodyRefused(400, "the Content-Length header is not a number")
        elif length is not None and int(length) > max_bytes:
            refused = _too_large(max_bytes)
        if refused is not None:
            await _answer(refused, scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        received = 0
        finished = False

        async def counted() -> Message:
            nonlocal received, finished
            if finished:  # after the body only a disconnect can come, whenever it comes
                return await receive()
            wait = min(self.idle_seconds, deadline - loop.time())
            try:
                message = await asyncio.wait_for(receive(), timeout=max(wait, 0.001))
            except asyncio.TimeoutError:
                raise BodyRefused(408, "the request body was not sent in time") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                finished = not message.get("more_body", False)
                if received > max_bytes:
                    raise _too_large(max_bytes)
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyRefused as exc:  # read outside FastAPI's own body parsing (a streamed upload)
            if started:
                raise
            await _answer(exc, scope, receive, send)


def _too_large(max_bytes: int) -> BodyRefused:
    shown = f"{max_bytes // 1024} KB" if max_bytes < 1024 * 1024 else f"{max_bytes // (1024 * 1024)} MB"
    return BodyRefused(413, f"the request body is over this route's limit of {shown} ({max_bytes} bytes)")


async def _answer(exc: BodyRefused, scope: Scope, receive: Receive, send: Send) -> None:
    from fastapi.responses import JSONResponse

    await JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)(scope, receive, send)
