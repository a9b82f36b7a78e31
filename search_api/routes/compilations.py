"""Routes: curated compilations (`/compilations`), their documents, history and proposals.

Who sees what:
- anonymous callers read published and archived compilations (list, one, its Atom feed),
  notes included: they are part of what is published. Drafts answer 404 to them, as if
  absent; versions (who changed what) and the proposals inbox are for librarians only.
- every write needs ``Role.LIBRARIAN`` (401 without credentials, 403 below) and is recorded
  in the audit log (by `CompilationService`).

Concurrency: every compilation carries ``version`` (also sent as the ``ETag`` header). A write
may send the version it read as ``If-Match: "<version>"`` or as the body's ``version`` field;
if the compilation has changed since, the answer is 409 (problem+json, current version in
``ETag``) and nothing is changed: re-read, re-apply, resend. A write without a version applies
to whatever is current.

Handlers are plain ``def``: the database calls run in FastAPI's thread pool.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from compilations.errors import CompilationError, CompilationNotFound, VersionConflict
from compilations.models import (
    PUBLIC_STATUSES,
    Compilation,
    CompilationCreate,
    CompilationSummary,
    CompilationUpdate,
    OrderRule,
    Proposal,
    ProposalStatus,
    Status,
    VersionInfo,
)
from compilations.seeding import DEFAULT_LIMIT, TopicHints, propose_seeded, seed_compilation
from compilations.service import CompilationService
from engines.base import SearchHit
from search_api.auth import Principal, Role, current_principal, require_role
from search_api.feeds import EPOCH, atom_feed
from search_api.problems import problem
from search_api.service import SearchResponse, SearchService, hit_view

FEED_SIZE = 50
_TITLES = {
    400: "Bad request",
    404: "Not found",
    409: "Conflict",
    422: "Invalid change",
}


class _CompilationRoute(APIRoute):
    """Turns `CompilationError`s into problem+json with their own status (404, 409, 422)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except CompilationError as exc:
                response = problem(exc.http_status, _TITLES.get(exc.http_status, "Error"), str(exc))
                if isinstance(exc, VersionConflict):
                    response.headers["ETag"] = f'"{exc.current}"'
                return response

        return guarded


_PROBLEM: dict[str, dict[str, str]] = {"application/problem+json": {}}
router = APIRouter(
    prefix="/compilations",
    tags=["compilations"],
    route_class=_CompilationRoute,
    responses={
        401: {"description": "Writes: no or invalid credentials", "content": _PROBLEM},
        403: {"description": "Writes: the caller is not a librarian", "content": _PROBLEM},
        404: {
            "description": "No such compilation, document, section or version (a draft, "
            "for anonymous callers)",
            "content": _PROBLEM,
        },
        409: {
            "description": "Edited by someone else since the version sent (If-Match or "
            "version): re-read and retry; ETag holds the current version",
            "content": _PROBLEM,
        },
        422: {"description": "Invalid request or change", "content": _PROBLEM},
    },
)


def get_compilations(request: Request) -> CompilationService:
    """The app's compilation service, made on first use (its tables are created then)."""
    service = getattr(request.app.state, "compilations", None)
    if service is None:
        service = CompilationService(request.app.state.database, request.app.state.service.backend)
        request.app.state.compilations = service
    assert isinstance(service, CompilationService)
    return service


def get_search(request: Request) -> SearchService:
    search = request.app.state.service
    assert isinstance(search, SearchService)
    return search


def get_topic_hints(request: Request) -> TopicHints | None:
    """The current topic build as seeding hints, or None before `gongkai topics build`."""
    from compilations.topic_hints import StoredTopicHints
    from compilations.topics.service import models_dir

    return StoredTopicHints.current(
        request.app.state.database, models_dir(request.app.state.settings)
    )


Service = Annotated[CompilationService, Depends(get_compilations)]
Topics = Annotated[TopicHints | None, Depends(get_topic_hints)]
Librarian = Annotated[Principal, Depends(require_role(Role.LIBRARIAN))]
Reader = Annotated[Principal, Depends(current_principal)]
IfMatch = Annotated[
    str | None,
    Header(description='The version you read, as the ETag gave it: "3" (409 if stale).'),
]
VERSION_FIELD = Field(
    default=None, ge=1, description="The version you read (or send If-Match); 409 if stale."
)


def expected_version(if_match: str | None, body_version: int | None = None) -> int | None:
    """The version the writer read: from ``If-Match`` ("3", W/"3" or 3), else the body."""
    if if_match is None or if_match.strip() == "*":
        return body_version
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise CompilationError(f'If-Match must be a version number as the ETag gave it: "{text}"')
    return int(text)


def _with_etag(response: Response, compilation: Compilation) -> Compilation:
    response.headers["ETag"] = compilation.etag
    return compilation


def _readable(service: CompilationService, compilation_id: int, who: Principal) -> Compilation:
    compilation = service.get(compilation_id)
    if compilation.status not in PUBLIC_STATUSES and not who.role >= Role.LIBRARIAN:
        raise CompilationNotFound(compilation_id)  # a draft does not exist for the public
    return compilation


# --- request bodies -----------------------------------------------------------------------


class CompilationPatch(CompilationUpdate):
    version: int | None = VERSION_FIELD


class AddDocuments(BaseModel):
    doc_ids: list[str] = Field(min_length=1, max_length=10_000)
    section: str | None = Field(default=None, description="Put them in this section.")
    position: int | None = Field(default=None, ge=0, description="Insert here (default: end).")
    note: str = ""
    version: int | None = VERSION_FIELD


class MoveDocument(BaseModel):
    position: int | None = Field(default=None, ge=0, description="New 0-based place.")
    section: str | None = Field(default=None, description="Move into this section.")
    unsectioned: bool = Field(default=False, description="Take it out of its section.")
    version: int | None = VERSION_FIELD


class NoteBody(BaseModel):
    note: str = Field(max_length=20_000, description="Empty clears the note.")
    version: int | None = VERSION_FIELD


class OrderBody(BaseModel):
    doc_ids: list[str] | None = Field(
        default=None, description="These first, in this order (the rest keep theirs after)."
    )
    rule: OrderRule | None = Field(
        default=None, description="Or sort by a rule, e.g. validity_then_date."
    )
    version: int | None = VERSION_FIELD


class SectionBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    position: int | None = Field(default=None, ge=0)
    version: int | None = VERSION_FIELD


class SectionPatch(BaseModel):
    new_name: str | None = Field(default=None, min_length=1, max_length=200)
    position: int | None = Field(default=None, ge=0)
    version: int | None = VERSION_FIELD


class SnapshotBody(BaseModel):
    name: str = Field(min_length=1, max_length=200, description='e.g. "2024年版"')
    version: int | None = VERSION_FIELD


class RestoreBody(BaseModel):
    """Which old version to bring back (by number or snapshot name); concurrency by If-Match."""

    restore_version: int | None = Field(default=None, ge=1)
    snapshot: str | None = None


class AcceptBody(BaseModel):
    section: str | None = None
    note: str = ""
    version: int | None = VERSION_FIELD


class SeedBody(BaseModel):
    name: str = Field(min_length=1, max_length=300, description="Title, e.g. 低保政策汇编")
    terms: list[str] = Field(default_factory=list, description="e.g. 最低生活保障, 低保标准")
    doc_ids: list[str] = Field(default_factory=list, description="Seed documents (included).")
    description: str = ""
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=500, description="Most proposals.")


class MoreSeeds(BaseModel):
    terms: list[str] = Field(default_factory=list)
    doc_ids: list[str] = Field(default_factory=list)
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=500)


class SeedResponse(BaseModel):
    compilation: Compilation
    expanded_terms: list[str] = Field(description="Seed terms with thesaurus/topic expansions.")
    proposed: list[Proposal]


# --- the collection -----------------------------------------------------------------------


@router.post(
    "", status_code=201, response_model=Compilation, summary="Create a compilation (librarian)"
)
def create_compilation(
    spec: CompilationCreate, service: Service, who: Librarian, response: Response
) -> Compilation:
    created = service.create(who.name, spec)
    response.headers["Location"] = f"/compilations/{created.id}"
    return _with_etag(response, created)


@router.get(
    "",
    response_model=list[CompilationSummary],
    summary="List compilations (anonymous: published and archived only)",
)
def list_compilations(
    service: Service,
    who: Reader,
    status: Annotated[list[Status], Query(description="Only these statuses.")] = [],  # noqa: B006
) -> list[CompilationSummary]:
    if who.role >= Role.LIBRARIAN:
        return service.list_compilations(status or None)
    return service.list_compilations([s for s in PUBLIC_STATUSES if not status or s in status])


@router.post(
    "/seed",
    status_code=201,
    response_model=SeedResponse,
    summary="Seed a new compilation from terms and documents; candidates go to its inbox",
)
def seed(
    body: SeedBody,
    service: Service,
    search: Annotated[SearchService, Depends(get_search)],
    topics: Topics,
    who: Librarian,
) -> SeedResponse:
    result = seed_compilation(
        service,
        search,
        who.name,
        body.name,
        body.terms,
        body.doc_ids,
        description=body.description,
        limit=body.limit,
        topics=topics,
    )
    return SeedResponse(
        compilation=service.get(result.compilation_id),
        expanded_terms=result.expanded_terms,
        proposed=service.proposals(result.compilation_id),
    )


# --- one compilation ----------------------------------------------------------------------


@router.get("/{compilation_id}", response_model=Compilation, summary="One compilation")
def get_compilation(
    compilation_id: int, service: Service, who: Reader, response: Response
) -> Compilation:
    return _with_etag(response, _readable(service, compilation_id, who))


@router.patch(
    "/{compilation_id}",
    response_model=Compilation,
    summary="Change title, description, standing query, status, order rule or excludes",
)
def update_compilation(
    compilation_id: int,
    body: CompilationPatch,
    service: Service,
    who: Librarian,
    response: Response,
    if_match: IfMatch = None,
) -> Compilation:
    changes = CompilationUpdate.model_validate(
        body.model_dump(exclude={"version"}, exclude_unset=True)
    )
    updated = service.update(
        compilation_id, who.name, changes, expected_version(if_match, body.version)
    )
    return _with_etag(response, updated)


@router.delete("/{compilation_id}", status_code=204, summary="Delete a compilation")
def delete_compilation(
    compilation_id: int, service: Service, who: Librarian, if_match: IfMatch = None
) -> Response:
    service.delete(compilation_id, who.name, expected_version(if_match))
    return Response(status_code=204)


@router.post("/{compilation_id}/documents", response_model=Compilation, summary="Add documents")
def add_documents(
    compilation_id: int,
    body: AddDocuments,
    service: Service,
    who: Librarian,
    response: Response,
    if_match: IfMatch = None,
) -> Compilation:
    updated = service.add_documents(
        compilation_id,
        who.name,
        body.doc_ids,
        section=body.section,
        position=body.position,
        note=body.note,
        expected_version=expected_version(if_match, body.version),
    )
    return _with_etag(response, updated)


@router.delete(
    "/{compilation_id}/documents/{doc_id}",
    response_model=Compilation,
    summary="Remove a document (exclude=true: and never propose it again)",
)
def remove_document(
    compilation_id: int,
    doc_id: str,
    service: Service,
    who: Librarian,
    response: Response,
    exclude: bool = False,
    if_match: IfMatch = None,
) -> Compilation:
    updated = service.remove_document(
        compilation_id,
        who.name,
        doc_id,
        exclude=exclude,
        expected_version=expected_version(if_match),
    )
    return _with_etag(response, updated)


@router.post(
    "/{compilation_id}/documents/{doc_id}/move",
    response_model=Compilation,
    summary="Move a document to a position and/or section",
)
def move_document(
    compilation_id: int,
    doc_id: str,
    body: MoveDocument,
    service: Service,
    who: Librarian,
    response: Response,
    if_match: IfMatch = None,
) -> Compilation:
    updated = service.move_document(
        compilation_id,
        who.name,
        doc_id,
        position=body.position,
        section=body.section,
        unsectioned=body.unsectioned,
        expected_version=expected_version(if_match, body.version),
    )
    return _with_etag(response, updated)


@router.put(
    "/{compilation_id}/documents/{doc_id}/note",
    response_model=Compilation,
    summary="Set the librarian's note on a document",
)
def set_note(
    compilation_id: int,
    doc_id: str,
    body: NoteBody,
    service: Service,
    who: Librarian,
    response: Response,
    if_match: IfMatch = None,
) -> Compilation:
    updated = service.set_note(
        compilation_id, who.name, doc_id, body.note, expected_version(if_match, body.version)
    )
    return _with_etag(response, updated)


@router.put(
    "/{compilation_id}/order",
    response_model=Compilation,
    summary="Reorder: explicit ids first, or sort by a rule",
)
def set_order(
    compilation_id: int,
    body: OrderBody,
    service: Service,
    who: Librarian,
    response: Response,
    if_match: IfMatch = None,
) -> Compilation:
    version = expected_version(if_match, body.version)
    if (body.doc_ids is None) == (body.rule is None):
        raise CompilationError("give either doc_ids or rule")
    if body.rule is not None:
        updated = service.apply_order(compilation_id, who.name, body.rule, version)
    else:
        updated = service.set_order(compilation_id, who.name, body.doc_ids or [], version)
    return _with_etag(response, updated)


@router.post("/{compilation_id}/sections", response_model=Compilation, summary="Add a section")
def add_section(
    compilation_id: int,
    body: SectionBody,
    service: Service,
    who: Librarian,
    response: Response,
    if_match: IfMatch = None,
) -> Compilation:
    updated = service.add_section(
        compilation_id, who.name, body.name, body.position, expected_version(if_match, body.version)
    )
    return _with_etag(response, updated)


@router.patch(
    "/{compilation_id}/sections/{name}",
    response_model=Compilation,
    summary="Rename and/or move a section",
)
def change_section(
    compilation_id: int,
    name: str,
    body: SectionPatch,
    service: Service,
    who: Librarian,
    response: Response,
    if_match: IfMatch = None,
) -> Compilation:
    version = expected_version(if_match, body.version)
    if body.new_name is None and body.position is None:
        raise CompilationError("give new_name and/or position")
    updated = None
    if body.new_name is not None:
        updated = service.rename_section(compilation_id, who.name, name, body.new_name, version)
        name, version = body.new_name, updated.version
    if body.position is not None:
        updated = service.move_section(compilation_id, who.name, name, body.position, version)
    assert updated is not None
    return _with_etag(response, updated)


@router.delete(
    "/{compilation_id}/sections/{name}",
    response_model=Compilation,
    summary="Remove a section (its documents stay, outside any section)",
)
def remove_section(
    compilation_id: int,
    name: str,
    service: Service,
    who: Librarian,
    response: Response,
    if_match: IfMatch = None,
) -> Compilation:
    updated = service.remove_section(compilation_id, who.name, name, expected_version(if_match))
    return _with_etag(response, updated)


# --- history ------------------------------------------------------------------------------


@router.get(
    "/{compilation_id}/versions",
    response_model=list[VersionInfo],
    summary="Every version, newest first (librarian)",
)
def versions(compilation_id: int, service: Service, who: Librarian) -> list[VersionInfo]:
    return service.history(compilation_id)


@router.post(
    "/{compilation_id}/snapshots",
    status_code=201,
    response_model=VersionInfo,
    summary="Name the current version",
)
def snapshot(
    compilation_id: int,
    body: SnapshotBody,
    service: Service,
    who: Librarian,
    if_match: IfMatch = None,
) -> VersionInfo:
    return service.snapshot(
        compilation_id, who.name, body.name, expected_version(if_match, body.version)
    )


@router.post(
    "/{compilation_id}/restore",
    response_model=Compilation,
    summary="Bring back an older version as a new version",
)
def restore(
    compilation_id: int,
    body: RestoreBody,
    service: Service,
    who: Librarian,
    response: Response,
    if_match: IfMatch = None,
) -> Compilation:
    restored = service.restore(
        compilation_id,
        who.name,
        body.restore_version,
        snapshot=body.snapshot,
        expected_version=expected_version(if_match),
    )
    return _with_etag(response, restored)


# --- proposals ----------------------------------------------------------------------------


@router.get(
    "/{compilation_id}/proposals",
    response_model=list[Proposal],
    summary="The proposals inbox (librarian)",
)
def proposals(
    compilation_id: int,
    service: Service,
    who: Librarian,
    status: ProposalStatus | None = "pending",
) -> list[Proposal]:
    return service.proposals(compilation_id, status)


@router.post(
    "/{compilation_id}/proposals/{doc_id}/accept",
    response_model=Compilation,
    summary="Accept a proposal: the document is added",
)
def accept(
    compilation_id: int,
    doc_id: str,
    service: Service,
    who: Librarian,
    response: Response,
    body: AcceptBody | None = None,
    if_match: IfMatch = None,
) -> Compilation:
    body = body or AcceptBody()
    updated = service.accept(
        compilation_id,
        who.name,
        doc_id,
        section=body.section,
        note=body.note,
        expected_version=expected_version(if_match, body.version),
    )
    return _with_etag(response, updated)


@router.post(
    "/{compilation_id}/proposals/{doc_id}/reject",
    response_model=Proposal,
    summary="Reject a proposal: it is not proposed again",
)
def reject(compilation_id: int, doc_id: str, service: Service, who: Librarian) -> Proposal:
    return service.reject(compilation_id, who.name, doc_id)


@router.post(
    "/{compilation_id}/seed",
    response_model=SeedResponse,
    summary="Propose more documents from seed terms and documents",
)
def seed_more(
    compilation_id: int,
    body: MoreSeeds,
    service: Service,
    search: Annotated[SearchService, Depends(get_search)],
    topics: Topics,
    who: Librarian,
) -> SeedResponse:
    result = propose_seeded(
        service,
        search,
        who.name,
        compilation_id,
        body.terms,
        body.doc_ids,
        limit=body.limit,
        topics=topics,
    )
    return SeedResponse(
        compilation=service.get(compilation_id),
        expanded_terms=result.expanded_terms,
        proposed=[p for p in service.proposals(compilation_id) if p.doc_id in result.proposed],
    )


# --- feed ---------------------------------------------------------------------------------


@router.get(
    "/{compilation_id}/feed",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}}},
    summary="Atom feed of the compilation's newest documents",
)
def feed(
    compilation_id: int,
    request: Request,
    service: Service,
    who: Reader,
    limit: Annotated[int, Query(ge=1, le=100)] = FEED_SIZE,
) -> Response:
    compilation = _readable(service, compilation_id, who)
    backend = get_search(request).backend
    docs = [d for e in compilation.documents if not e.missing and (d := backend.get(e.doc_id))]
    docs.sort(key=lambda d: d.date_published or d.date_written or EPOCH, reverse=True)
    hits = [hit_view(SearchHit(id=d.id, score=0.0, document=d), []) for d in docs[:limit]]
    response = SearchResponse(
        query=compilation.title, total=len(docs), offset=0, limit=limit, hits=hits
    )
    base = str(request.base_url).rstrip("/")
    body = atom_feed(f"Gongkai 汇编: {compilation.title}", str(request.url), base, response)
    return Response(body, media_type="application/atom+xml")
