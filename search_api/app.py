"""The HTTP API. Routes validate input and format output; searching happens in
`search_api.service`, query building in `search_api.queries`."""

from __future__ import annotations

from contextlib import closing
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response

import gongkai
from analysis.lineage import Lineage, LineageGraph
from analysis.tokenizer import GovTokenizer
from engines import make_backend
from engines.base import SearchBackend
from gongkai.database import create_database_engine
from gongkai.document import Document
from gongkai.linking import lineage_path
from gongkai.settings import Settings
from search_api.feeds import atom_feed
from search_api.filters import SearchFilters, search_filters
from search_api.hybrid import dense_ranking_for
from search_api.limits import install_limits
from search_api.problems import install_problem_handlers
from search_api.routes import accounts, compilations, exports, topics, web
from search_api.service import SearchResponse, SearchService
from search_api.suggest import Suggestions

# Facets offered with search results (keyword fields of the index).
FACET_FIELDS = ("agency", "doc_type", "validity", "topic_top", "region")
# Deeper pages than this are refused: a cursor (search_after) is the way beyond (issue 5).
MAX_OFFSET = 10_000
FEED_SIZE = 50


def create_app(settings: Settings, backend: SearchBackend | None = None) -> FastAPI:
    """Build the app for ``settings``; ``backend`` is given by tests that share one."""
    app = FastAPI(
        title="Gongkai",
        version=gongkai.__version__,
        description="Search published Chinese government information (政府信息公开).",
    )
    engine = backend if backend is not None else make_backend(settings)
    app.state.settings = settings
    app.state.service = SearchService(engine, GovTokenizer(), settings.max_query_chars)
    # Editorial state (users, compilations, topics, audit): one engine per app, shared by routes.
    app.state.database = create_database_engine(settings)
    # Optional dense stage: idle (model never loaded) until `gongkai index embed` stored vectors.
    app.state.service.dense = dense_ranking_for(settings, app.state.database)
    install_problem_handlers(app)
    install_limits(app, settings)

    @app.get("/search", response_model=SearchResponse, summary="Ranked search with snippets")
    async def search(
        service: Annotated[SearchService, Depends(get_service)],
        filters: Annotated[SearchFilters, Depends(search_filters)],
        q: Annotated[
            str,
            Query(
                description='Words, "exact phrases", AND/OR/NOT, -word, title:/agency:/docno:',
                max_length=10_000,
            ),
        ] = "",
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        sort: Annotated[Literal["relevance", "newest"], Query()] = "relevance",
        facets: Annotated[bool, Query(description="Count values of the facet fields.")] = False,
        cursor: Annotated[
            str | None,
            Query(
                max_length=2048,
                description="next_cursor of the previous page (same q, sort and filters); "
                "replaces offset and goes beyond its cap.",
            ),
        ] = None,
        recency: Annotated[
            float,
            Query(
                ge=0,
                le=100,
                description="Favour newer documents: half-life in years (e.g. 5); 0 = off.",
            ),
        ] = 0.0,
    ) -> SearchResponse:
        if cursor is None and offset + limit > MAX_OFFSET:
            # OpenSearch refuses from + size beyond its result window; say so for every engine.
            raise HTTPException(
                422, f"offset + limit must be at most {MAX_OFFSET}; page deeper with cursor="
            )
        return service.search(
            q,
            limit=limit,
            offset=offset,
            sort=sort,
            filters=filters.fields,
            year_from=filters.year_from,
            year_to=filters.year_to,
            facets=list(FACET_FIELDS) if facets else None,
            cursor=cursor,
            recency=recency,
        )

    @app.get("/documents/{doc_id}", response_model=Document, summary="One document")
    async def get_document(
        doc_id: str, service: Annotated[SearchService, Depends(get_service)]
    ) -> Document:
        doc = service.backend.get(doc_id)
        if doc is None:
            raise HTTPException(status_code=404, detail=f"no document with id {doc_id!r}")
        return doc

    @app.get(
        "/documents/{doc_id}/lineage",
        response_model=Lineage,
        summary="What a document cites, what cites it, its versions and what replaced it",
    )
    async def get_lineage(
        doc_id: str, service: Annotated[SearchService, Depends(get_service)]
    ) -> Lineage:
        if service.backend.get(doc_id) is None:
            raise HTTPException(status_code=404, detail=f"no document with id {doc_id!r}")
        return lineage_of(settings, doc_id)

    @app.get(
        "/documents/{doc_id}/similar",
        response_model=SearchResponse,
        summary="Documents like this one (its keywords and title words)",
    )
    async def similar_documents(
        doc_id: str,
        service: Annotated[SearchService, Depends(get_service)],
        limit: Annotated[int, Query(ge=1, le=50)] = 10,
    ) -> SearchResponse:
        doc = service.backend.get(doc_id)
        if doc is None:
            raise HTTPException(status_code=404, detail=f"no document with id {doc_id!r}")
        return service.similar(doc, limit=limit)

    @app.get(
        "/feeds/search",
        response_class=Response,
        responses={200: {"content": {"application/atom+xml": {}}}},
        summary="Atom feed of the newest documents matching a search",
    )
    async def search_feed(
        request: Request,
        service: Annotated[SearchService, Depends(get_service)],
        q: Annotated[str, Query(max_length=10_000)] = "",
        limit: Annotated[int, Query(ge=1, le=100)] = FEED_SIZE,
    ) -> Response:
        response = service.search(q, limit=limit, sort="newest")
        base = str(request.base_url).rstrip("/")
        body = atom_feed(f"Gongkai: {q or '最新文件'}", str(request.url), base, response)
        return Response(body, media_type="application/atom+xml")

    @app.get("/suggest", response_model=Suggestions, summary="As-you-type completion")
    async def suggest(
        service: Annotated[SearchService, Depends(get_service)],
        q: Annotated[str, Query(max_length=200, description="What has been typed so far.")] = "",
        limit: Annotated[int, Query(ge=1, le=20)] = 10,
    ) -> Suggestions:
        return service.suggester.complete(q, limit)

    @app.get("/healthz", summary="Engine and document count")
    async def healthz(service: Annotated[SearchService, Depends(get_service)]) -> dict[str, Any]:
        return {"status": "ok", **service.backend.health()}

    # After the public API's own routes: a request is matched against routes in order, and
    # /search is the one that must be found fastest.
    app.include_router(accounts.router)
    app.include_router(compilations.router)
    app.include_router(exports.router)
    app.include_router(topics.router)
    app.include_router(web.router)
    return app


def app_from_environment() -> FastAPI:
    """The app of one `gongkai serve --workers N` process: settings come from the environment
    the command set up (`gongkai.settings.settings_environment`)."""
    return create_app(Settings())


def lineage_of(settings: Settings, doc_id: str) -> Lineage:
    """The lineage view of one document (empty when nothing has been linked yet)."""
    path = lineage_path(settings.data_dir)
    if path.exists():
        with closing(LineageGraph(path)) as graph:
            found = graph.lineage(doc_id)
        if found is not None:
            return found
    return Lineage(id=doc_id, cites=[], cited_by=[], versions=[], replaced_by=[])


async def get_service(request: Request) -> SearchService:
    # async like `search_filters`: no thread hand-off for a dependency that does no I/O.
    service = request.app.state.service
    assert isinstance(service, SearchService)
    return service
