"""CLI: gongkai compile — curated compilations, as the /compilations API offers them.

The CLI runs where the database is, so it is trusted (no login), but every change records who
made it: ``--as NAME``, else the environment's ``GONGKAI_USER``, else ``cli:<os user>``.
Changes may carry ``--expect N`` (the version you looked at): if someone changed the
compilation since, the command fails with a clear message and changes nothing.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from compilations.errors import InvalidChange
from compilations.models import (
    Compilation,
    CompilationCreate,
    CompilationUpdate,
    OrderRule,
    ProposalStatus,
    StandingQuery,
    Status,
)
from compilations.service import CompilationService
from engines.base import EngineError, SearchBackend
from gongkai.database import create_database_engine
from gongkai.settings import Settings
from search_api.commands import settings_from

app = typer.Typer(
    help="Curated compilations (专题汇编): create, add and order documents, sections, notes, "
    "snapshots and restore, the proposals inbox, seeding from terms and documents.\n\n"
    "Every change is a new version recorded with its author (--as NAME or GONGKAI_USER).",
    no_args_is_help=True,
)
section_app = typer.Typer(help="Sections of a compilation: add, rename, move, remove.")
app.add_typer(section_app, name="section")

err = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)

Id = Annotated[int, typer.Argument(help="Compilation id (see `gongkai compile list`).")]
As = Annotated[
    str | None,
    typer.Option("--as", envvar="GONGKAI_USER", help="Author recorded for the change."),
]
Expect = Annotated[
    int | None,
    typer.Option("--expect", min=1, help="Fail unless the compilation is still at this version."),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON for programs.")]


def author(name: str | None) -> str:
    if name and name.strip():
        return name.strip()
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def _backend(settings: Settings) -> SearchBackend | None:
    """The search index, when there is one (a compilation can be planned before ingest)."""
    from engines import make_backend

    backend = make_backend(settings)
    try:
        backend.count()
    except EngineError:
        return None
    return backend


@contextmanager
def _service(ctx: typer.Context) -> Iterator[CompilationService]:
    settings = settings_from(ctx)
    engine = create_database_engine(settings)
    backend = _backend(settings)
    try:
        yield CompilationService(engine, backend)
    finally:
        if backend is not None:
            backend.close()
        engine.dispose()


def _emit(value: BaseModel | list[Any] | dict[str, Any]) -> None:
    """One JSON document on stdout."""
    payload: Any
    if isinstance(value, BaseModel):
        payload = value.model_dump(mode="json")
    elif isinstance(value, list):
        payload = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    else:
        payload = value
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")


def _show(compilation: Compilation, as_json: bool) -> None:
    if as_json:
        _emit(compilation)
        return
    out.print(
        f"[bold]#{compilation.id} {escape(compilation.title)}[/]  [dim]{compilation.status} · "
        f"version {compilation.version} · {compilation.updated_by} "
        f"{compilation.updated_at:%Y-%m-%d %H:%M}[/]"
    )
    if compilation.description:
        out.print(escape(compilation.description))
    query = compilation.query
    if not query.is_empty:
        filters = " ".join(f"{k}={','.join(v)}" for k, v in query.filters.items())
        years = (
            f" {query.year_from or ''}-{query.year_to or ''}"
            if query.year_from or query.year_to
            else ""
        )
        out.print(f"standing query: {query.q!r} {filters}{years}".rstrip())
    if compilation.order_rule != "manual":
        out.print(f"order: {compilation.order_rule}")
    section: str | None = "\0"
    for entry in compilation.documents:
        if entry.section != section:
            section = entry.section
            out.print(f"\n[bold]{section or '(no section)'}[/]")
        flag = " [red](missing from the index)[/]" if entry.missing else ""
        label = escape(entry.title or entry.doc_id)
        out.print(f"  {entry.position + 1:>3}. {label}{flag}  [dim]{escape(entry.doc_id)}[/]")
        if entry.note:
            out.print(f"       [italic]{escape(entry.note)}[/]")
    empty = [s for s in compilation.sections if all(e.section != s for e in compilation.documents)]
    for name in empty:
        out.print(f"\n[bold]{name}[/] [dim](empty)[/]")
    if compilation.excludes:
        out.print(f"\n[dim]excluded: {', '.join(compilation.excludes)}[/]")


def _done(compilation: Compilation, message: str, as_json: bool) -> None:
    if as_json:
        _emit(compilation)
        return
    err.print(f"{message} (compilation {compilation.id} is now at version {compilation.version})")


def _filters(values: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for value in values:
        field, sep, text = value.partition("=")
        if not sep or not text:
            raise InvalidChange(f"--filter takes FIELD=VALUE (e.g. validity=有效), not {value!r}")
        found.setdefault(field.strip(), []).append(text.strip())
    return found


def _statuses(values: list[str]) -> list[Status]:
    allowed: tuple[Status, ...] = ("draft", "published", "archived")
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise InvalidChange(f"unknown status {unknown}; use {', '.join(allowed)}")
    return [s for s in allowed if s in values]


QueryOption = Annotated[str | None, typer.Option("--query", "-q", help="Standing query text.")]
FilterOption = Annotated[
    list[str],
    typer.Option("--filter", help="FIELD=VALUE filter of the standing query (repeatable)."),
]


@app.command()
def create(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="Title, e.g. 低保政策汇编.")],
    description: Annotated[str, typer.Option(help="What the compilation is for.")] = "",
    query: QueryOption = None,
    filters: FilterOption = [],  # noqa: B006
    year_from: Annotated[int | None, typer.Option()] = None,
    year_to: Annotated[int | None, typer.Option()] = None,
    section: Annotated[list[str], typer.Option(help="A section name (repeatable, in order).")] = [],  # noqa: B006
    status: Annotated[Status, typer.Option()] = "draft",
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Create a compilation; with --query it is living (new matching documents are proposed)."""
    spec = CompilationCreate(
        title=title,
        description=description,
        query=StandingQuery(
            q=query or "", filters=_filters(filters), year_from=year_from, year_to=year_to
        ),
        status=status,
        sections=section,
    )
    with _service(ctx) as service:
        made = service.create(author(as_user), spec)
    if as_json:
        _emit(made)
        return
    err.print(f"created compilation {made.id}")
    typer.echo(made.id)


@app.command("list")
def list_compilations(
    ctx: typer.Context,
    status: Annotated[
        list[str], typer.Option(help="Only these statuses: draft, published, archived.")
    ] = [],  # noqa: B006
    as_json: Json = False,
) -> None:
    """All compilations, most recently changed first."""
    with _service(ctx) as service:
        found = service.list_compilations(_statuses(status) or None)
    if as_json:
        _emit(found)
        return
    table = Table()
    for column in ("id", "title", "status", "version", "documents", "proposals", "changed"):
        table.add_column(column)
    for c in found:
        table.add_row(
            str(c.id),
            escape(c.title),
            c.status,
            str(c.version),
            str(c.documents),
            str(c.pending_proposals),
            f"{c.updated_at:%Y-%m-%d %H:%M} {c.updated_by}",
        )
    out.print(table)


@app.command()
def show(ctx: typer.Context, compilation_id: Id, as_json: Json = False) -> None:
    """A compilation with its documents in order (missing ones marked), sections and notes."""
    with _service(ctx) as service:
        _show(service.get(compilation_id), as_json)


@app.command()
def update(
    ctx: typer.Context,
    compilation_id: Id,
    title: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    query: QueryOption = None,
    filters: FilterOption = [],  # noqa: B006
    status: Annotated[Status | None, typer.Option()] = None,
    order: Annotated[OrderRule | None, typer.Option(help="Sort by this rule and keep it.")] = None,
    as_user: As = None,
    expect: Expect = None,
    as_json: Json = False,
) -> None:
    """Change title, description, standing query (with its filters), status or order rule."""
    new_query = None
    if query is not None or filters:
        new_query = StandingQuery(q=query or "", filters=_filters(filters))
    changes = CompilationUpdate(
        title=title, description=description, query=new_query, status=status, order_rule=order
    )
    with _service(ctx) as service:
        _done(service.update(compilation_id, author(as_user), changes, expect), "updated", as_json)


@app.command()
def add(
    ctx: typer.Context,
    compilation_id: Id,
    doc_ids: Annotated[list[str], typer.Argument(help="Document ids to include.")],
    section: Annotated[str | None, typer.Option(help="Into this section.")] = None,
    position: Annotated[int | None, typer.Option(min=1, help="At this place (1 = first).")] = None,
    note: Annotated[str, typer.Option(help="A note on each added document.")] = "",
    as_user: As = None,
    expect: Expect = None,
    as_json: Json = False,
) -> None:
    """Include documents (at the end, or at --position)."""
    with _service(ctx) as service:
        done = service.add_documents(
            compilation_id,
            author(as_user),
            doc_ids,
            section=section,
            position=None if position is None else position - 1,
            note=note,
            expected_version=expect,
        )
    _done(done, f"added {len(doc_ids)} document(s)", as_json)


@app.command()
def remove(
    ctx: typer.Context,
    compilation_id: Id,
    doc_id: Annotated[str, typer.Argument()],
    exclude: Annotated[bool, typer.Option(help="Also never propose it again.")] = False,
    as_user: As = None,
    expect: Expect = None,
    as_json: Json = False,
) -> None:
    """Take a document out of a compilation."""
    with _service(ctx) as service:
        done = service.remove_document(
            compilation_id, author(as_user), doc_id, exclude=exclude, expected_version=expect
        )
    _done(done, f"removed {doc_id}", as_json)


@app.command()
def move(
    ctx: typer.Context,
    compilation_id: Id,
    doc_id: Annotated[str, typer.Argument()],
    position: Annotated[int | None, typer.Option(min=1, help="New place (1 = first).")] = None,
    section: Annotated[str | None, typer.Option(help="Into this section.")] = None,
    unsectioned: Annotated[bool, typer.Option(help="Out of its section.")] = False,
    as_user: As = None,
    expect: Expect = None,
    as_json: Json = False,
) -> None:
    """Move a document to another place and/or section."""
    with _service(ctx) as service:
        done = service.move_document(
            compilation_id,
            author(as_user),
            doc_id,
            position=None if position is None else position - 1,
            section=section,
            unsectioned=unsectioned,
            expected_version=expect,
        )
    _done(done, f"moved {doc_id}", as_json)


@app.command()
def order(
    ctx: typer.Context,
    compilation_id: Id,
    doc_ids: Annotated[list[str] | None, typer.Argument(help="These first, in this order.")] = None,
    rule: Annotated[OrderRule | None, typer.Option(help="Or sort by a rule.")] = None,
    as_user: As = None,
    expect: Expect = None,
    as_json: Json = False,
) -> None:
    """Reorder documents: name ids to put first, or --rule validity_then_date etc."""
    if bool(doc_ids) == (rule is not None):
        raise InvalidChange("give document ids or --rule, not both")
    with _service(ctx) as service:
        if rule is not None:
            done = service.apply_order(compilation_id, author(as_user), rule, expect)
        else:
            done = service.set_order(compilation_id, author(as_user), doc_ids or [], expect)
    _done(done, "reordered", as_json)


@app.command()
def note(
    ctx: typer.Context,
    compilation_id: Id,
    doc_id: Annotated[str, typer.Argument()],
    text: Annotated[str, typer.Argument(help="The note ('' clears it).")],
    as_user: As = None,
    expect: Expect = None,
    as_json: Json = False,
) -> None:
    """Set the librarian's note on a document of the compilation."""
    with _service(ctx) as service:
        done = service.set_note(compilation_id, author(as_user), doc_id, text, expect)
    _done(done, f"noted {doc_id}", as_json)


@section_app.command("add")
def section_add(
    ctx: typer.Context,
    compilation_id: Id,
    name: Annotated[str, typer.Argument()],
    position: Annotated[int | None, typer.Option(min=1)] = None,
    as_user: As = None,
    expect: Expect = None,
    as_json: Json = False,
) -> None:
    """Add a section (at the end, or at --position)."""
    with _service(ctx) as service:
        done = service.add_section(
            compilation_id,
            author(as_user),
            name,
            None if position is None else position - 1,
            expect,
        )
    _done(done, f"added section {name}", as_json)


@section_app.command("rename")
def section_rename(
    ctx: typer.Context,
    compilation_id: Id,
    name: Annotated[str, typer.Argument()],
    new_name: Annotated[str, typer.Argument()],
    as_user: As = None,
    expect: Expect = None,
    as_json: Json = False,
) -> None:
    """Rename a section (its documents follow)."""
    with _service(ctx) as service:
        done = service.rename_section(compilation_id, author(as_user), name, new_name, expect)
    _done(done, f"renamed section {name} to {new_name}", as_json)


@section_app.command("move")
def section_move(
    ctx: typer.Context,
    compilation_id: Id,
    name: Annotated[str, typer.Argument()],
    position: Annotated[int, typer.Argument(min=1)],
    as_user: As = None,
    expect: Expect = None,
    as_json: Json = False,
) -> None:
    """Move a section to another place (1 = first)."""
    with _service(ctx) as service:
        done = service.move_section(compilation_id, author(as_user), name, position - 1, expect)
    _done(done, f"moved section {name}", as_json)


@section_app.command("remove")
def section_remove(
    ctx: typer.Context,
    compilation_id: Id,
    name: Annotated[str, typer.Argument()],
    as_user: As = None,
    expect: Expect = None,
    as_json: Json = False,
) -> None:
    """Remove a section; its documents stay, outside any section."""
    with _service(ctx) as service:
        done = service.remove_section(compilation_id, author(as_user), name, expect)
    _done(done, f"removed section {name}", as_json)


@app.command()
def snapshot(
    ctx: typer.Context,
    compilation_id: Id,
    name: Annotated[str, typer.Argument(help='A name for the current version, e.g. "2024年版".')],
    as_user: As = None,
    expect: Expect = None,
    as_json: Json = False,
) -> None:
    """Name the current version so it can be restored by name."""
    with _service(ctx) as service:
        info = service.snapshot(compilation_id, author(as_user), name, expect)
    if as_json:
        _emit(info)
        return
    err.print(f"version {info.version} of compilation {compilation_id} is snapshot {name!r}")


@app.command()
def restore(
    ctx: typer.Context,
    compilation_id: Id,
    version: Annotated[int | None, typer.Argument(help="The version to bring back.")] = None,
    snapshot_name: Annotated[
        str | None, typer.Option("--snapshot", help="Or the snapshot's name.")
    ] = None,
    as_user: As = None,
    expect: Expect = None,
    as_json: Json = False,
) -> None:
    """Bring back an older version, as a new version (nothing in between is lost)."""
    with _service(ctx) as service:
        done = service.restore(
            compilation_id,
            author(as_user),
            version,
            snapshot=snapshot_name,
            expected_version=expect,
        )
    _done(done, f"restored {snapshot_name or f'version {version}'}", as_json)


@app.command()
def history(ctx: typer.Context, compilation_id: Id, as_json: Json = False) -> None:
    """Every version of a compilation: who changed what, when (newest first)."""
    with _service(ctx) as service:
        versions = service.history(compilation_id)
    if as_json:
        _emit(versions)
        return
    table = Table()
    for column in ("version", "when", "who", "change", "snapshot"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            str(v.version),
            f"{v.created_at:%Y-%m-%d %H:%M:%S}",
            v.author,
            v.action,
            v.snapshot or "",
        )
    out.print(table)


@app.command()
def proposals(
    ctx: typer.Context,
    compilation_id: Id,
    status: Annotated[
        ProposalStatus | None, typer.Option(help="pending (default), accepted or rejected.")
    ] = "pending",
    show_all: Annotated[bool, typer.Option("--all", help="Every proposal, decided too.")] = False,
    as_json: Json = False,
) -> None:
    """The proposals inbox: documents suggested by the standing query or by seeding, and why."""
    with _service(ctx) as service:
        found = service.proposals(compilation_id, None if show_all else status)
    if as_json:
        _emit(found)
        return
    if not found:
        err.print("no proposals")
        return
    table = Table()
    for column in ("doc id", "title", "why", "score", "status"):
        table.add_column(column)
    for p in found:
        why = ", ".join(p.reason.matched_terms)
        if p.reason.similarity is not None:
            why += f" (similar {p.reason.similarity:.2f})"
        if p.reason.topic:
            why += f" [topic {p.reason.topic}]"
        table.add_row(p.doc_id, escape(p.title), escape(why), f"{p.reason.score:.2f}", p.status)
    out.print(table)


@app.command()
def accept(
    ctx: typer.Context,
    compilation_id: Id,
    doc_ids: Annotated[list[str], typer.Argument(help="Proposed documents to include.")],
    section: Annotated[str | None, typer.Option()] = None,
    as_user: As = None,
    expect: Expect = None,
    as_json: Json = False,
) -> None:
    """Accept proposals: the documents are added to the compilation."""
    with _service(ctx) as service:
        done = None
        for doc_id in doc_ids:
            done = service.accept(
                compilation_id, author(as_user), doc_id, section=section, expected_version=expect
            )
            expect = None if expect is None else done.version
    assert done is not None
    _done(done, f"accepted {len(doc_ids)} proposal(s)", as_json)


@app.command()
def reject(
    ctx: typer.Context,
    compilation_id: Id,
    doc_ids: Annotated[list[str], typer.Argument(help="Proposed documents to turn down.")],
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Reject proposals: they are kept as rejected and not proposed again."""
    with _service(ctx) as service:
        decided = [service.reject(compilation_id, author(as_user), d) for d in doc_ids]
    if as_json:
        _emit(decided)
        return
    err.print(f"rejected {len(decided)} proposal(s)")


@app.command()
def seed(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Title of the new compilation, e.g. 低保.")],
    terms: Annotated[
        list[str], typer.Option("--term", "-t", help="A seed term (repeatable).")
    ] = [],  # noqa: B006
    doc_ids: Annotated[
        list[str], typer.Option("--doc", "-d", help="A seed document id (repeatable).")
    ] = [],  # noqa: B006
    into: Annotated[
        int | None, typer.Option(help="Propose into this existing compilation instead.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Most proposals.")] = 50,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Start a compilation from seed terms and/or documents: the terms are expanded with the
    thesaurus (and the topic model, once `gongkai topics build` ran), searched, and the best
    candidates go to its proposals inbox with a reason."""
    from analysis.tokenizer import GovTokenizer
    from compilations.seeding import propose_seeded, seed_compilation
    from compilations.topic_hints import StoredTopicHints
    from compilations.topics.service import models_dir
    from search_api.service import SearchService

    settings = settings_from(ctx)
    with _service(ctx) as service:
        if service.backend is None:
            raise InvalidChange("no search index yet: run `gongkai ingest` first")
        search = SearchService(service.backend, GovTokenizer(), settings.max_query_chars)
        topics = StoredTopicHints.current(service.engine, models_dir(settings))
        who = author(as_user)
        if into is not None:
            result = propose_seeded(
                service, search, who, into, terms, doc_ids, limit=limit, topics=topics
            )
        else:
            result = seed_compilation(
                service, search, who, name, terms, doc_ids, limit=limit, topics=topics
            )
        proposed = [
            p for p in service.proposals(result.compilation_id) if p.doc_id in result.proposed
        ]
    if as_json:
        _emit(
            {
                "compilation_id": result.compilation_id,
                "expanded_terms": result.expanded_terms,
                "proposed": [p.model_dump(mode="json") for p in proposed],
            }
        )
        return
    err.print(
        f"compilation {result.compilation_id}: searched {', '.join(result.expanded_terms)}; "
        f"{len(proposed)} proposals (see `gongkai compile proposals {result.compilation_id}`)"
    )
    typer.echo(result.compilation_id)


@app.command()
def delete(
    ctx: typer.Context,
    compilation_id: Id,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    as_user: As = None,
    expect: Expect = None,
) -> None:
    """Delete a compilation with its history (recorded in the audit log)."""
    if not yes:
        typer.confirm(f"Delete compilation {compilation_id} and all its versions?", abort=True)
    with _service(ctx) as service:
        service.delete(compilation_id, author(as_user), expect)
    err.print(f"deleted compilation {compilation_id}")
