"""Staff add, replace and delete documents: POST /documents, PUT|DELETE /documents/{id}, GET /jobs/{id}, /collections.

An upload is streamed to a file beside the index while its bytes are counted (refused past
GOVQA_UPLOAD_MAX_MB), checked (govqa.intake), kept in uploads/COLLECTION/ and indexed by a
queued job (govqa.jobs); the finished generation is swapped in by the reloader, so the
document is searchable the moment the job says done. Every collection check goes through
the caller's Access: a collection or document it may not change answers 404 like one that
does not exist.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartException, MultiPartParser

from govqa import audit, catalog
from govqa.access import Access
from govqa.build import build_index
from govqa.engine import Engine
from govqa.errors import GovqaError, NotFound
from govqa.filehash import sha256_of
from govqa.intake import DuplicateUpload, accepted_suffixes, UploadRejected, UploadTooLarge, check_content, check_filename
from govqa.jobs import Job, JobQueue, new_job_id
from govqa.store import DEFAULT_COLLECTION

from .auth import request_access
from .schemas import CollectionsOut, ErrorOut, JobOut

UPLOADS = "uploads"
MULTIPART_OVERHEAD = 64 * 1024  # headers and the collection field around the file's own bytes
UPLOAD_ERRORS = {code: {"model": ErrorOut} for code in (400, 401, 404, 409, 413, 415, 422)}
# The body is parsed by hand (streamed, counted); this documents it for clients and fuzzers.
MULTIPART = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"},
                   "collection": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$", "default": "default"}}}}}}}


def upload_limit(request: Request) -> int:
    return int(request.app.state.settings.upload_max_mb * 1_000_000)


def add_upload_routes(app: FastAPI) -> None:
    @app.get("/collections", response_model=CollectionsOut, tags=["documents"])
    def collections(request: Request):
        """The collections you may read, which of them you may add documents to, and the upload size limit."""
        access = request_access(request)
        settings = request.app.state.settings
        engine = request.app.state.engine
        found = catalog.listing(settings.index_dir, access.sees,
                                engine.reader.manifest if settings.store and engine is not None else None)
        return {"role": access.role, "upload_max_bytes": upload_limit(request), "accepted": sorted(accepted_suffixes()),
                "collections": [{**c.__dict__, "editable": access.edits(c.name)} for c in found]}

    @app.post("/documents", status_code=202, response_model=JobOut, responses=UPLOAD_ERRORS, tags=["documents"],
              openapi_extra=MULTIPART)
    async def upload(request: Request):
        """Add a file (multipart: `file`, `collection`) to a collection you may edit; answers at once with a job.

        Follow the job at GET /jobs/{id} (or /jobs/{id}/events): the document is searchable when it says done.
        """
        _writer(request)
        fields, staged = await _receive(request)
        try:
            collection = fields.get("collection") or DEFAULT_COLLECTION
            job = await run_in_threadpool(_accept, request, staged, fields["filename"], collection, None)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        return JSONResponse(job.to_dict(), status_code=202)

    @app.put("/documents/{doc_id}", status_code=202, response_model=JobOut, responses=UPLOAD_ERRORS, tags=["documents"],
             openapi_extra=MULTIPART)
    async def replace(doc_id: str, request: Request):
        """Replace a document by a new file (multipart: `file`); the old one stays searchable until the job is done."""
        engine: Engine = request.app.state.engine
        record = _editable(engine, _writer(request), doc_id)
        fields, staged = await _receive(request)
        try:
            job = await run_in_threadpool(_accept, request, staged, fields["filename"], record.collection, record.doc_id)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        return JSONResponse(job.to_dict(), status_code=202)

    @app.delete("/documents/{doc_id}", status_code=202, response_model=JobOut, responses=UPLOAD_ERRORS,
                tags=["documents"])
    def delete(doc_id: str, request: Request):
        """Remove a document from the index (a job; searches stop finding it when the job is done)."""
        access = _writer(request)
        record = _editable(request.app.state.engine, access, doc_id)
        job = Job(id=new_job_id(), kind="delete", collection=record.collection, who=access.who, doc_id=doc_id,
                  filename=Path(record.path).name)
        settings = request.app.state.settings
        audit.record(settings, "document.delete", access.who, doc_id=doc_id, collection=record.collection, job=job.id)
        return JSONResponse(_queue(request).submit(job, _work(request.app, remove=doc_id)).to_dict(), status_code=202)

    @app.get("/jobs/{job_id}", response_model=JobOut, responses={404: {"model": ErrorOut}}, tags=["documents"])
    def job_status(job_id: str, request: Request):
        """Where an upload, replacement or deletion is: queued, running (stage, done of total), done or failed."""
        return _visible_job(request, job_id).to_dict()

    @app.get("/jobs/{job_id}/events", responses={404: {"model": ErrorOut}}, tags=["documents"],
             response_class=StreamingResponse)
    async def job_events(job_id: str, request: Request):
        """The job's progress as server-sent events (`progress`, then `done` or `failed`)."""
        _visible_job(request, job_id)

        async def events():
            last = None
            while True:
                job = _queue(request).get(job_id)
                state = job.to_dict()
                if state != last:
                    name = job.status if job.status in ("done", "failed") else "progress"
                    yield f"event: {name}\ndata: {json.dumps(state, ensure_ascii=False)}\n\n"
                    last = state
                if job.status in ("done", "failed") or await request.is_disconnected():
                    return
                await asyncio.sleep(0.3)

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _queue(request: Request) -> JobQueue:
    return request.app.state.jobs


class TokenNeeded(GovqaError):
    http_status = 401


def _writer(request: Request) -> Access:
    """The caller's Access for a change; on a server with no key and no token, only from this machine."""
    access = request_access(request)
    client = request.client.host if request.client else ""
    if access.who == "local" and client not in ("127.0.0.1", "::1", "localhost"):
        raise TokenNeeded("adding or deleting documents from another machine needs a token: create one with "
                          "`govqa tokens create --role editor --collections NAME`")
    return access


def _editable(engine: Engine, access: Access, doc_id: str):
    record = engine.document(doc_id, access)  # 404 when the caller may not see it
    if not access.edits(record.collection):
        raise NotFound(f"no document {doc_id!r} in the index")
    return record


def _visible_job(request: Request, job_id: str) -> Job:
    job = _queue(request).get(job_id)
    access = request_access(request)
    if job is None or not (access.edits(job.collection) or job.who == access.who != "anonymous"):
        raise NotFound(f"no job {job_id!r}")
    return job


async def _receive(request: Request) -> tuple[dict, Path]:
    """The multipart body, its file streamed into the index folder while the bytes are counted."""
    limit = upload_limit(request)
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise UploadRejected("send the file as multipart/form-data with the fields 'file' and 'collection'")

    async def counted():
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + MULTIPART_OVERHEAD:
                raise UploadTooLarge(f"the file is over the limit of {limit / 1e6:g} MB")
            yield chunk

    try:
        form = await MultiPartParser(request.headers, counted(), max_files=1, max_fields=4).parse()
    except MultiPartException as exc:
        raise UploadRejected(f"the multipart body is malformed ({exc.message})") from None
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise UploadRejected("the request has no file: send it as the multipart field 'file'")
    staging = request.app.state.settings.index_dir / UPLOADS / ".incoming"
    staging.mkdir(parents=True, exist_ok=True)
    staged = staging / uuid.uuid4().hex
    try:
        await run_in_threadpool(_copy, upload.file, staged)
    finally:
        await upload.close()
    collection = form.get("collection")
    return {"filename": upload.filename, "collection": collection if isinstance(collection, str) else None}, staged


def _copy(source, target: Path) -> None:
    with open(target, "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)


def _accept(request: Request, staged: Path, filename: str | None, collection: str, replacing: str | None) -> Job:
    """Check the staged file and queue the job that indexes it (runs in a worker thread)."""
    access = request_access(request)
    engine: Engine = request.app.state.engine
    settings = request.app.state.settings
    if not access.edits(collection) or collection not in catalog.known(settings.index_dir, engine.reader.collections):
        raise NotFound(f"no collection {collection!r} you may add documents to")
    name = check_filename(filename)
    check_content(staged, name, upload_limit(request))
    sha = sha256_of(staged)
    for record in engine.documents(access):
        if record.collection == collection and record.sha256 == sha and record.doc_id != replacing:
            raise DuplicateUpload(f"{name} is already indexed in {collection} as {record.doc_id!r} ({record.title})")
    kept = settings.index_dir / UPLOADS / collection / sha[:16] / name
    kept.parent.mkdir(parents=True, exist_ok=True)
    staged.replace(kept)
    job = Job(id=new_job_id(), kind="replace" if replacing else "upload", collection=collection, who=access.who,
              filename=name, doc_id=replacing)
    audit.record(settings, "document.replace" if replacing else "document.upload", access.who, filename=name,
                 collection=collection, sha256=sha, bytes=kept.stat().st_size, job=job.id, replaces=replacing)
    return _queue(request).submit(job, _work(request.app, add=kept, collection=collection, remove=replacing))


def _work(app: FastAPI, add: Path | None = None, collection: str | None = None, remove: str | None = None):
    """The job: one build (add and/or remove), then swap the new generation into this server."""

    def run(job: Job, progress) -> None:
        engine: Engine = app.state.engine
        old = engine.reader.documents.get(remove) if remove else None
        try:
            report = build_index([add] if add else [], app.state.settings, on_progress=progress,
                                 collection=collection, remove=[remove] if remove else [], require_all=True,
                                 embedder=engine.embedder)
        except BaseException:
            if add is not None:
                _drop_if_unused(app, add.parent, engine.reader.documents.values())  # nothing of it was indexed
            raise
        progress("reloading", generation=report.generation)
        app.state.reloader.reload()  # with --workers N this restarts the workers instead: read the generation itself
        if app.state.settings.store:  # a shared database: this server has just swapped the new generation in
            built = list(app.state.engine.reader.documents.values())
        else:
            built = catalog.generation_documents(app.state.settings.index_dir / report.generation)
        if add is not None:
            found = next((r for r in built if r.file == str(add.resolve())), None)
            if found is None:
                raise GovqaError(f"{add.name} was not indexed: the same bytes are already in {collection}")
            progress(doc_id=found.doc_id, pages=found.pages, ocr_pages=len(found.ocr_pages))
        if old is not None and old.file:
            _drop_if_unused(app, Path(old.file).parent, built)
        audit.record(app.state.settings, f"job.{job.kind}.done", job.who, job=job.id, doc_id=job.doc_id,
                     collection=job.collection, generation=report.generation)

    return run


def _drop_if_unused(app: FastAPI, folder: Path, documents) -> None:
    """Delete an upload's folder unless a live document's file is in it (never a file indexed from elsewhere)."""
    uploads = (app.state.settings.index_dir / UPLOADS).resolve()
    folder = folder.resolve()
    if not folder.is_relative_to(uploads) or len(folder.relative_to(uploads).parts) != 2:
        return
    if any(r.file and Path(r.file).parent == folder for r in documents):
        return
    shutil.rmtree(folder, ignore_errors=True)


