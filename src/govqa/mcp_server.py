"""govqa for AI assistants: a Model Context Protocol server with cited search, ask, claim checks and page text.

One server definition, two transports: stdio (`govqa mcp`, for a desktop assistant) and
streamable HTTP (mounted by `govqa serve` at /mcp, behind the same key, tokens and
collections as every other route). The tools call the same Engine as the CLI and the API,
so an assistant gets the same page-level citations a member of staff sees.
"""

from __future__ import annotations

from typing import Annotated, Any, Callable

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from pydantic import Field

from . import __version__
from .engine import MAX_QUERY_CHARS, Engine
from .access import EVERYTHING, Access, acting_as
from .errors import GovqaError, NotFound
from .models import Hit
from .sourcepath import public_source, without_paths

INSTRUCTIONS = (
    "govqa searches the site's own government documents (Japanese and English) and answers with page-level "
    "citations. Quote the page you rely on (doc_id, page, url) so that the user can check it. "
    "govqa は自組織の行政文書を検索し、ページ単位の出典付きで答えます。回答に使ったページ（doc_id・page・url）を"
    "必ず利用者に示してください。")

Query = Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS, pattern=r"\S",
                             description="A question or keywords, Japanese or English. 質問またはキーワード（日本語・英語）。")]
Collections = Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]] | None, Field(
    default=None, max_length=100,
    description="Only these collections (default: every collection you may read). 検索対象のコレクション（省略時は閲覧可能なすべて）。")]

# Who is calling: the HTTP mount reads the Access the gate resolved for the request's token;
# stdio uses the one the server was started with (the whole index, or a token's collections).
AccessFn = Callable[[Context], Access]
EngineFn = Callable[[], Engine]


def create_mcp_server(engine_of: EngineFn, access_of: AccessFn | None = None,
                      file_url: Callable[[str], str] | None = None) -> MCPServer:
    """The MCP server over whatever engine `engine_of` returns at call time (a reload swaps it).

    `file_url(doc_id)` gives the link of a local document's file (the HTTP mount passes its
    own route); fetched sources always link to their original URL.
    """
    server = MCPServer(name="govqa", title="govqa", version=__version__, instructions=INSTRUCTIONS)

    async def call(ctx: Context, fn):
        """`fn()` in a worker thread, as the caller: every Engine lookup inside answers for its Access."""
        access = access_of(ctx) if access_of is not None else EVERYTHING

        def as_caller():
            with acting_as(access):
                return fn()

        try:
            return await anyio.to_thread.run_sync(as_caller)
        except GovqaError as exc:  # the user's mistake, in the same words as the API's 4xx
            raise ToolError(without_paths(str(exc))) from None

    @server.tool(title="Search / 検索")
    async def search(query: Query, ctx: Context, k: Annotated[int, Field(ge=1, le=100)] = 10,
                     collections: Collections = None) -> dict[str, Any]:
        """Ranked passages from the site's documents, each with its document, 1-based page and a link
        that opens that page. 資料から関連箇所を順位付きで返します（文書・ページ・そのページを開くリンク付き）。"""
        engine = engine_of()
        hits = await call(ctx, lambda: engine.search(query, k=k, collections=collections))
        return {"query": query.strip(), "hits": [_hit(engine, hit, file_url) for hit in hits]}

    @server.tool(title="Ask / 質問")
    async def ask(query: Query, ctx: Context, k: Annotated[int, Field(ge=1, le=100)] = 8,
                  collections: Collections = None) -> dict[str, Any]:
        """A short answer whose every [n] cites one of the returned passages, or an abstention
        ("not in the sources") when the documents do not answer. 出典 [n] 付きの短い回答。資料に答えが
        なければ回答を控えます（abstained: true）。"""
        engine = engine_of()
        answer = await call(ctx, lambda: engine.ask(query, k=k, collections=collections))
        data = answer.to_dict()
        data["hits"] = [_hit(engine, hit, file_url) for hit in answer.hits]
        return data

    @server.tool(title="Check claims / 主張の裏付け")
    async def support(text: Annotated[str, Field(min_length=1, max_length=200_000, pattern=r"\S",
                                                 description="The article or claims to check. 確認する文章。")],
                      ctx: Context) -> dict[str, Any]:
        """For each claim sentence of a text: a verdict (supported, weak, unsupported, contradicted) and the
        passages that decide it, with pages. 文章の各主張について、資料による裏付けの判定と根拠箇所を返します。"""
        engine = engine_of()
        return {"claims": await call(ctx, lambda: _support(engine, text, file_url))}

    @server.tool(title="List documents / 文書一覧")
    async def list_documents(ctx: Context) -> dict[str, Any]:
        """Every document you may read: doc_id, title, pages, language, link. 閲覧できる文書の一覧。"""
        engine = engine_of()
        records = await call(ctx, engine.documents)
        return {"documents": [{"doc_id": r.doc_id, "title": r.title, "pages": r.pages, "lang": r.lang,
                               "kind": r.kind, "url": _doc_url(r, file_url), "collection": r.collection}
                              for r in records]}

    @server.resource("govqa://documents/{doc_id}/pages/{page}", name="page-text", mime_type="text/plain",
                     title="Page text / ページの本文")
    async def page_text(doc_id: str, page: str, ctx: Context) -> str:
        """The text of one page of a document, as indexed (1-based page). 文書の1ページ分の本文。"""
        engine = engine_of()
        try:
            if not page.isdigit():
                raise NotFound(page)
            return await call(ctx, lambda: engine.page_text(doc_id, int(page)))
        except (NotFound, ToolError):  # one answer for "no such page" and "not yours"
            raise ResourceNotFoundError(f"no page {page} of a document {doc_id!r}") from None

    @server.resource("govqa://documents/{doc_id}/pages/{page}/image", name="page-image", mime_type="image/png",
                     title="Page image / ページの画像")
    async def page_image(doc_id: str, page: str, ctx: Context) -> bytes:
        """One page of a PDF as a PNG (800 px wide), to check a citation by eye, scans included.
        PDF の1ページを画像（PNG、幅 800 px）で返します。スキャンした文書も確認できます。"""
        engine = engine_of()
        try:
            if not page.isdigit():
                raise NotFound(page)
            return await call(ctx, lambda: render_page_png(engine, doc_id, int(page)))
        except (NotFound, ToolError):
            raise ResourceNotFoundError(f"no page image {page} of a document {doc_id!r}") from None

    return server


def _support(engine: Engine, text: str, file_url: Callable[[str], str] | None) -> list[dict]:
    from .claims import parse_article
    from .support import SupportChecker, manifest_for

    article = parse_article(text)
    # The text's own reference list decides what its footnotes cite; the bundled manifest only for its article.
    checker = SupportChecker(engine, manifest_for(article, engine.settings.manifest))
    claims = [result.to_dict() for result in checker.check_article(article)]
    for claim in claims:
        claim["passages"] = [_public(engine, passage, file_url) for passage in claim["passages"]]
    return claims


def _doc_url(record, file_url: Callable[[str], str] | None) -> str:
    if record.url:
        return record.url
    return file_url(record.doc_id) if file_url else record.path


def _hit(engine: Engine, hit: Hit, file_url: Callable[[str], str] | None) -> dict[str, Any]:
    return _public(engine, hit.to_dict(), file_url)


def _public(engine: Engine, data: dict[str, Any], file_url: Callable[[str], str] | None) -> dict[str, Any]:
    """A hit as the assistant sees it: the document's source relative to its folder (sourcepath.py)."""
    record = engine.reader.documents[data["doc_id"]]
    data["source"] = public_source(record)
    if file_url is not None and not record.url:  # the server's own file route, not a path on its disk
        base = file_url(data["doc_id"])
        data["url"] = f"{base}#page={data['page']}" if record.kind == "pdf" else base
    return data


IMAGE_WIDTH = 800  # px: a page's small print stays legible, a few hundred KB at most


def render_page_png(engine: Engine, doc_id: str, page: int, width: int = IMAGE_WIDTH) -> bytes:
    """A page of an indexed PDF as PNG, from the file as it was indexed (a changed file is refused)."""
    import hashlib

    from .passageimage import render_page

    record = engine.document(doc_id)  # the caller's Access: another collection's document is "no document"
    if record.kind != "pdf" or not 1 <= page <= record.pages:
        raise NotFound(f"document {doc_id!r} has no page image {page}")
    path = engine.file_path(doc_id)
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != record.sha256:
        raise NotFound(f"the file of {doc_id!r} has changed since it was indexed; re-run govqa index")
    return render_page(data, page, width)
