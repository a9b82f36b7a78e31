"""CLI: gongkai topics — discover topics in the index, list and show them, assign new
documents, draw the topic map and timeline.

Topics live in named sets: ``all`` (the default) is built over the whole index; a build with
``--query`` defaults to a set named after its query. Ids are stable: a rebuild that finds the
same topic again (matched on shared members) gives it the same id.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from gongkai.settings import Settings
from search_api.commands import settings_from

if TYPE_CHECKING:
    from compilations.topics.store import TopicStore
    from gongkai.document import Document

app = typer.Typer(
    help="Discover topics by clustering the index (TF-IDF over the project tokeniser -> SVD -> "
    "KMeans or HDBSCAN -> class-based TF-IDF labels), and look at them.",
    no_args_is_help=True,
)

err = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)

SetOption = Annotated[
    str | None,
    typer.Option("--set", help="Topic set (default: 'all', the whole index)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
# A query's results are read page by page up to this many documents by default.
DEFAULT_MAX_QUERY_DOCS = 10_000


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )


def _store(settings: Settings) -> TopicStore:
    from compilations.topics.service import models_dir
    from compilations.topics.store import TopicStore
    from gongkai.database import create_database_engine

    return TopicStore(create_database_engine(settings), models_dir(settings))


@app.command("build")
def build(
    ctx: typer.Context,
    k: Annotated[int | None, typer.Option(help="Number of topics (kmeans; default 20).")] = None,
    query: Annotated[
        str | None, typer.Option(help="Cluster this query's results instead of the whole index.")
    ] = None,
    method: Annotated[
        str, typer.Option(help="kmeans (k topics) or hdbscan (finds the number itself).")
    ] = "kmeans",
    set_name: SetOption = None,
    max_docs: Annotated[
        int, typer.Option(help="With --query: at most this many results.")
    ] = DEFAULT_MAX_QUERY_DOCS,
    jobs: Annotated[int, typer.Option(help="Processes for tokenising (2 uses both cores).")] = 1,
    as_json: JsonOption = False,
) -> None:
    """Cluster the indexed documents (or a query's results) into topics and store them."""
    from analysis.tokenizer import GovTokenizer
    from compilations.topics.service import DEFAULT_SET, build_topics
    from engines import make_backend
    from search_api.topic_corpus import query_documents, query_total

    if method not in ("kmeans", "hdbscan"):
        raise typer.BadParameter("--method is kmeans or hdbscan")
    if k is not None and method == "hdbscan":
        raise typer.BadParameter("--k is for kmeans; hdbscan finds the number of topics")
    settings = settings_from(ctx)
    backend = make_backend(settings)
    try:
        tokenizer = GovTokenizer()
        if query:
            total = min(max_docs, query_total(backend, tokenizer, query))
            docs: Any = query_documents(
                backend, tokenizer, query, max_docs, settings.max_query_chars
            )
        else:
            total = backend.count()
            docs = backend.iter_documents()
        with _progress() as progress:
            task = progress.add_task("read + tokenise", total=total)
            stage = progress.add_task("cluster + label", total=None, start=False)

            def stage_started(name: str) -> None:
                progress.start_task(stage)
                progress.update(stage, description=name)

            summary = build_topics(
                settings,
                _store(settings),
                docs,
                tokenizer=tokenizer,
                method=method,  # type: ignore[arg-type]
                k=k,
                set_name=set_name or (query if query else DEFAULT_SET),
                query=query,
                n_jobs=jobs,
                on_tokenized=lambda n: progress.advance(task, n),
                on_stage=stage_started,
            )
            progress.update(stage, total=1, completed=1)
    finally:
        backend.close()
    report = summary.as_dict()
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        return
    out.print(
        f"build {summary.build_id} of set {summary.set_name!r}: {summary.n_topics} topics over "
        f"{summary.n_documents} documents ({summary.n_unassigned} without usable text); "
        f"{summary.kept_ids} topic ids kept from the previous build, {summary.new_ids} new"
    )


def _topic_dict(topic: Any) -> dict[str, Any]:
    return {
        "id": topic.topic_id,
        "label": topic.label,
        "size": topic.size,
        "terms": [[t, round(w, 4)] for t, w in topic.terms],
        "representatives": topic.representatives,
    }


@app.command("list")
def list_topics(
    ctx: typer.Context, set_name: SetOption = None, as_json: JsonOption = False
) -> None:
    """The topics of the current build, largest first."""
    from compilations.topics.service import DEFAULT_SET

    build = _store(settings_from(ctx)).current_build(set_name or DEFAULT_SET)
    if as_json:
        report = {
            "set": build.set_name,
            "build": build.id,
            "created_at": build.created_at.isoformat(),
            "documents": build.n_documents,
            "topics": [_topic_dict(t) for t in build.topics],
        }
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"topics of set {build.set_name!r} (build {build.id})")
    for column in ("id", "size", "label", "terms"):
        table.add_column(column)
    for t in build.topics:
        table.add_row(
            str(t.topic_id), str(t.size), t.label, " ".join(term for term, _ in t.terms[3:8])
        )
    out.print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    topic_id: Annotated[int, typer.Argument(help="Topic id (see `gongkai topics list`).")],
    set_name: SetOption = None,
    docs: Annotated[int, typer.Option(help="Member documents to list.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """One topic: terms, representative documents, documents per year, members."""
    from compilations.topics.service import DEFAULT_SET

    store = _store(settings_from(ctx))
    build, topic = store.topic(set_name or DEFAULT_SET, topic_id)
    years = store.year_counts(build.id).get(topic_id, {})
    members = store.documents_of(build.id, topic_id, limit=docs)
    if as_json:
        report = {
            **_topic_dict(topic),
            "years": {str(y): n for y, n in years.items()},
            "documents": [{"id": d, "score": round(s, 4)} for d, s in members],
        }
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        return
    out.print(f"[bold]topic {topic.topic_id}[/]: {topic.label} ({topic.size} documents)")
    out.print("terms: " + ", ".join(f"{t} {w:.3f}" for t, w in topic.terms))
    out.print("representative documents:")
    for rep in topic.representatives:
        out.print(f"  {rep['id']}  {rep['title']}")
    if years:
        out.print("per year: " + ", ".join(f"{y}: {n}" for y, n in years.items()))
    out.print("members (most central first): " + ", ".join(d for d, _ in members))


def _image_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("png", "svg"):
        raise typer.BadParameter("--out must end in .png or .svg")
    return suffix


@app.command("map")
def topic_map(
    ctx: typer.Context,
    out_file: Annotated[Path, typer.Option("--out", help="FILE.png or FILE.svg")],
    set_name: SetOption = None,
) -> None:
    """Draw the documents in 2-D (PCA of the reduced vectors), coloured by topic."""
    from compilations.topics.pictures import topic_map as draw
    from compilations.topics.service import DEFAULT_SET

    fmt = _image_format(out_file)
    store = _store(settings_from(ctx))
    build = store.current_build(set_name or DEFAULT_SET)
    out_file.write_bytes(draw(store.load_map(build), build.topics, fmt=fmt))  # type: ignore[arg-type]
    err.print(f"topic map written to {out_file}")


@app.command("timeline")
def timeline(
    ctx: typer.Context,
    out_file: Annotated[Path, typer.Option("--out", help="FILE.png or FILE.svg")],
    set_name: SetOption = None,
    top: Annotated[int, typer.Option(help="Largest topics drawn.")] = 8,
) -> None:
    """Draw documents per year for the largest topics."""
    from compilations.topics.pictures import topic_timeline
    from compilations.topics.service import DEFAULT_SET

    fmt = _image_format(out_file)
    store = _store(settings_from(ctx))
    build = store.current_build(set_name or DEFAULT_SET)
    picture = topic_timeline(store.year_counts(build.id), build.topics, fmt=fmt, top=top)  # type: ignore[arg-type]
    out_file.write_bytes(picture)
    err.print(f"topic timeline written to {out_file}")


@app.command("assign")
def assign(
    ctx: typer.Context,
    ids: Annotated[
        list[str] | None,
        typer.Argument(help="Document ids; default: every indexed document not yet assigned."),
    ] = None,
    set_name: SetOption = None,
    batch: Annotated[int, typer.Option(help="Documents per assignment batch.")] = 1000,
    as_json: JsonOption = False,
) -> None:
    """Put new documents into the current topics without rebuilding (nearest centroid)."""
    from analysis.tokenizer import GovTokenizer
    from compilations.topics.service import DEFAULT_SET, assign_documents
    from engines import make_backend

    settings = settings_from(ctx)
    store = _store(settings)
    name = set_name or DEFAULT_SET
    build = store.current_build(name)
    model = store.load_model(build)
    known = store.assigned_ids(build.id)
    tokenizer = GovTokenizer()
    backend = make_backend(settings)
    totals = {"build_id": build.id, "checked": 0, "added": 0, "unassigned": 0}
    missing: list[str] = []
    try:
        if ids:
            found = [backend.get(i) for i in ids]
            missing = [i for i, d in zip(ids, found, strict=True) if d is None]
            candidates: Any = (d for d in found if d is not None)
            total = len(ids)
        else:
            candidates = (d for d in backend.iter_documents() if d.id not in known)
            total = max(backend.count() - len(known), 0)
        with _progress() as progress:
            task = progress.add_task("assign", total=total)
            pending: list[Document] = []
            for doc in [*candidates, None]:
                if doc is not None:
                    pending.append(doc)
                if pending and (doc is None or len(pending) >= batch):
                    result = assign_documents(
                        store, pending, tokenizer=tokenizer, set_name=name, model=model
                    )
                    for key in ("checked", "added", "unassigned"):
                        totals[key] += getattr(result, key)
                    progress.advance(task, len(pending))
                    pending = []
    finally:
        backend.close()
    if as_json:
        report = {**totals, "missing": missing}
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        return
    out.print(
        f"{totals['added']} new document(s) assigned to topics of build {build.id} "
        f"({totals['unassigned']} without a known term left unassigned)"
    )
    if missing:
        err.print(f"not in the index: {', '.join(missing)}")
