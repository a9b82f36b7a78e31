"""Peak memory and time of exporting N documents (default 10,000), the project's streaming
writers beside an all-in-memory baseline of the same format, each in a fresh subprocess.

Documents are real government documents from ../shared/data/govdocs_small.dev.jsonl (133, with
their metadata), resampled to N with new ids and bodies cut to ``--body-chars`` (default 2,000,
the size the performance issue names); every 7th is marked 废止, every 10th has a note, and
they fall into 10 sections. They are generated lazily, so the source holds no document list.

Per run the child prints its peak resident set size (ru_maxrss) and its RSS before the export
started (interpreter, libraries, the 133 source documents), so "export" = peak - before.

  project   compilations.export writers: streamed CSV/JSONL, openpyxl write-only XLSX, chunked
            PDF (two-pass contents, pypdf join), DOCX body spooled to a temp file
  baseline  the same content held whole: CSV/JSONL rows built in a list then written, openpyxl
            normal (in-memory) workbook, PDF laid out in one reportlab pass (one chunk), DOCX as
            one python-docx document

    python bench/export.py [--docs 10000] [--formats csv,xlsx,docx,pdf] [--modes project,baseline]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import REPO, shared_data, status_kb


def _source_documents(limit_chars: int) -> list[dict[str, object]]:
    path = shared_data() / "govdocs_small.dev.jsonl"
    records = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    docs = []
    for record in records:
        text = str(record.get("text") or "")
        if not text.strip():
            continue
        docs.append(
            {
                "title": record.get("title") or text[:30],
                "body": text[:limit_chars],
                "url": record.get("url"),
                "agency": record.get("agency"),
                "doc_number": record.get("doc_number"),
                "index_number": record.get("index_number"),
                "topic": record.get("topic"),
                "date_written": record.get("date_written") or None,
                "date_published": record.get("date_published") or None,
            }
        )
    return docs


def _items(count: int, body_chars: int) -> Iterator[object]:
    from compilations.export.records import ExportItem
    from gongkai.document import Document

    sources = _source_documents(body_chars)
    for n in range(count):
        fields = dict(sources[n % len(sources)])
        fields["validity"] = "废止" if n % 7 == 0 else "有效"
        try:
            doc = Document(id=f"bench-{n:06d}", **fields)
        except ValueError:  # a source date the model does not take: drop the dates
            fields.update(date_written=None, date_published=None)
            doc = Document(id=f"bench-{n:06d}", **fields)
        yield ExportItem(
            doc.id,
            doc,
            section=f"第{n * 10 // count + 1}部分",
            note="编者按示例：本文件与低保标准有关。" if n % 10 == 0 else "",
        )


def _baseline(name: str, items: list[object], out_path: Path) -> None:
    """The same format, everything in memory at once."""
    from compilations.export import booklet, booklet_docx, datasets
    from compilations.export.records import COLUMNS, ExportMeta, flat_record
    from compilations.export.writer import FORMATS, export_to_file

    meta = ExportMeta(title="基准测试汇编", total=len(items))
    if name in ("csv", "jsonl"):
        chunks = list(FORMATS[name].chunks(items, meta))  # type: ignore[misc, arg-type]
        out_path.write_bytes(b"".join(chunks))
    elif name == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        sheet.append(list(COLUMNS))
        for item in items:
            row = flat_record(item)  # type: ignore[arg-type]
            sheet.append([datasets._xlsx_cell(sheet, row[c]).value for c in COLUMNS])
        workbook.save(out_path)
    elif name == "pdf":
        booklet.CHUNK_DOCUMENTS = 10**9
        booklet.CHUNK_CHARACTERS = 10**12
        export_to_file(items, meta, FORMATS["pdf"], out_path)  # type: ignore[arg-type]
    elif name == "docx":
        import docx

        document = docx.Document()
        booklet_docx._use_east_asian_font(document)
        for item in items:
            booklet_docx._add_document(document, item)  # type: ignore[arg-type]
            body = item.document.body if item.document else ""  # type: ignore[attr-defined]
            for text in booklet.paragraphs(body):
                booklet_docx._paragraph(document, text)
        document.save(str(out_path))


def child(name: str, mode: str, count: int, body_chars: int, folder: Path) -> None:
    from compilations.export.records import ExportMeta
    from compilations.export.writer import FORMATS, export_to_file

    stream = _items(count, body_chars)
    first = next(stream)  # loads the libraries and the source documents
    before = status_kb("VmRSS")
    out_path = folder / f"{mode}.{FORMATS[name].extension}"
    started = time.perf_counter()
    if mode == "project":
        meta = ExportMeta(title="基准测试汇编", total=count)

        def everything() -> Iterator[object]:
            yield first
            yield from stream

        export_to_file(everything(), meta, FORMATS[name], out_path)  # type: ignore[arg-type]
    else:
        _baseline(name, [first, *stream], out_path)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {"before_kb": before, "peak_kb": peak, "s": seconds, "bytes": out_path.stat().st_size}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--body-chars", type=int, default=2_000)
    parser.add_argument("--formats", default="csv,jsonl,xlsx,docx,pdf")
    parser.add_argument("--modes", default="project,baseline")
    parser.add_argument("--child", nargs=2, metavar=("FORMAT", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.docs, args.body_chars, args.folder)
        return
    print(f"documents: {args.docs}, body <= {args.body_chars} chars (govdocs_small resampled)")
    print(f"{'format':<7}{'mode':<10}{'peak MB':>9}{'before MB':>11}{'export MB':>11}"
          f"{'seconds':>9}{'file MB':>9}")  # fmt: skip
    for name in args.formats.split(","):
        for mode in args.modes.split(","):
            with tempfile.TemporaryDirectory() as folder:
                result = subprocess.run(
                    [sys.executable, __file__, "--docs", str(args.docs), "--body-chars",
                     str(args.body_chars), "--child", name, mode, "--folder", folder],
                    capture_output=True, text=True, cwd=REPO, check=False,
                )  # fmt: skip
            if result.returncode != 0:
                print(f"{name:<7}{mode:<10} failed: {result.stderr.strip().splitlines()[-1:]}")
                continue
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            peak, before = figures["peak_kb"] / 1024, figures["before_kb"] / 1024
            print(
                f"{name:<7}{mode:<10}{peak:>9.0f}{before:>11.0f}{peak - before:>11.0f}"
                f"{figures['s']:>9.1f}{figures['bytes'] / 1e6:>9.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
