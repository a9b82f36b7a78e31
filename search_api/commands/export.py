"""CLI: ``gongkai export`` — a search's results or a compilation as a booklet, dataset or
citation list, written to a file that appears only when complete."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from compilations.export.records import ExportItem, ExportMeta
from compilations.export.writer import FORMATS, ExportError, export_to_file, get_format
from search_api.commands import settings_from

app = typer.Typer(
    help="Export a search's results or a compilation.\n\n"
    "Formats: "
    + ", ".join(f"{f.name} ({f.description})" for f in FORMATS.values())
    + ".\n\nExamples:\n\n"
    "  gongkai export --query 最低生活保障 --validity 有效 --format xlsx --out dibao.xlsx\n\n"
    "  gongkai export --compilation 3 --format pdf --out 汇编.pdf",
    no_args_is_help=True,
)
err = Console(stderr=True)
out = Console(highlight=False)


def _with_progress(
    items: Iterable[ExportItem], progress: Progress, task: TaskID
) -> Iterator[ExportItem]:
    for item in items:
        yield item
        progress.advance(task)


@app.callback(invoke_without_command=True)
def export(
    ctx: typer.Context,
    out_path: Annotated[
        Path, typer.Option("--out", "-o", help="File to write (replaced only when complete).")
    ],
    query: Annotated[
        str | None,
        typer.Option("--query", "-q", help='Search to export ("" for every document).'),
    ] = None,
    compilation: Annotated[
        int | None, typer.Option("--compilation", "-c", help="Compilation id to export.")
    ] = None,
    export_format: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help=f"One of {', '.join(FORMATS)}; default: from --out's suffix."
        ),
    ] = None,
    agency: Annotated[list[str] | None, typer.Option(help="发布机构 (any of; repeat).")] = None,
    doc_type: Annotated[list[str] | None, typer.Option(help="通知, 办法, ...")] = None,
    validity: Annotated[list[str] | None, typer.Option(help="有效, 废止, ...")] = None,
    topic_top: Annotated[list[str] | None, typer.Option(help="主题分类, level 1.")] = None,
    topic_sub: Annotated[list[str] | None, typer.Option(help="主题分类, level 2.")] = None,
    region: Annotated[list[str] | None, typer.Option()] = None,
    year_from: Annotated[int | None, typer.Option(min=1949, max=2100)] = None,
    year_to: Annotated[int | None, typer.Option(min=1949, max=2100)] = None,
    sort: Annotated[Literal["relevance", "newest"], typer.Option()] = "relevance",
    title: Annotated[str | None, typer.Option(help="Cover title of a query export.")] = None,
    limit: Annotated[
        int, typer.Option(min=1, help="Most documents a query export takes (best first).")
    ] = 100_000,  # compilations.export.sources.QUERY_EXPORT_CAP (not imported: --help stays fast)
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Export a search's results (--query, with the same filters as search) or a compilation
    (--compilation) to --out as a booklet (docx, pdf), dataset (csv, jsonl, xlsx) or
    citations (ris, bibtex, gbt7714)."""
    if (query is None) == (compilation is None):
        raise ExportError("give exactly one of --query or --compilation")
    name = export_format or out_path.suffix.lstrip(".") or ""
    chosen = get_format({"bib": "bibtex", "txt": "gbt7714"}.get(name, name))
    settings = settings_from(ctx)

    from analysis.tokenizer import GovTokenizer
    from engines import make_backend
    from search_api.service import SearchService

    service = SearchService(make_backend(settings), GovTokenizer(), settings.max_query_chars)
    notice = ""
    if query is not None:
        from compilations.export.sources import SearchRequest, query_export

        filters = {
            "agency": agency or [],
            "doc_type": doc_type or [],
            "validity": validity or [],
            "topic_top": topic_top or [],
            "topic_sub": topic_sub or [],
            "region": region or [],
        }
        request = SearchRequest(query, filters, year_from, year_to, sort)
        found = query_export(service, request, cap=limit)
        if found.truncated:
            notice = (
                f"{found.total} documents match; only the first {limit} are exported "
                "(--limit): raise it or narrow the search with filters"
            )
        meta = ExportMeta(
            title=title or f"检索结果：{query or '全部文件'}",
            created=date.today(),
            total=found.count,
            query=request.describe(),
        )
        items: Iterable[ExportItem] = found.items
    else:
        assert compilation is not None
        from compilations.export.sources import compilation_items
        from compilations.service import CompilationService
        from gongkai.database import create_database_engine

        compilations = CompilationService(create_database_engine(settings), service.backend)
        record = compilations.get(compilation)
        meta = ExportMeta(
            title=record.title,
            description=record.description,
            created=date.today(),
            total=len(record.documents),
            sections=record.sections,
        )
        titles = {e.doc_id: e.title for e in record.documents}
        items = compilation_items(compilations.documents(compilation), service.backend, titles)
    if notice:
        err.print(f"[yellow]note:[/] {notice}")
    progress = Progress(
        SpinnerColumn(),
        TextColumn(f"[bold]export {chosen.name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )
    with progress:
        task = progress.add_task("export", total=meta.total)
        export_to_file(_with_progress(items, progress, task), meta, chosen, out_path)
    summary = {
        "path": str(out_path),
        "format": chosen.name,
        "documents": meta.total,
        "bytes": out_path.stat().st_size,
        "notice": notice,
    }
    if as_json:
        out.print_json(json.dumps(summary, ensure_ascii=False))
    else:
        err.print(f"wrote {meta.total} documents as {chosen.name} to {out_path}")
