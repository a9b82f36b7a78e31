"""Routes: the librarian workspace pages under ``/workspace`` (mounted by `routes.web`).

Plain HTML forms, no script needed: every change is a POST with the session's CSRF token
(checked by `require_role`, which also refuses callers below librarian), answered by a redirect
back to the page (post/redirect/get), whose ``msg`` code picks a fixed message. Reading pages
send a signed-out visitor to the login page instead of answering 401.

The editing itself is `compilations.service.CompilationService`; every form carries the
version it was drawn from, so a change made meanwhile by another librarian is reported as a
conflict instead of being overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from compilations.errors import (
    CompilationError,
    CompilationNotFound,
    EntryNotFound,
    VersionConflict,
    VersionNotFound,
)
from compilations.models import (
    CompilationCreate,
    CompilationUpdate,
    OrderRule,
    StandingQuery,
    Status,
)
from compilations.seeding import propose_seeded, seed_compilation
from compilations.service import CompilationService
from search_api.auth import Principal, Role, current_principal, require_role
from search_api.routes.compilations import get_compilations
from search_api.service import SearchService
from search_api.web import workspace as views
from search_api.web.context import page_context, signed_in
from search_api.web.errors import PageRoute
from search_api.web.pages import doc_url
from search_api.web.render import render

router = APIRouter(prefix="/workspace", include_in_schema=False, route_class=PageRoute)

Caller = Annotated[Principal, Depends(current_principal)]
# Writes: librarian or admin, and (for the session cookie) a valid CSRF token in the form.
Librarian = Annotated[Principal, Depends(require_role(Role.LIBRARIAN))]
Compilations = Annotated[CompilationService, Depends(get_compilations)]
Version = Annotated[int | None, Form(ge=1)]
# Documents whose validity the editor looks up for its badges (one index read each).
VALIDITY_LOOKUPS = 500


def _search(request: Request) -> SearchService:
    service = request.app.state.service
    assert isinstance(service, SearchService)
    return service


def _context(request: Request, principal: Principal, title: str) -> dict[str, Any]:
    return page_context(request, principal, title)


def _login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)


def editor_url(compilation_id: int, msg: str = "", page: str = "") -> str:
    path = f"/workspace/compilations/{compilation_id}" + (f"/{page}" if page else "")
    return f"{path}?msg={msg}" if msg else path


def _error_page(request: Request, principal: Principal, exc: CompilationError) -> Response:
    if isinstance(exc, VersionConflict):
        message = (
            "此汇编在您打开页面后已被修改（可能是其他馆员），您的更改没有保存。"
            "请查看最新内容后重试。"
        )
    elif isinstance(exc, CompilationNotFound):
        message = "没有找到这个汇编，它可能已被删除。"
    elif isinstance(exc, EntryNotFound | VersionNotFound):
        message = "没有找到要修改的文件、分节或版本。"
    else:
        message = "无法完成此操作。"
    context = _context(request, principal, "操作未完成")
    context.update(message=message, detail=str(exc), back=request.headers.get("referer"))
    return render("workspace/error.html", context, status_code=exc.http_status)


def _apply(
    request: Request, principal: Principal, action: Callable[[], object], success: str
) -> Response:
    """Run one change; on success go to ``success``, on a refusal show why."""
    try:
        action()
    except CompilationError as exc:
        return _error_page(request, principal, exc)
    return RedirectResponse(success, status_code=303)


# --- overview and creating -------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, principal: Caller, service: Compilations) -> Response:
    if not signed_in(principal):
        return _login_redirect(request)
    context = _context(request, principal, "馆员工作台")
    context.update(
        compilations=service.list_compilations(),
        status_labels=views.STATUS_LABELS,
    )
    return render("workspace/dashboard.html", context)


@router.post("/compilations")
def create_compilation(
    request: Request,
    principal: Librarian,
    service: Compilations,
    title: Annotated[str, Form(max_length=300)] = "",
    description: Annotated[str, Form(max_length=20_000)] = "",
    seeds: Annotated[str, Form(max_length=5_000)] = "",
    sections: Annotated[str, Form(max_length=5_000)] = "",
) -> Response:
    title = title.strip()
    if not title:
        return _error_page(request, principal, CompilationError("a compilation needs a title"))
    terms = views.parse_lines(seeds)
    try:
        if terms:
            # Seed terms become the standing query; ranked candidates go to the inbox.
            seeded = seed_compilation(
                service, _search(request), principal.name, title, terms, description=description
            )
            compilation_id = seeded.compilation_id
            for name in views.parse_lines(sections):
                service.add_section(compilation_id, principal.name, name)
        else:
            spec = CompilationCreate(
                title=title, description=description, sections=views.parse_lines(sections)
            )
            compilation_id = service.create(principal.name, spec).id
    except CompilationError as exc:
        return _error_page(request, principal, exc)
    except ValueError as exc:  # pydantic: e.g. a section name too long
        return _error_page(request, principal, CompilationError(str(exc)))
    return RedirectResponse(editor_url(compilation_id, "created"), status_code=303)


# --- the editor ------------------------------------------------------------------------------


@router.get("/compilations/{compilation_id}", response_class=HTMLResponse)
def editor(
    request: Request, principal: Caller, service: Compilations, compilation_id: int, msg: str = ""
) -> Response:
    if not signed_in(principal):
        return _login_redirect(request)
    try:
        compilation = service.get(compilation_id)
        pending = service.proposals(compilation_id)
    except CompilationError as exc:
        return _error_page(request, principal, exc)
    backend = _search(request).backend
    validity = {}
    for entry in compilation.documents[:VALIDITY_LOOKUPS]:
        doc = None if entry.missing else backend.get(entry.doc_id)
        if doc is not None:
            validity[entry.doc_id] = doc.validity.status
    context = _context(request, principal, f"编辑汇编：{compilation.title}")
    context.update(
        compilation=compilation,
        sections=views.sections_view(compilation, validity),
        pending=len(pending),
        message=views.MESSAGES.get(msg),
        exports=[
            (label, f"/compilations/{compilation.id}/export?format={fmt}")
            for fmt, label in views.EXPORT_FORMATS
        ],
        feed_url=f"/compilations/{compilation.id}/feed",
        feed_title=f"订阅汇编《{compilation.title}》（Atom）",
        status_choices=views.status_choices(compilation.status),
        order_rules=views.ORDER_RULE_LABELS,
        search_url="/?" + urlencode({"q": compilation.query.q}) if compilation.query.q else "/",
    )
    return render("workspace/editor.html", context)


@router.post("/compilations/{compilation_id}/settings")
def save_settings(
    request: Request,
    principal: Librarian,
    service: Compilations,
    compilation_id: int,
    title: Annotated[str, Form(max_length=300)] = "",
    description: Annotated[str, Form(max_length=20_000)] = "",
    q: Annotated[str, Form(max_length=1000)] = "",
    status: Annotated[Status, Form()] = "draft",
    order_rule: Annotated[OrderRule, Form()] = "manual",
    version: Version = None,
) -> Response:
    def change() -> object:
        current = service.get(compilation_id)
        query = current.query.model_copy(update={"q": q.strip()})
        return service.update(
            compilation_id,
            principal.name,
            CompilationUpdate(
                title=title.strip() or None,
                description=description,
                query=StandingQuery.model_validate(query.model_dump()),
                status=status,
                order_rule=order_rule,
            ),
            expected_version=version,
        )

    return _apply(request, principal, change, editor_url(compilation_id, "saved"))


@router.post("/compilations/{compilation_id}/add")
def add_documents(
    request: Request,
    principal: Librarian,
    service: Compilations,
    compilation_id: int,
    doc_id: Annotated[list[str], Form()],
    section: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    # No version: adding is safe whatever changed meanwhile (ids already there stay put).
    return _apply(
        request,
        principal,
        lambda: service.add_documents(
            compilation_id, principal.name, doc_id[:200], section=section or None
        ),
        editor_url(compilation_id, "added"),
    )


@router.post("/add")
def add_from_results(
    request: Request,
    principal: Librarian,
    service: Compilations,
    compilation_id: Annotated[int, Form()],
    doc_id: Annotated[list[str], Form()] = [],  # noqa: B006
) -> Response:
    """The search results' and document page's "加入汇编": the compilation is a form field."""
    if not doc_id:
        return _error_page(request, principal, CompilationError("no documents were ticked"))
    return add_documents(request, principal, service, compilation_id, doc_id)


@router.post("/compilations/{compilation_id}/entry")
def change_entry(
    request: Request,
    principal: Librarian,
    service: Compilations,
    compilation_id: int,
    doc_id: Annotated[str, Form(max_length=200)],
    action: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=5_000)] = "",
    section: Annotated[str, Form(max_length=200)] = "",
    version: Version = None,
) -> Response:
    name = principal.name

    def change() -> object:
        if action in ("up", "down"):
            entries = service.get(compilation_id).documents
            order = views.moved_order(entries, doc_id, "up" if action == "up" else "down")
            if order is None:
                return None  # already first/last in its section: nothing to do
            return service.set_order(compilation_id, name, order, expected_version=version)
        if action == "remove":
            return service.remove_document(compilation_id, name, doc_id, expected_version=version)
        if action == "note":
            return service.set_note(compilation_id, name, doc_id, note, expected_version=version)
        if action == "section":
            return service.move_document(
                compilation_id,
                name,
                doc_id,
                section=section or None,
                unsectioned=not section,
                expected_version=version,
            )
        raise CompilationError(f"unknown action {action!r}")

    messages = {"up": "moved", "down": "moved", "remove": "removed"}
    return _apply(
        request,
        principal,
        change,
        editor_url(compilation_id, messages.get(action, action)) + f"#entry-{quote(doc_id)}",
    )


@router.post("/compilations/{compilation_id}/reorder")
def reorder(
    request: Request,
    principal: Librarian,
    service: Compilations,
    compilation_id: int,
    order: Annotated[str, Form(max_length=200_000)] = "",
    version: Version = None,
) -> Response:
    def change() -> object:
        known = [e.doc_id for e in service.get(compilation_id).documents]
        ids = views.parse_order(order, known)
        if not ids:
            return None
        return service.set_order(compilation_id, principal.name, ids, expected_version=version)

    return _apply(request, principal, change, editor_url(compilation_id, "moved"))


@router.post("/compilations/{compilation_id}/sections")
def add_section(
    request: Request,
    principal: Librarian,
    service: Compilations,
    compilation_id: int,
    name: Annotated[str, Form(max_length=200)] = "",
    version: Version = None,
) -> Response:
    return _apply(
        request,
        principal,
        lambda: service.add_section(
            compilation_id, principal.name, name.strip(), expected_version=version
        ),
        editor_url(compilation_id, "section-added"),
    )


# --- proposals inbox -------------------------------------------------------------------------


@router.get("/compilations/{compilation_id}/proposals", response_class=HTMLResponse)
def proposals_page(
    request: Request, principal: Caller, service: Compilations, compilation_id: int, msg: str = ""
) -> Response:
    if not signed_in(principal):
        return _login_redirect(request)
    try:
        compilation = service.get(compilation_id)
        pending = service.proposals(compilation_id)
    except CompilationError as exc:
        return _error_page(request, principal, exc)
    context = _context(request, principal, f"待审文件：{compilation.title}")
    context.update(
        compilation=compilation,
        proposals=[(p, doc_url(p.doc_id)) for p in pending],
        message=views.MESSAGES.get(msg),
    )
    return render("workspace/proposals.html", context)


@router.post("/compilations/{compilation_id}/proposals")
def decide_proposal(
    request: Request,
    principal: Librarian,
    service: Compilations,
    compilation_id: int,
    doc_id: Annotated[str, Form(max_length=200)],
    decision: Annotated[str, Form(max_length=10)],
    section: Annotated[str, Form(max_length=200)] = "",
    version: Version = None,
) -> Response:
    def change() -> object:
        if decision == "accept":
            return service.accept(
                compilation_id,
                principal.name,
                doc_id,
                section=section or None,
                expected_version=version,
            )
        if decision == "reject":
            return service.reject(compilation_id, principal.name, doc_id)
        raise CompilationError(f"unknown decision {decision!r}")

    msg = "accepted" if decision == "accept" else "rejected"
    return _apply(request, principal, change, editor_url(compilation_id, msg, "proposals"))


@router.post("/compilations/{compilation_id}/seed")
def seed_more(
    request: Request,
    principal: Librarian,
    service: Compilations,
    compilation_id: int,
    seeds: Annotated[str, Form(max_length=5_000)] = "",
) -> Response:
    terms = views.parse_lines(seeds)
    return _apply(
        request,
        principal,
        lambda: propose_seeded(service, _search(request), principal.name, compilation_id, terms),
        editor_url(compilation_id, "proposed", "proposals"),
    )


# --- history -------------------------------------------------------------------------------


@router.get("/compilations/{compilation_id}/history", response_class=HTMLResponse)
def history_page(
    request: Request, principal: Caller, service: Compilations, compilation_id: int, msg: str = ""
) -> Response:
    if not signed_in(principal):
        return _login_redirect(request)
    try:
        compilation = service.get(compilation_id)
        versions = service.history(compilation_id)
    except CompilationError as exc:
        return _error_page(request, principal, exc)
    context = _context(request, principal, f"版本历史：{compilation.title}")
    context.update(
        compilation=compilation,
        versions=[(v, views.action_label(v.action)) for v in versions],
        message=views.MESSAGES.get(msg),
    )
    return render("workspace/history.html", context)


@router.post("/compilations/{compilation_id}/restore")
def restore(
    request: Request,
    principal: Librarian,
    service: Compilations,
    compilation_id: int,
    restore_version: Annotated[int, Form(ge=1)],
    version: Version = None,
) -> Response:
    return _apply(
        request,
        principal,
        lambda: service.restore(
            compilation_id, principal.name, restore_version, expected_version=version
        ),
        editor_url(compilation_id, "restored"),
    )


@router.post("/compilations/{compilation_id}/snapshot")
def snapshot(
    request: Request,
    principal: Librarian,
    service: Compilations,
    compilation_id: int,
    name: Annotated[str, Form(max_length=200)] = "",
    version: Version = None,
) -> Response:
    return _apply(
        request,
        principal,
        lambda: service.snapshot(compilation_id, principal.name, name, expected_version=version),
        editor_url(compilation_id, "snapshot", "history"),
    )


# --- topics --------------------------------------------------------------------------------


@router.get("/topics", response_class=HTMLResponse)
def topics_page(request: Request, principal: Caller) -> Response:
    if not signed_in(principal):
        return _login_redirect(request)
    from compilations.topics.errors import NoTopicModel
    from compilations.topics.service import DEFAULT_SET
    from search_api.routes.topics import get_store

    store = get_store(request)
    context = _context(request, principal, "专题发现")
    try:
        build = store.current_build(DEFAULT_SET)
    except NoTopicModel:
        context.update(build=None, topics=[])
        return render("workspace/topics.html", context)
    years = store.year_counts(build.id)
    topics = []
    for topic in build.topics:
        topics.append(
            {
                "topic": topic,
                "terms": [t for t, _ in topic.terms[:10]],
                "search_url": "/?" + urlencode({"q": " OR ".join(t for t, _ in topic.terms[:3])}),
                "representatives": [(r["title"], doc_url(r["id"])) for r in topic.representatives],
                "years": sorted(years.get(topic.topic_id, {}).items()),
            }
        )
    context.update(build=build, topics=topics)
    return render("workspace/topics.html", context)
