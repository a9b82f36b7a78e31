"""Datasets for researchers: CSV, JSONL and Excel, one document per row, streamed.

CSV and JSONL are produced as byte chunks (a few rows at a time), so the same generator feeds
an HTTP StreamingResponse and a file. XLSX uses openpyxl's write-only mode, which spools rows
to a temporary file instead of building the sheet in memory.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
from collections.abc import Iterable, Iterator
from typing import IO, Any

from lxml import etree
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from compilations.export.records import (
    COLUMNS,
    ExportItem,
    ExportMeta,
    flat_record,
    json_record,
    xml_safe,
)

# Excel opens a CSV as the system code page (GBK on Chinese Windows) unless the file starts
# with a UTF-8 byte order mark; with it, Chinese shows correctly and other tools skip it.
UTF8_BOM = "\ufeff"
# Excel runs a cell that starts with one of these as a formula (CSV injection, OWASP):
# such cells get a leading apostrophe, which Excel shows as plain text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Excel's limit on the characters in one cell; longer bodies are cut (the JSONL has them whole).
XLSX_CELL_LIMIT = 32_767
# Rows per chunk handed to the stream: big enough to keep syscalls few, small enough to stream.
ROWS_PER_CHUNK = 50


def _csv_cell(value: str) -> str:
    value = xml_safe(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_chunks(items: Iterable[ExportItem], meta: ExportMeta) -> Iterator[bytes]:
    """CSV (UTF-8 with BOM, CRLF rows as RFC 4180 says), header first, then one row a document."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(UTF8_BOM)
    writer.writerow(COLUMNS)
    for count, item in enumerate(items, start=1):
        row = flat_record(item)
        writer.writerow([_csv_cell(row[c]) for c in COLUMNS])
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def jsonl_chunks(items: Iterable[ExportItem], meta: ExportMeta) -> Iterator[bytes]:
    """JSON Lines: each document whole (with the source's own extra fields), one a line."""
    lines: list[str] = []
    for item in items:
        lines.append(json.dumps(json_record(item), ensure_ascii=False))
        if len(lines) == ROWS_PER_CHUNK:
            yield ("\n".join(lines) + "\n").encode("utf-8")
            lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode("utf-8")


def write_xlsx(items: Iterable[ExportItem], meta: ExportMeta, out: IO[bytes]) -> None:
    """An Excel workbook with one sheet of documents (bold header, frozen first row)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("documents")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for name in COLUMNS:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    try:
        for item in items:
            row = flat_record(item)
            sheet.append([_xlsx_cell(sheet, row[c]) for c in COLUMNS])
        workbook.save(out)
    except etree.SerialisationError as error:
        _abandon(sheet)
        # lxml reports a failed write as "IO_EFBIG", "IO_ENOSPC", ...: give it back its errno,
        # so callers see the same OSError as from any other write.
        code = getattr(errno, str(error).removeprefix("IO_"), errno.EIO)
        raise OSError(code, os.strerror(code)) from error
    except BaseException:
        _abandon(sheet)
        raise


def _abandon(sheet: Any) -> None:
    """Close a write-only sheet after an error and remove its spool file: left to the garbage
    collector, openpyxl's half-open XML writers raise while being torn down."""
    with contextlib.suppress(Exception):
        sheet.close()
    writer = getattr(sheet, "_writer", None)
    if writer is not None:
        with contextlib.suppress(Exception):
            writer.xf.close()
        with contextlib.suppress(Exception):
            writer.cleanup()


def _xlsx_cell(sheet: object, value: str) -> WriteOnlyCell:
    if not value:
        return WriteOnlyCell(sheet, value=None)
    cell = WriteOnlyCell(sheet, value=xml_safe(value)[:XLSX_CELL_LIMIT])
    # openpyxl turns a string starting with "=" into a formula; a title is never one.
    cell.data_type = "s"
    return cell
