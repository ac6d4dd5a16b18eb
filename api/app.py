"""The HTTP API and the staff web page: thin routes over one shared, read-only Engine.

Run it with `govqa serve`, or `uvicorn --factory api.app:app_factory` (settings from GOVQA_* env vars).
"""

from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from govqa import __version__
from govqa import audit
from govqa.access import Access, acting_as
from govqa.citations import sentences_citing
from govqa.config import Settings
from govqa.jobs import JobQueue
from govqa.tokens import TokenStore
from govqa.engine import Engine
from govqa.errors import GovqaError, NotFound
from govqa.figures import read_by_ocr
from govqa.models import Hit
from govqa.sourcepath import public_source, without_paths
from govqa.store import DocRecord

from .accesslog import AccessLog
from .auth import add_access_control, link_query, request_access
from .bodylimit import SUPPORT_BODY_BYTES, UPLOAD_SECONDS, BodyGuard, BodyLimits
from .files import FileGuard, file_response
from .guard import RequestGuard
from .highlight import query_terms, quote_spans, term_spans
from .mcp_http import mount_mcp
from .pageimage import MAX_WIDTH, MIN_WIDTH, PageImages
from .reload import Reloader, reload_on_sighup, stop_sighup
from .upload import MULTIPART_OVERHEAD, add_upload_routes
from .schemas import (
    AskRequest,
    AskResponse,
    DocumentOut,
    ErrorOut,
    HealthOut,
    HitOut,
    PageOut,
    ReloadOut,
    SearchRequest,
    SearchResponse,
    SupportRequest,
    SupportResponse,
)

log = logging.getLogger("govqa.api")

STATIC = Path(__file__).parent / "static"
ASSETS = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "i18n.js": "text/javascript; charset=utf-8",
          "upload.js": "text/javascript; charset=utf-8", "upload.css": "text/css; charset=utf-8",
          "docactions.js": "text/javascript; charset=utf-8", "filter.js": "text/javascript; charset=utf-8",
          "support.js": "text/javascript; charset=utf-8", "support.css": "text/css; charset=utf-8",
          "viewer.js": "text/javascript; charset=utf-8", "viewer.css": "text/css; charset=utf-8",
          "askstream.js": "text/javascript; charset=utf-8",
          "favicon.svg": "image/svg+xml"}
PAGE_CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
# /docs: Swagger UI from the fastapi-offline package (no CDN: the server may be on a closed
# network), started by an inline script; only it gets 'unsafe-inline'. No /redoc: its bundle
# still fetches a logo from redocly's CDN.
DOCS_PATHS = {"/docs", "/docs/oauth2-redirect"}
DOCS_STATIC = "/docs-static"
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; frame-ancestors 'self'")
ERRORS = {400: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}}


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """The app over the index at settings.index_dir; pass `engine` when it is already open."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if app.state.engine is None:
            app.state.engine = await run_in_threadpool(Engine.open, settings)
        await run_in_threadpool(app.state.engine.warm)  # before the first request, not during it
        sighup = reload_on_sighup(app.state.reloader)
        async with mcp_running:
            yield
        if sighup:
            stop_sighup()

    app = FastAPIOffline(title="govqa", version=__version__, lifespan=lifespan, static_url=DOCS_STATIC, redoc_url=None,
                         favicon_url="/favicon.ico", swagger_ui_oauth2_redirect_url="/docs/oauth2-redirect",
                         redirect_slashes=False,  # Starlette builds its redirect from the Host header
                         description="Citation-grounded search and answers over government documents, offline.")
    app.state.engine = engine
    app.state.files = FileGuard()
    app.state.page_images = PageImages(settings.index_dir / "cache" / "page-images")
    app.state.reloader = Reloader(app, settings)
    app.state.api_key = settings.api_key or None
    app.state.settings = settings
    app.state.tokens = TokenStore(settings.index_dir)
    app.state.jobs = JobQueue(settings.index_dir)
    if settings.rate_limit:  # inside the gate: it counts per caller the gate identified, not per header sent
        from .ratelimit import RateLimit

        app.add_middleware(RateLimit, spec=settings.rate_limit)
    add_access_control(app, app.state.api_key, settings.cors_origins, app.state.tokens)
    app.state.body_limits = BodyLimits()  # a route with larger bodies adds its own limit here
    app.state.body_limits.set("POST", "/support", SUPPORT_BODY_BYTES)
    # api/upload.py counts an upload's bytes itself and refuses it with its own message; this is the backstop.
    upload_bytes = int(settings.upload_max_mb * 1_000_000) + MULTIPART_OVERHEAD + (1 << 20)
    app.state.body_limits.set("POST", "/documents", upload_bytes, seconds=UPLOAD_SECONDS)
    app.state.body_limits.set("PUT", "/documents/{doc_id}", upload_bytes, seconds=UPLOAD_SECONDS)
    app.add_middleware(BodyGuard, limits=app.state.body_limits, idle_seconds=settings.body_timeout)
    app.add_middleware(RequestGuard, listen_host=settings.host, configured_hosts=settings.allowed_hosts,
                       cors_origins=[o.strip() for o in (settings.cors_origins or "").split(",") if o.strip()],
                       locked=lambda: bool(app.state.api_key) or app.state.tokens.any())
    app.add_middleware(SecurityHeaders, docs_paths=DOCS_PATHS)
    app.add_middleware(AccessLog)
    _add_error_handlers(app)
    _add_routes(app)
    add_upload_routes(app)
    mcp_running = mount_mcp(app)
    return app


def app_factory() -> FastAPI:
    """For `uvicorn --factory api.app:app_factory`."""
    return create_app(Settings())


class IndexNotLoaded(GovqaError):
    http_status = 503


def _engine(request: Request) -> Engine:
    engine = request.app.state.engine
    if engine is None:  # only when a server skipped the lifespan startup (uvicorn --lifespan off)
        raise IndexNotLoaded("the index is not loaded yet; start the server with `govqa serve`")
    # A shared database (GOVQA_STORE): a build from any machine is served without a reload; /health asks every time.
    request.app.state.reloader.follow(now=request.url.path == "/health")
    return request.app.state.engine


EngineDep = Annotated[Engine, Depends(_engine)]


def _add_routes(app: FastAPI) -> None:
    @app.get("/health", response_model=HealthOut, tags=["service"])
    def health(request: Request, engine: EngineDep):
        """Whether the index is loaded, and how big the part you may read is (0 without a token once tokens exist)."""
        health = engine.health()
        return health if request_access(request).who != "anonymous" else {**health, "generation": None}

    @app.post("/search", response_model=SearchResponse, responses=ERRORS, tags=["questions"])
    def search(body: SearchRequest, request: Request, engine: EngineDep):
        """The k best passages, at most one per page, each citing its document and page."""
        _log_question(request, "search", body.query, body.collections)
        hits = engine.search(body.query, k=body.k, collections=body.collections)
        return SearchResponse(query=body.query, hits=_hits_out(engine, request, body.query, hits))

    @app.post("/ask", response_model=AskResponse, responses=ERRORS, tags=["questions"])
    def ask(body: AskRequest, request: Request, engine: EngineDep):
        """The passages plus a summary whose every [n] names one of `citations`; with `stream`, as server-sent events."""
        _log_question(request, "ask", body.query, body.collections)
        if body.stream:
            return _event_stream(engine, request, engine.ask_stream(body.query, k=body.k, llm=body.llm,
                                                                    collections=body.collections))
        answer = engine.ask(body.query, k=body.k, llm=body.llm, collections=body.collections)
        return AskResponse(**{**answer.to_dict(), "hits": _hits_out(engine, request, answer.query, answer.hits,
                                                                   answer.answer)})

    @app.post("/support", response_model=SupportResponse, responses={**ERRORS, 413: {"model": ErrorOut}},
              tags=["authors"])
    def support(body: SupportRequest, request: Request, engine: EngineDep):
        """For each claim sentence of an article: the passages that support it, a score and a verdict.

        The request body may be up to 512 KB (other routes: 64 KB); a larger one is refused with 413.
        """
        from govqa.claims import parse_article
        from govqa.support import SupportChecker, manifest_for, summary_line

        _log_question(request, "support", body.text, body.collections)
        article = parse_article(body.text, body.format)
        checker = SupportChecker(engine, manifest_for(article, engine.settings.manifest))
        access = request_access(request)
        narrowed = Access(access.role, engine.scope(body.collections, access), access.who)
        with acting_as(narrowed):  # the checker's searches and reference matches read only the collections asked for
            references = checker.match(article)
            results = checker.check_article(article)
        claims = []
        for result in results:
            hits = _hits_out(engine, request, result.claim.query, result.passages)
            passages = [{**hit.model_dump(), **{k: p[k] for k in ("support", "cited")}}
                        for hit, p in zip(hits, result.to_dict()["passages"])]
            claims.append({**result.to_dict(), "passages": passages})
        return SupportResponse(claims=claims, summary=summary_line(results),
                               references=[m.to_dict() for m in references])

    @app.get("/documents", response_model=list[DocumentOut], tags=["documents"])
    def documents(request: Request, engine: EngineDep, collection: Annotated[list[str] | None, Query(
            max_length=100, description="Only these collections (repeat the parameter for several).")] = None):
        """Every indexed document you may read."""
        return [_document_out(record, request) for record in engine.documents(collections=collection)]

    @app.get("/documents/{doc_id}/pages/{page}", response_model=PageOut, responses=ERRORS, tags=["documents"])
    def page_text(doc_id: str, page: int, engine: EngineDep):
        """The text of one page (1-based) as it was indexed."""
        record = engine.document(doc_id)
        if not 1 <= page <= record.pages:
            raise NotFound(f"document {doc_id!r} has pages 1..{record.pages}, not {page}")
        return PageOut(doc_id=doc_id, page=page, text=engine.page_text(doc_id, page), title=record.title,
                       pages=record.pages)

    @app.get("/documents/{doc_id}/file", response_class=Response, tags=["documents"], responses={
        200: {"description": "The file (application/pdf for PDFs).",
              "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
        409: {"model": ErrorOut}, **ERRORS})
    def document_file(doc_id: str, request: Request, engine: EngineDep):
        """The original file as indexed; add #page=N to open a PDF at a page."""
        return file_response(request.app.state.files.open(engine, doc_id))

    @app.head("/documents/{doc_id}/pages/{page}/image", include_in_schema=False)
    @app.get("/documents/{doc_id}/pages/{page}/image", response_class=Response, tags=["documents"], responses={
        200: {"description": "The page as PNG (JPEG for scanned pages).",
              "content": {"image/png": {}, "image/jpeg": {}}}, 409: {"model": ErrorOut}, **ERRORS})
    def page_image(doc_id: str, page: int, request: Request, engine: EngineDep,
                   width: Annotated[int, Query(ge=MIN_WIDTH, le=MAX_WIDTH, description="Pixels wide.")] = 800):
        """One page of a PDF rendered as an image `width` pixels wide (cached on the server)."""
        state = request.app.state
        return state.page_images.response(engine, state.files, doc_id, page, width)

    @app.post("/admin/reload", response_model=ReloadOut, responses={**ERRORS, 409: {"model": ErrorOut}},
              tags=["service"])
    def reload_index(request: Request):
        """Serve the index's newest generation (after `govqa index`); requests already running finish on the old one.

        An index that cannot be loaded (another format version, another embedder) answers 409
        and the server keeps serving the one it has. SIGHUP to the server does the same.
        """
        return request.app.state.reloader.reload()

    @app.get("/", include_in_schema=False)
    def index_page():
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():  # asked for by the browser's own PDF viewer tab
        return FileResponse(STATIC / "favicon.svg", media_type=ASSETS["favicon.svg"])

    @app.get("/static/{name}", include_in_schema=False)
    def asset(name: str):
        if name not in ASSETS:
            raise NotFound(f"no asset {name!r}")
        return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})


def _file_route(request: Request, doc_id: str) -> str:
    # With an API key the link carries a signature: a browser opening it in a new tab sends no header.
    signed = link_query(request, doc_id)
    return f"{request.scope.get('root_path', '')}/documents/{quote(doc_id, safe='')}/file{signed}"


def _image_route(request: Request, record: DocRecord, page: int) -> str | None:
    if record.kind != "pdf":
        return None
    signed = link_query(request, record.doc_id)
    return f"{request.scope.get('root_path', '')}/documents/{quote(record.doc_id, safe='')}/pages/{page}/image{signed}"


def _at_page(url: str, record: DocRecord, page: int) -> str:
    return f"{url}#page={page}" if record.kind == "pdf" else url


def _event_stream(engine: Engine, request: Request, events) -> StreamingResponse:
    """Server-sent events of an answer; hits as /ask gives them. Bad input was refused before the first."""
    caller = request_access(request)  # the stream runs after this handler returns, in other threads

    def frames():
        iterator = iter(events)
        while True:
            with acting_as(caller):  # per step: each step may run in another thread and context
                event = next(iterator, None)
                if event is None:
                    return
                data, hits = event.data, event.hits or (event.answer.hits if event.answer else None)
                if hits is not None:
                    answered = event.answer.answer if event.answer else ""
                    data = {**data, "hits": [h.model_dump() for h in _hits_out(engine, request, data["query"], hits,
                                                                               answered)]}
            yield f"event: {event.event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

    return StreamingResponse(frames(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _hits_out(engine: Engine, request: Request, query: str, hits: list[Hit], answer: str = "") -> list[HitOut]:
    """Hits as the API gives them; with the answer's text, each marks the sentences the answer quotes from it."""
    terms = query_terms(engine.reader.tokenizer, query)
    citing = sentences_citing(answer) if answer else {}
    out = []
    for hit in hits:
        record = engine.document(hit.doc_id)
        file_url = _at_page(_file_route(request, hit.doc_id), record, hit.page)
        out.append(HitOut(**{
            **hit.to_dict(),
            # Local files get this server's route: a file:// URL of the server's disk opens nothing in a browser.
            "url": _at_page(record.url, record, hit.page) if record.url else file_url,
            "file_url": file_url, "publisher": record.publisher, "year": record.year, "collection": record.collection,
            "source": public_source(record),
            "highlights": term_spans(hit.text, terms),
            "quoted": quote_spans(hit.text, citing.get(hit.rank, [])),
            "image_url": _image_route(request, record, hit.page), "pages": record.pages, "kind": record.kind,
            "ocr": read_by_ocr(record, hit.page, hit.end),
        }))
    return out


def _document_out(record: DocRecord, request: Request) -> DocumentOut:
    file_url = _file_route(request, record.doc_id)
    return DocumentOut(doc_id=record.doc_id, title=record.title, pages=record.pages, source=public_source(record),
                       url=record.url or file_url, lang=record.lang, file_url=file_url, kind=record.kind,
                       publisher=record.publisher, year=record.year, date=record.date, collection=record.collection)


def _log_question(request: Request, route: str, text: str, collections: list[str] | None) -> None:
    """With GOVQA_LOG_QUESTIONS on, who asked what goes to the audit log (off by default)."""
    settings = request.app.state.settings
    if settings.log_questions:
        audit.record(settings, f"question.{route}", request_access(request).who, text=text, collections=collections)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GovqaError)
    async def govqa_error(request: Request, exc: GovqaError):
        detail = without_paths(str(exc))  # messages name documents; the server's paths stay in its log
        if detail != str(exc):
            log.info("refused %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": detail}, status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        return JSONResponse({"detail": "; ".join(_reason(e) for e in errors) or "invalid request",
                             "errors": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": f"internal error ({type(exc).__name__}); the server log has the details"},
                            status_code=500)


def _reason(error: dict) -> str:
    loc = [str(part) for part in error["loc"]]
    if loc and loc[0] in ("body", "path", "query"):
        loc = loc[1:]
    if error["type"] == "missing" and not loc:
        return 'the request needs a JSON body, e.g. {"query": "…"}'
    if error["type"] == "json_invalid":
        return "the request body is not valid JSON"
    return f"{'.'.join(loc)}: {error['msg']}" if loc else error["msg"]


class SecurityHeaders:
    """CSP, nosniff and no referrer on every response (body limits: api/bodylimit.py)."""

    def __init__(self, app: ASGIApp, docs_paths: set[str | None]) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"] in self.docs_paths else PAGE_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", csp)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
            await send(message)

        await self.app(scope, receive, send_with_headers)
