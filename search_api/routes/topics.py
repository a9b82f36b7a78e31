"""Routes: /topics — discovered topics (read-only and public), their pictures, and rebuilds
(librarian or admin).

Picture routes are declared before ``/topics/{topic_id}`` so ``/topics/map.png`` is never read
as a topic id. Handlers that touch the database, joblib files or matplotlib are plain ``def``:
FastAPI runs them in its thread pool, off the event loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from compilations.topics.errors import NoTopicModel, TopicNotFound
from compilations.topics.service import DEFAULT_SET, BuildSummary, build_topics, models_dir
from gongkai.audit import AuditLog
from search_api.auth import Principal, Role, require_role

# The topic store (joblib) and pictures (matplotlib) are imported in the handlers: start-up time.
if TYPE_CHECKING:
    from compilations.topics.store import TopicRecord, TopicStore

router = APIRouter(tags=["topics"])

ImageFormat = Literal["png", "svg"]
MEDIA = {"png": "image/png", "svg": "image/svg+xml"}
SetName = Annotated[str, Query(alias="set", max_length=200, description="Topic set.")]


class RepresentativeView(BaseModel):
    id: str
    title: str


class TopicView(BaseModel):
    id: int
    label: str
    size: int
    terms: list[tuple[str, float]]
    representatives: list[RepresentativeView]


class TopicListView(BaseModel):
    set: str
    build: int
    created_at: datetime
    method: str
    documents: int
    unassigned: int
    topics: list[TopicView]


class TopicMember(BaseModel):
    id: str
    score: float


class TopicDetailView(TopicView):
    set: str
    build: int
    years: dict[int, int]
    documents: list[TopicMember]
    offset: int
    limit: int


class BuildRequest(BaseModel):
    k: int | None = Field(default=None, ge=1, le=1000, description="Topics (kmeans).")
    method: Literal["kmeans", "hdbscan"] = "kmeans"
    query: str | None = Field(default=None, max_length=1000, description="Only its results.")
    set: str | None = Field(default=None, max_length=200)
    max_docs: int = Field(default=10_000, ge=1, le=1_000_000)


def get_store(request: Request) -> TopicStore:
    from compilations.topics.store import TopicStore

    engine: Engine = request.app.state.database
    return TopicStore(engine, models_dir(request.app.state.settings))


# At run time TopicStore is not imported; FastAPI needs only the dependency, mypy the type.
if TYPE_CHECKING:
    Store = Annotated[TopicStore, Depends(get_store)]
else:
    Store = Annotated[Any, Depends(get_store)]


@contextmanager
def _not_found() -> Iterator[None]:
    """No build yet, or no such topic: 404 (other topic errors stay 400)."""
    try:
        yield
    except (NoTopicModel, TopicNotFound) as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc


def _view(t: TopicRecord) -> TopicView:
    return TopicView(
        id=t.topic_id,
        label=t.label,
        size=t.size,
        terms=t.terms,
        representatives=[RepresentativeView(**r) for r in t.representatives],
    )


@router.get("/topics", response_model=TopicListView, summary="Topics of the current build")
def list_topics(store: Store, set_name: SetName = DEFAULT_SET) -> TopicListView:
    with _not_found():
        build = store.current_build(set_name)
    return TopicListView(
        set=build.set_name,
        build=build.id,
        created_at=build.created_at,
        method=build.method,
        documents=build.n_documents,
        unassigned=build.n_unassigned,
        topics=[_view(t) for t in build.topics],
    )


def _map(store: TopicStore, set_name: str, fmt: ImageFormat) -> Response:
    from compilations.topics.pictures import topic_map

    with _not_found():
        build = store.current_build(set_name)
        sample = store.load_map(build)
    return Response(topic_map(sample, build.topics, fmt=fmt), media_type=MEDIA[fmt])


def _timeline(store: TopicStore, set_name: str, fmt: ImageFormat, top: int) -> Response:
    from compilations.topics.pictures import topic_timeline

    with _not_found():
        build = store.current_build(set_name)
    picture = topic_timeline(store.year_counts(build.id), build.topics, fmt=fmt, top=top)
    return Response(picture, media_type=MEDIA[fmt])


_PICTURE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/png": {}, "image/svg+xml": {}}}
}
Top = Annotated[int, Query(ge=1, le=20, description="Largest topics drawn.")]


@router.get("/topics/map", response_class=Response, responses=_PICTURE, summary="Topic map")
def map_picture(
    store: Store, set_name: SetName = DEFAULT_SET, format: ImageFormat = "png"
) -> Response:
    return _map(store, set_name, format)


@router.get(
    "/topics/map.{fmt}", response_class=Response, responses=_PICTURE, include_in_schema=False
)
def map_picture_ext(store: Store, fmt: ImageFormat, set_name: SetName = DEFAULT_SET) -> Response:
    return _map(store, set_name, fmt)


@router.get(
    "/topics/timeline", response_class=Response, responses=_PICTURE, summary="Topic timeline"
)
def timeline_picture(
    store: Store,
    set_name: SetName = DEFAULT_SET,
    format: ImageFormat = "png",
    top: Top = 8,
) -> Response:
    return _timeline(store, set_name, format, top)


@router.get(
    "/topics/timeline.{fmt}", response_class=Response, responses=_PICTURE, include_in_schema=False
)
def timeline_picture_ext(
    store: Store, fmt: ImageFormat, set_name: SetName = DEFAULT_SET, top: Top = 8
) -> Response:
    return _timeline(store, set_name, fmt, top)


@router.get("/topics/{topic_id}", response_model=TopicDetailView, summary="One topic")
def get_topic(
    store: Store,
    topic_id: int,
    set_name: SetName = DEFAULT_SET,
    limit: Annotated[int, Query(ge=0, le=500, description="Member documents.")] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TopicDetailView:
    with _not_found():
        build, topic = store.topic(set_name, topic_id)
    members = store.documents_of(build.id, topic_id, limit=limit, offset=offset)
    return TopicDetailView(
        **_view(topic).model_dump(),
        set=build.set_name,
        build=build.id,
        years=store.year_counts(build.id).get(topic_id, {}),
        documents=[TopicMember(id=d, score=s) for d, s in members],
        offset=offset,
        limit=limit,
    )


@router.post(
    "/topics/builds", response_model=BuildSummary, status_code=201, summary="Rebuild topics"
)
def rebuild_topics(
    request: Request,
    store: Store,
    body: BuildRequest,
    principal: Annotated[Principal, Depends(require_role(Role.LIBRARIAN))],
) -> BuildSummary:
    """Cluster the whole index (or a query's results) again; ids of unchanged topics stay."""
    from search_api.topic_corpus import query_documents

    service = request.app.state.service
    backend, tokenizer = service.backend, service.tokenizer
    docs: Any = (
        query_documents(backend, tokenizer, body.query, body.max_docs)
        if body.query
        else backend.iter_documents()
    )
    set_name = body.set or (body.query if body.query else DEFAULT_SET)
    previous = store.current_build_id(set_name)
    summary = build_topics(
        request.app.state.settings,
        store,
        docs,
        tokenizer=tokenizer,
        method=body.method,
        k=body.k,
        set_name=set_name,
        query=body.query,
    )
    AuditLog(store.engine).record(
        principal.name,
        "topics.build",
        f"topic-set:{set_name}",
        before={"build_id": previous} if previous is not None else None,
        after=summary.as_dict(),
    )
    return summary
