"""The `gongkai` command line. Each command builds what it needs from one `Settings` object.

Progress bars and messages go to stderr; results (and ``--json`` output) go to stdout, so
``gongkai search ... --json | jq`` and ``gongkai eval ... --json > scores.json`` work.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack, closing
from datetime import datetime
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
from gongkai.settings import EngineKind, Settings
from search_api.commands import compile as compile_commands
from search_api.commands import export as export_commands
from search_api.commands import topics as topics_commands
from search_api.commands import users as users_commands

if TYPE_CHECKING:
    from analysis.analyzer import DocumentAnalyzer
    from engines.base import SearchBackend
    from gongkai.document import Document
    from gongkai.enrichment import DocumentStage
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
index_app = typer.Typer(help="Inspect or drop the search index.")
app.add_typer(index_app, name="index")
app.add_typer(topics_commands.app, name="topics")
app.add_typer(compile_commands.app, name="compile")
app.add_typer(export_commands.app, name="export")
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
    # Imported here so `gongkai --help` stays instant (jieba's dictionary, the engines).
    from analysis.analyzer import DocumentAnalyzer
    from analysis.tokenizer import GovTokenizer
    from engines import make_backend
    from gongkai.pipeline import IngestPipeline
    from ingest.manager import read_sources

    backend = make_backend(settings)
    analyzer = DocumentAnalyzer(GovTokenizer())
    with ExitStack() as cleanup:
        stages, observers, finish = (
            _enrichment(settings, backend, analyzer, cleanup) if enrich else ([], [], None)
        )
        pipeline = IngestPipeline(
            analyzer, backend, settings.batch_size, stages=stages, observers=observers
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
        if finish is not None:
            err.print(finish())
    backend.close()
    err.print(
        f"indexed {report.documents} documents in {report.seconds:.1f} s "
        f"({report.docs_per_second:,.0f} docs/s); {len(report.problems)} skipped"
    )
    return report.documents


def _enrichment(
    settings: Settings, backend: SearchBackend, analyzer: DocumentAnalyzer, cleanup: ExitStack
) -> tuple[list[DocumentStage], list[Callable[[Document], None]], Callable[[], str]]:
    """The analysis stages of a normal ingest and the linking step that follows it."""
    from analysis.dedup import NearDuplicateFinder
    from analysis.keywords import KeywordExtractor
    from analysis.lineage import LineageGraph
    from analysis.metadata import MetadataExtractor
    from gongkai.enrichment import (
        DuplicateStage,
        KeywordsStage,
        ReferencesStage,
        TextValidityStage,
    )
    from gongkai.linking import Linker, lineage_path, today

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    finder = cleanup.enter_context(closing(NearDuplicateFinder(settings.data_dir / "dedup.sqlite")))
    graph = cleanup.enter_context(closing(LineageGraph(lineage_path(settings.data_dir))))
    duplicates = DuplicateStage(finder)
    linker = Linker(graph, backend, analyzer)
    stages: list[DocumentStage] = [
        MetadataExtractor(),  # first: later stages read the fields it fills
        TextValidityStage(today()),
        ReferencesStage(),
        KeywordsStage(KeywordExtractor(analyzer.tokenizer)),
        duplicates,
    ]

    def finish() -> str:
        linked = linker.finish(dict(duplicates.grouped))
        return (
            f"linked {linked.documents} documents: {linked.validity_changed} validity changes "
            f"from other documents, {linked.regrouped} canonical documents with reprints"
        )

    return stages, [linker.observe], finish


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
    from search_api.service import SearchService

    return SearchService(make_backend(settings), GovTokenizer(), settings.max_query_chars)


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

    settings = _settings(ctx)
    backend = make_backend(settings)
    analyzer = DocumentAnalyzer(GovTokenizer())
    with ExitStack() as cleanup:
        stages, observers, finish = _enrichment(settings, backend, analyzer, cleanup)
        pipeline = IngestPipeline(
            analyzer, backend, settings.batch_size, stages=stages, observers=observers
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
        err.print(finish())
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
) -> None:
    """Serve the JSON API (and its docs at /docs) over HTTP."""
    import uvicorn

    from search_api.app import create_app

    settings = _settings(ctx)
    err.print(f"Gongkai serving on http://{host}:{port}  (API docs: /docs)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


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
    """Show the engine, the live index and how many documents it holds."""
    from engines import make_backend

    health = make_backend(_settings(ctx)).health()
    if as_json:
        out.print_json(json.dumps(health, ensure_ascii=False))
    else:
        for key, value in health.items():
            out.print(f"{key}: {value}")


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
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Index CORPUS into a fresh temporary index, run every query, print Recall@1/10/100 and
    MRR@10."""
    from analysis.tokenizer import GovTokenizer
    from engines import make_backend
    from evaluation.retrieval import evaluate, load_judged_queries
    from search_api.service import SearchService

    base = _settings(ctx)
    judged = load_judged_queries(queries)
    with tempfile.TemporaryDirectory(prefix="gongkai-eval-") as tmp:
        # A fresh index: its own data dir, and on a cluster its own alias, dropped afterwards.
        settings = base.model_copy(
            update={"data_dir": Path(tmp), "index_name": f"gongkai-eval-{Path(tmp).name.lower()}"}
        )
        _index_documents(settings, [corpus], "index corpus", enrich=False)
        backend = make_backend(settings)
        try:
            service = SearchService(backend, GovTokenizer(), settings.max_query_chars)
            with _progress() as progress:
                task = progress.add_task("queries", total=len(judged), rate="")
                scores = evaluate(service, judged, lambda: progress.advance(task))
        finally:
            backend.drop()
            backend.close()
    report = {"engine": base.engine, **scores}
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"retrieval on {queries.name} ({base.engine})")
    for key in report:
        table.add_column(key)
    table.add_row(*[str(v) for v in report.values()])
    out.print(table)


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


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> None:
    """Console entry point: user errors print a clear line and exit 1, no stack trace."""
    try:
        app()
    except GongkaiError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise SystemExit(1) from None
