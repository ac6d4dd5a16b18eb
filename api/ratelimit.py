"""An optional per-client request rate (GOVQA_RATE_LIMIT, e.g. "60/minute"): 429 with Retry-After past it.

A client is its address plus who the gate (api/auth.py) found it to be: its token, the key,
or nobody. People behind one proxy address with their own tokens count apart, one shared key
does not make every office one client, and a made-up header does not make a new client. Behind a reverse proxy on this machine uvicorn takes the address from
X-Forwarded-For. The count is per server process: with `--workers N` a client gets up to N
times the rate. The page, its scripts and /health are not counted.
"""

from __future__ import annotations

import math
import time

from fastapi.responses import JSONResponse
from limits import parse, storage, strategies
from starlette.types import ASGIApp, Receive, Scope, Send

from govqa.errors import GovqaError

from .guard import public_path


class RateLimitError(GovqaError):
    """GOVQA_RATE_LIMIT cannot be read."""


def parse_rate(spec: str):
    """'60/minute', '10 per second', '1000/hour' -> a `limits` rate item."""
    try:
        return parse(spec)
    except ValueError:
        raise RateLimitError(f"GOVQA_RATE_LIMIT={spec!r} is not a rate: write it like 60/minute or 5/second") from None


class RateLimit:
    def __init__(self, app: ASGIApp, spec: str) -> None:
        self.app = app
        self.rate = parse_rate(spec)
        self.limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or public_path(scope):
            await self.app(scope, receive, send)
            return
        client = _client(scope)
        if self.limiter.hit(self.rate, client):
            await self.app(scope, receive, send)
            return
        reset = self.limiter.get_window_stats(self.rate, client)[0]  # when the oldest counted request expires
        wait = max(1, math.ceil(reset - time.time()))
        await JSONResponse({"detail": f"too many requests from this client (limit {self.rate}); retry in {wait} s"},
                           status_code=429, headers={"Retry-After": str(wait)})(scope, receive, send)


def _client(scope: Scope) -> str:
    access = scope.get("state", {}).get("access")
    address = (scope.get("client") or ("unknown",))[0]
    return f"{address}|{getattr(access, 'who', '')}"
