"""Text out of downloaded attachments: PDF (pypdf) and DOCX (python-docx).

Runs in the parse workers. Other formats (DOC, XLS, WPS, OFD, archives) are linked to their
document by name and URL without text. A broken file gives an `AttachmentText` with its error,
never an exception: one bad attachment must not lose its document.
"""

from __future__ import annotations

import io
import logging
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

_BLANK_LINES = re.compile(r"\n\s*\n+")
MAX_PDF_PAGES = 500  # a scanned 2,000-page annex has no text anyway, and would stall a worker
# A DOCX is a zip archive: python-docx inflates its parts in memory, so a small download could
# expand to gigabytes (a zip bomb). Real documents stay far below both limits.
MAX_UNPACKED_BYTES = 200 * 2**20
MAX_COMPRESSION_RATIO = 200


class ZipBombError(ValueError):
    """An archive that would expand beyond what a real attachment needs."""


@dataclass(frozen=True)
class AttachmentText:
    kind: str | None  # "pdf", "docx" or None (not a format we read)
    text: str | None
    error: str | None = None
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def attachment_kind(url: str, content_type: str, data: bytes) -> str | None:
    """ "pdf", "docx" or None, by signature first (servers often send octet-stream)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    if data.startswith(b"PK\x03\x04") and (
        suffix == ".docx" or "wordprocessingml" in content_type or _is_docx(data)
    ):
        return "docx"
    return None


def extract_text(url: str, content_type: str, data: bytes) -> AttachmentText:
    started, cpu = time.perf_counter(), time.process_time()
    kind = attachment_kind(url, content_type, data)
    try:
        if kind == "pdf":
            text = _pdf_text(data)
        elif kind == "docx":
            text = _docx_text(data)
        else:
            return AttachmentText(None, None)
    except Exception as exc:  # any parser failure is this file's problem only
        log.warning("cannot read %s attachment %s: %s", kind, url, exc)
        return AttachmentText(kind, None, f"{type(exc).__name__}: {exc}")
    cleaned = _BLANK_LINES.sub("\n", text).strip()
    return AttachmentText(
        kind,
        cleaned or None,
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu,
    )


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages[:MAX_PDF_PAGES])


def _docx_text(data: bytes) -> str:
    from docx import Document as DocxDocument

    check_archive_size(data)
    document = DocxDocument(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append(" ".join(cell.text for cell in row.cells))
    return "\n".join(lines)


def check_archive_size(
    data: bytes,
    max_unpacked: int = MAX_UNPACKED_BYTES,
    max_ratio: float = MAX_COMPRESSION_RATIO,
) -> None:
    """Refuse an archive whose members would expand past ``max_unpacked`` bytes in all, or
    whose expansion ratio betrays a bomb. zipfile never reads a member past its declared size,
    so checking the declared sizes bounds what parsing can inflate."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > max_unpacked:
        raise ZipBombError(f"archive would expand to {unpacked:,} bytes (cap {max_unpacked:,})")
    if unpacked > 10 * 2**20 and unpacked > max_ratio * len(data):
        raise ZipBombError(
            f"archive would expand {unpacked / len(data):,.0f}x ({unpacked:,} bytes from "
            f"{len(data):,}); cap {max_ratio:,.0f}x"
        )


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False
