"""The MCP server mounted at /mcp (streamable HTTP), behind the same access control as every route.

Stateless: each POST carries one JSON-RPC message and gets its answer as JSON, so any
worker of `govqa serve --workers N` can answer any request and nothing is kept between calls.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import FastAPI
from mcp.server.mcpserver import Context
from mcp.server.transport_security import TransportSecuritySettings

from govqa.access import Access, current
from govqa.mcp_server import create_mcp_server

MCP_PATH = "/mcp"


def mount_mcp(app: FastAPI):
    """Add /mcp to `app`; returns the context manager the app's lifespan must enter."""
    server = create_mcp_server(lambda: app.state.engine, _caller,
                               file_url=lambda doc_id: f"/documents/{quote(doc_id, safe='')}/file")
    # The app's own middleware checks Host, keys and tokens for /mcp like any route; the SDK's
    # DNS-rebinding check would only repeat it with its own list of hosts.
    mcp_app = server.streamable_http_app(streamable_http_path=MCP_PATH, stateless_http=True, json_response=True,
                                         transport_security=TransportSecuritySettings(
                                             enable_dns_rebinding_protection=False))
    for route in mcp_app.routes:
        app.router.routes.append(route)

    @asynccontextmanager
    async def running():
        async with server.session_manager.run():
            yield

    return running()


def _caller(ctx: Context) -> Access:
    """The Access the gate (api/auth.py) resolved for this HTTP request.

    The gate stores it in the request's scope; the SDK may run the tool in a task that does not
    share the request's context, so the context variable alone is not enough.
    """
    request = ctx.request_context.request
    state = getattr(request, "scope", {}).get("state", {}) if request is not None else {}
    return state.get("access") or current()
