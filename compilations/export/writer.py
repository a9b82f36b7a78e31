"""The export formats by name, and writing one to a file safely.

Safe output: an export is written to a hidden temporary file in the target's folder and renamed
over the target only when complete (``os.replace`` is atomic within one filesystem). On any
error, a full disk or a file-size limit included, the temporary file is removed and the target
is left as it was, so nothing half-written is ever taken for a finished export.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, get_args

from compilations.export import citations
from compilations.export.records import ExportItem, ExportMeta
from gongkai.errors import GongkaiError

Chunks = Callable[[Iterable[ExportItem], ExportMeta], Iterator[bytes]]
FormatName = Literal["csv", "jsonl", "xlsx", "ris", "bibtex", "gbt7714", "docx", "pdf"]
FileWriter = Callable[[Iterable[ExportItem], ExportMeta, IO[bytes], Path], None]


class ExportError(GongkaiError):
    """An export that could not be made (unknown format, unwritable target, ...)."""


class ExportWriteError(ExportError):
    """The export could not be written (disk full, file too large, no permission)."""


@dataclass(frozen=True)
class ExportFormat:
    """One format: either a stream of byte chunks (sent as they are made) or a file writer
    (formats that are containers, written to a seekable file and sent when complete)."""

    name: str
    extension: str
    media_type: str
    description: str
    chunks: Chunks | None = None
    write_file: FileWriter | None = None

    @property
    def streams(self) -> bool:
        return self.chunks is not None

    def write(
        self, items: Iterable[ExportItem], meta: ExportMeta, out: IO[bytes], workdir: Path
    ) -> None:
        if self.chunks is not None:
            for chunk in self.chunks(items, meta):
                out.write(chunk)
            return
        assert self.write_file is not None
        self.write_file(items, meta, out, workdir)


# Writers are imported when their format is used: openpyxl/docx/reportlab slow CLI start-up.
def _csv(items: Iterable[ExportItem], meta: ExportMeta) -> Iterator[bytes]:
    from compilations.export import datasets

    yield from datasets.csv_chunks(items, meta)


def _jsonl(items: Iterable[ExportItem], meta: ExportMeta) -> Iterator[bytes]:
    from compilations.export import datasets

    yield from datasets.jsonl_chunks(items, meta)


def _xlsx(items: Iterable[ExportItem], meta: ExportMeta, out: IO[bytes], workdir: Path) -> None:
    from compilations.export import datasets

    datasets.write_xlsx(items, meta, out)


def _docx(items: Iterable[ExportItem], meta: ExportMeta, out: IO[bytes], workdir: Path) -> None:
    from compilations.export import booklet_docx

    booklet_docx.write_docx(items, meta, out, workdir)


def _pdf(items: Iterable[ExportItem], meta: ExportMeta, out: IO[bytes], workdir: Path) -> None:
    from compilations.export import booklet_pdf

    booklet_pdf.write_pdf(items, meta, out, workdir)


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("csv", "csv", "text/csv; charset=utf-8", "metadata table", chunks=_csv),
        ExportFormat(
            "jsonl",
            "jsonl",
            "application/x-ndjson; charset=utf-8",
            "whole documents, one JSON a line",
            chunks=_jsonl,
        ),
        ExportFormat(
            "xlsx",
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Excel workbook",
            write_file=_xlsx,
        ),
        ExportFormat(
            "ris",
            "ris",
            "application/x-research-info-systems; charset=utf-8",
            "RIS citations",
            chunks=citations.ris_chunks,
        ),
        ExportFormat(
            "bibtex",
            "bib",
            "application/x-bibtex; charset=utf-8",
            "BibTeX citations",
            chunks=citations.bibtex_chunks,
        ),
        ExportFormat(
            "gbt7714",
            "txt",
            "text/plain; charset=utf-8",
            "GB/T 7714-2015 reference list",
            chunks=citations.gbt7714_chunks,
        ),
        ExportFormat(
            "docx",
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "Word booklet",
            write_file=_docx,
        ),
        ExportFormat("pdf", "pdf", "application/pdf", "PDF booklet", write_file=_pdf),
    )
}


assert set(get_args(FormatName)) == set(FORMATS), "FormatName must list every format"


def get_format(name: str) -> ExportFormat:
    try:
        return FORMATS[name.lower()]
    except KeyError:
        raise ExportError(
            f"unknown export format {name!r}; choose one of {', '.join(FORMATS)}"
        ) from None


@contextlib.contextmanager
def atomic_output(target: Path) -> Iterator[IO[bytes]]:
    """A binary file that becomes ``target`` only if the block ends without an error."""
    folder = target.parent if str(target.parent) else Path(".")
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115  # closed below, or on error
            dir=folder, prefix=f".{target.name}.", suffix=".part", delete=False
        )
    except OSError as error:
        raise ExportWriteError(f"cannot write into {folder}: {error.strerror or error}") from error
    partial = Path(handle.name)
    try:
        # Temporary files are private (0600); an export gets the mode of the file it replaces,
        # or the usual 0644.
        os.fchmod(handle.fileno(), target.stat().st_mode & 0o777 if target.exists() else 0o644)
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
    except BaseException as error:
        partial.unlink(missing_ok=True)
        if isinstance(error, OSError):
            reason = error.strerror or str(error)
            raise ExportWriteError(
                f"could not write {target}: {reason}; no file was left in its place"
            ) from error
        raise


def export_to_file(
    items: Iterable[ExportItem], meta: ExportMeta, export_format: ExportFormat, target: Path
) -> Path:
    """Write ``items`` as ``export_format`` to ``target`` (complete, or not at all)."""
    with atomic_output(target) as out:
        export_format.write(items, meta, out, target.parent if str(target.parent) else Path("."))
    return target
