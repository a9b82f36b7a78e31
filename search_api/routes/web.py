"""Routes: the web pages (search, document, login, librarian workspace).

Handlers only read the request, ask the services and pick a template; what a page shows is
computed in `search_api.web.pages`, rendering and security headers in `search_api.web.render`.
Page handlers are plain ``def``: the engine calls block, so they run in the thread pool.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from analysis.highlight import highlight_whole
from engines.base import KEYWORD_FIELDS, EngineError, EngineUnavailable
from search_api.auth import (
    CSRF_FIELD,
    SESSION_COOKIE,
    Principal,
    Role,
    check_csrf,
    clear_session_cookie,
    current_principal,
    get_accounts,
    set_session_cookie,
)
from search_api.queries import build_search_query
from search_api.routes import workspace
from search_api.routes.compilations import get_compilations
from search_api.service import SearchResponse, SearchService
from search_api.web import pages
from search_api.web.context import page_context, signed_in
from search_api.web.errors import PageRoute
from search_api.web.render import STATIC_DIR, marked, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)
router.include_router(workspace.router)

SIMILAR_SIZE = 5
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}


def _service(request: Request) -> SearchService:
    service = request.app.state.service
    assert isinstance(service, SearchService)
    return service


Caller = Annotated[Principal, Depends(current_principal)]


@router.get("/", response_class=HTMLResponse)
def search_page(request: Request, principal: Caller) -> Response:
    params = {k: request.query_params.getlist(k) for k in request.query_params}
    form = pages.SearchForm.from_query(params)
    response = _search(_service(request), form)
    feed_query = [("q", form.q)] if form.q else []
    context = page_context(request, principal, f"{form.q} - 搜索" if form.q else "政府信息公开检索")
    context.update(
        form=form,
        response=response,
        hits=[
            {
                "hit": hit,
                "url": pages.doc_url(hit.id, form.q),
                "validity_label": pages.VALIDITY_LABELS.get(hit.validity, hit.validity),
                "validity_class": pages.VALIDITY_CLASSES.get(hit.validity, "unknown"),
            }
            for hit in response.hits
        ],
        facet_groups=pages.facet_groups(form, response.facets),
        active_filters=pages.active_filters(form),
        pagination=pages.pagination(form, response.total),
        did_you_mean=[(term, pages.SearchForm(q=term).url()) for term in response.did_you_mean],
        feed_url="/feeds/search" + ("?" + urlencode(feed_query) if feed_query else ""),
        first_rank=form.offset + 1,
        targets=_compilation_targets(request, principal),
    )
    return render("search.html", context)


def _search(service: SearchService, form: pages.SearchForm) -> SearchResponse:
    year_from, year_to = form.year_range

    def run(facets: list[str]) -> SearchResponse:
        return service.search(
            form.q,
            limit=pages.PAGE_SIZE,
            offset=form.offset,
            sort=form.sort,
            filters={k: list(v) for k, v in form.filters.items()},
            year_from=year_from,
            year_to=year_to,
            facets=facets,
        )

    try:
        return run(list(pages.FACETS))
    except EngineUnavailable:
        raise
    except EngineError:
        # Counting years is not in the engine contract (KEYWORD_FIELDS): the embedded engine
        # does it, OpenSearch refuses before any request. Without it, the year range stays.
        return run([f for f in pages.FACETS if f in KEYWORD_FIELDS])


@router.get("/doc/{doc_id}", response_class=HTMLResponse)
def document_page(request: Request, principal: Caller, doc_id: str, q: str = "") -> Response:
    service = _service(request)
    doc = service.backend.get(doc_id)
    if doc is None:
        context = page_context(request, principal, "未找到文件")
        context["doc_id"] = doc_id
        return render("not_found.html", context, status_code=404)
    q = q.strip()[: pages.MAX_QUERY_CHARS]
    terms = (
        pages.highlight_terms(build_search_query(q, service.tokenizer, service.thesaurus))
        if q
        else []
    )
    # Imported here: search_api.app imports this module while it is being built.
    from search_api.app import lineage_of

    lineage = lineage_of(request.app.state.settings, doc.id)
    titles = {}
    for other in pages.lineage_ids(lineage):
        found = service.backend.get(other)
        if found is not None:
            titles[other] = found.title
    similar = service.similar(doc, limit=SIMILAR_SIZE)
    body: list[Markup] = [_highlighted(p, terms) for p in pages.paragraphs(doc.body)]
    context = page_context(request, principal, doc.title or doc.id)
    context.update(
        doc=doc,
        q=q,
        back_url=pages.SearchForm(q=q).url() if q else None,
        paragraphs=body,
        metadata=pages.metadata_rows(doc),
        validity_label=pages.VALIDITY_LABELS.get(doc.validity.status, doc.validity.status),
        validity_class=pages.VALIDITY_CLASSES.get(doc.validity.status, "unknown"),
        evidence=pages.evidence_text(doc.validity.evidence),
        source_url=pages.safe_link(doc.url),
        attachments=[
            {"name": a.name, "url": pages.safe_link(a.url), "raw_url": a.url}
            for a in doc.attachments
        ],
        lineage=pages.lineage_view(doc, lineage, titles),
        similar=[(hit, pages.doc_url(hit.id)) for hit in similar.hits],
        targets=_compilation_targets(request, principal),
    )
    return render("document.html", context)


def _compilation_targets(request: Request, principal: Principal) -> list[tuple[int, str]]:
    """Compilations a signed-in librarian can add documents to (none for the public)."""
    if not signed_in(principal):
        return []
    listed = get_compilations(request).list_compilations(["draft", "published"])
    return [(c.id, c.title) for c in listed]


def _highlighted(paragraph: str, terms: list[str]) -> Markup:
    if not terms:
        return Markup.escape(paragraph)
    return marked(highlight_whole(paragraph, terms))


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    # Only the files shipped in search_api/web/static, by exact name: no paths, no traversal.
    shipped = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()}
    path = shipped.get(name)
    if path is None or path.suffix not in STATIC_TYPES:
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(
        path,
        media_type=STATIC_TYPES[path.suffix],
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


# --- signing in -----------------------------------------------------------------------------

# Before login there is no session to derive a CSRF token from: the login form carries a random
# token that must equal this cookie's (double submit; a cross-site page can read neither).
LOGIN_CSRF_COOKIE = "gongkai_login_csrf"
LOGIN_CSRF_MAX_AGE_S = 3600


def _safe_next(target: str) -> str:
    """Only a path on this site (not //evil.example or a full URL) is followed after login."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/workspace"


def _login_form(
    request: Request, principal: Principal, next_url: str, error: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(32)
    context = page_context(request, principal, "馆员登录")
    context.update(login_csrf=token, next_url=_safe_next(next_url), error=error)
    response = render("login.html", context, status_code=status)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=LOGIN_CSRF_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.cookie_secure,
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, principal: Caller, next: str = "/workspace") -> Response:
    if principal.is_authenticated and principal.role >= Role.LIBRARIAN:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_form(request, principal, next)


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    principal: Caller,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "/workspace",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf.encode()):
        return _login_form(request, principal, next_url, "登录表单已过期，请重新输入。", 403)
    accounts = get_accounts(request)
    opened = accounts.login(name.strip(), password) if name.strip() and password else None
    if opened is None:
        return _login_form(request, principal, next_url, "用户名或密码错误。", 401)
    signed_in, token = opened
    if signed_in.role < Role.LIBRARIAN:
        accounts.close_session(token)
        return _login_form(request, principal, next_url, "该账号没有馆员权限。", 403)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        accounts.close_session(previous)  # a fresh session at every login (no fixation)
    response = RedirectResponse(_safe_next(next_url), status_code=303)
    set_session_cookie(response, token, request.app.state.settings)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout_submit(
    request: Request,
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
) -> Response:
    session = request.cookies.get(SESSION_COOKIE)
    accounts = get_accounts(request)
    if session and accounts.session_principal(session) is not None:
        if not check_csrf(request, session, csrf):
            return Response("CSRF token missing or wrong", status_code=403, media_type="text/plain")
        accounts.close_session(session)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response, request.app.state.settings)
    return response
