"""A crawler's manifest next to the pages it stored: ``index.tsv`` with a ``file`` column.

Crawlers often store only the article fragment of a page (no <title>, no URL) and write what
they knew about the page into a manifest; without it those fragments would get a guessed title
and a file-path id. Recognised columns: ``file`` (required), ``source_url`` or ``url``,
``title``, ``doc_id`` or ``id``; any other column is kept as ``manifest_<name>``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST_NAME = "index.tsv"

_URL_COLUMNS = ("source_url", "url")
_ID_COLUMNS = ("doc_id", "id")
_KNOWN = {"file", "title", *_URL_COLUMNS, *_ID_COLUMNS}


@dataclass(frozen=True)
class ManifestEntry:
    """What the manifest says about one stored file."""

    file: str
    url: str | None = None
    title: str | None = None
    doc_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def is_manifest(path: Path) -> bool:
    """True for an ``index.tsv`` whose header names a ``file`` column."""
    if path.name != MANIFEST_NAME or not path.is_file():
        return False
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            header = handle.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return "file" in header.rstrip("\r\n").split("\t")


def load_manifest(directory: Path) -> dict[str, ManifestEntry]:
    """Entries of ``directory``'s manifest keyed by file name ({} when there is none)."""
    path = directory / MANIFEST_NAME
    if not is_manifest(path):
        return {}
    entries: dict[str, ManifestEntry] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            name = (row.get("file") or "").strip()
            if not name:
                continue
            entries[name] = ManifestEntry(
                file=name,
                url=_first(row, _URL_COLUMNS),
                title=_first(row, ("title",)),
                doc_id=_first(row, _ID_COLUMNS),
                extra={
                    f"manifest_{key}": value.strip()
                    for key, value in row.items()
                    if key and key not in _KNOWN and value and value.strip()
                },
            )
    return entries


def _first(row: dict[str, str], columns: tuple[str, ...]) -> str | None:
    for column in columns:
        value = (row.get(column) or "").strip()
        if value:
            return value
    return None
