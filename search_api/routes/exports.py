"""Routes: exports of a search's results (``GET /export``) and of a compilation
(``GET /compilations/{id}/export``) in any format of `compilations.export.writer.FORMATS`.

Streaming formats (CSV, JSONL, RIS, BibTeX, GB/T 7714) are sent as they are produced, a page of
search results at a time. Container formats (XLSX, DOCX, PDF) are built into a temporary file
first (a zip or PDF cannot be sent before it is complete) and then streamed from disk; the file
is removed when the response ends. Errors found before the first byte is sent (bad query,
engine down, disk full while building a container) are problem+json; an error in the middle of
a stream can only cut the connection, so a client never mistakes a cut stream for a complete
export (the chunked transfer does not end properly).

Permissions: query results are public, as search is. A compilation is exported to whoever may
read it: published and archived ones to anyone, drafts to librarians.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from compilations.errors import CompilationError
from compilations.export.records import ExportItem, ExportMeta
from compilations.export.sources import (
    QUERY_EXPORT_CAP,
    SearchRequest,
    compilation_items,
    query_export,
)
from compilations.export.writer import (
    ExportFormat,
    ExportWriteError,
    FormatName,
    export_to_file,
    get_format,
)
from compilations.models import PUBLIC_STATUSES, CompilationDocument
from compilations.service import CompilationService
from search_api.auth import Principal, Role, current_principal
from search_api.filters import SearchFilters, search_filters
from search_api.service import SearchService

router = APIRouter(tags=["exports"])

# Bytes read from a finished container file per chunk of the response.
FILE_CHUNK = 64 * 1024
FORMAT_HELP = "csv, jsonl, xlsx (datasets); ris, bibtex, gbt7714 (citations); docx, pdf (booklets)"


def _service(request: Request) -> SearchService:
    service = request.app.state.service
    assert isinstance(service, SearchService)
    return service


def _disposition(title: str, extension: str) -> str:
    # An ASCII fallback name plus the Chinese title in RFC 6266's filename* form.
    readable = "".join(c for c in title if c.isalnum() or c in "-_ ")[:60].strip() or "export"
    return (
        f'attachment; filename="gongkai-export.{extension}"; '
        f"filename*=UTF-8''{quote(readable)}.{extension}"
    )


def _read_file(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while block := handle.read(FILE_CHUNK):
            yield block


async def _respond(
    items: Iterable[ExportItem],
    meta: ExportMeta,
    chosen: ExportFormat,
    headers: dict[str, str],
) -> StreamingResponse:
    headers = {**headers, "Content-Disposition": _disposition(meta.title, chosen.extension)}
    if chosen.chunks is not None:
        return StreamingResponse(
            chosen.chunks(items, meta), media_type=chosen.media_type, headers=headers
        )
    folder = Path(tempfile.mkdtemp(prefix="gongkai-export-"))
    target = folder / f"export.{chosen.extension}"
    try:
        await run_in_threadpool(export_to_file, items, meta, chosen, target)
    except ExportWriteError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise HTTPException(status_code=507, detail=str(error)) from error
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    headers["Content-Length"] = str(os.path.getsize(target))
    return StreamingResponse(
        _read_file(target),
        media_type=chosen.media_type,
        headers=headers,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


@router.get(
    "/export",
    summary="Export a search's results (same filters as /search)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/pdf": {}}}},
)
async def export_query(
    request: Request,
    format: Annotated[FormatName, Query(description=FORMAT_HELP)],
    filters: Annotated[SearchFilters, Depends(search_filters)],
    q: Annotated[str, Query(max_length=10_000, description="Search text ('' = all).")] = "",
    sort: Annotated[Literal["relevance", "newest"], Query()] = "relevance",
    title: Annotated[str | None, Query(max_length=300, description="Cover title.")] = None,
) -> StreamingResponse:
    """The documents a search finds, in its order, up to the first 100,000 (the header
    ``X-Gongkai-Total`` says how many matched, ``X-Gongkai-Truncated`` whether some were
    left out)."""
    search = SearchRequest(q, filters.fields, filters.year_from, filters.year_to, sort)
    found = await run_in_threadpool(query_export, _service(request), search)
    meta = ExportMeta(
        title=title or f"检索结果：{q or '全部文件'}",
        created=date.today(),
        total=found.count,
        query=search.describe(),
    )
    headers = {
        "X-Gongkai-Total": str(found.total),
        "X-Gongkai-Truncated": "true" if found.truncated else "false",
        "X-Gongkai-Export-Cap": str(QUERY_EXPORT_CAP),
    }
    return await _respond(found.items, meta, get_format(format), headers)


@router.get(
    "/compilations/{compilation_id}/export",
    summary="Export a compilation (booklet, dataset or citations)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/pdf": {}, "text/csv": {}}}},
)
async def export_compilation(
    request: Request,
    compilation_id: int,
    principal: Annotated[Principal, Depends(current_principal)],
    format: Annotated[FormatName, Query(description=FORMAT_HELP)],
) -> StreamingResponse:
    """The compilation's documents in its reading order, with its sections and notes;
    documents no longer in the index are listed as missing."""
    backend = _service(request).backend
    compilations = CompilationService(request.app.state.database, backend)
    try:
        record = await run_in_threadpool(compilations.get, compilation_id)
    except CompilationError as error:
        raise HTTPException(status_code=error.http_status, detail=str(error)) from error
    if record.status not in PUBLIC_STATUSES and principal.role < Role.LIBRARIAN:
        # Drafts are not shown to the public: answer as if there were none.
        raise HTTPException(status_code=404, detail=f"no compilation with id {compilation_id}")
    meta = ExportMeta(
        title=record.title,
        description=record.description,
        created=date.today(),
        total=len(record.documents),
        sections=record.sections,
    )
    titles = {e.doc_id: e.title for e in record.documents}
    documents = [
        CompilationDocument(e.doc_id, e.section, e.note, e.missing) for e in record.documents
    ]
    items = compilation_items(documents, backend, titles)
    headers = {"X-Gongkai-Total": str(len(documents))}
    return await _respond(items, meta, get_format(format), headers)
