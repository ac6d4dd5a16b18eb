"""uvicorn as govqa runs it: slow clients cannot hold a connection open for ever.

uvicorn closes an idle kept-alive connection after `timeout_keep_alive`, but a connection that
sends its request head slowly (or, just opened, nothing at all) has no timer: a few hundred of
those exhaust the server. HeaderTimeoutProtocol closes one whose request head is not complete
within GOVQA_HEADER_TIMEOUT seconds of the connection or of the previous answer. A head is at
most 16 KB (h11's limit; larger is a 400). Body reads are timed in api/bodylimit.py.
"""

from __future__ import annotations

import functools
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from govqa.config import Settings

KEEP_ALIVE_SECONDS = 5  # uvicorn's default, stated: an idle kept-alive connection is closed after it
MAX_HEAD_BYTES = 16 * 1024


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for each request head."""

    def __init__(self, *args: Any, header_timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self._head_timer = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # a request head was read: the app has it now
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered; its body reads have their own timeout
        if not self.transport.is_closing():
            self.transport.close()


def server_options(settings: Settings) -> dict:
    """Keyword arguments for uvicorn.Config that `govqa serve` (and its workers) use."""
    return {"http": functools.partial(HeaderTimeoutProtocol, header_timeout=settings.header_timeout),
            "timeout_keep_alive": KEEP_ALIVE_SECONDS, "h11_max_incomplete_event_size": MAX_HEAD_BYTES}
