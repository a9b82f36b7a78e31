"""What every ingestor shares: its errors, the `Problem` it reports, and the `Ingestor` base.

One `Ingestor` subclass per source kind; the manager asks each class how well it fits a file
(`match`) and gives the file to the highest bidder (cf. ingest-file's ``Manager.auction``), so a
new source kind is a new class, never another branch in an if/elif chain.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from gongkai.document import Document, stable_id
from gongkai.errors import GongkaiError
from gongkai.settings import Settings
from ingest.support.manifest import ManifestEntry

# Scores `match` gives; the manager picks the highest, 0 means "not mine".
NO_MATCH = 0
SNIFFED = 5  # the first bytes look right, the extension says nothing
BY_EXTENSION = 10


class IngestError(GongkaiError):
    """A source (or one record in it) that cannot be read; reported, then skipped."""

    def __init__(self, message: str, *, path: Path | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def to_problem(self, path: Path) -> Problem:
        return Problem(
            path=self.path or path, line=self.line, message=self.message, kind=type(self).__name__
        )


class UndecodableFile(IngestError):
    """Bytes that do not decode cleanly to text (binary, or an encoding we cannot tell)."""


class FileTooLarge(IngestError):
    """A file (or one JSONL line) over `Settings.max_file_bytes`."""


class BadRecord(IngestError):
    """One record in a multi-record file is broken (bad JSON, wrong types); the rest load."""

    def __init__(self, message: str, *, path: Path, line: int):
        super().__init__(message, path=path, line=line)


class DropItem(IngestError):
    """Deliberately skipped (no text at all, empty record): nothing is wrong with the reader.

    Named after scrapy's ``DropItem``: any stage may raise it to drop one item.
    """


class Problem(BaseModel):
    """Something reported and skipped: which file, which line (for JSONL), and why."""

    model_config = ConfigDict(frozen=True)

    path: Path
    line: int | None = None
    message: str
    kind: str = "IngestError"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.message}"


class Ingestor(ABC):
    """Reads one kind of source file into documents.

    Subclasses set `extensions` (or override `match`) and implement `ingest`. An ingestor that
    streams (JSONL) sets ``streams = True``: the size cap then bounds each record it holds in
    memory instead of the whole file.
    """

    name: ClassVar[str]
    extensions: ClassVar[frozenset[str]] = frozenset()
    streams: ClassVar[bool] = False

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def match(cls, path: Path, head: bytes) -> int:
        """How well this class fits the file: `BY_EXTENSION`, `SNIFFED` or `NO_MATCH`.

        ``head`` is the file's first bytes, for classes that recognise content.
        """
        return BY_EXTENSION if path.suffix.lower() in cls.extensions else NO_MATCH

    @abstractmethod
    def ingest(self, path: Path, hint: ManifestEntry | None = None) -> Iterator[Document | Problem]:
        """Documents from ``path``; per-record problems are yielded, whole-file ones raised.

        ``hint`` is what a crawler's manifest says about the file (its URL, title, id).
        """

    def estimate(self, path: Path) -> int:
        """Cheap count of the documents ``path`` holds, for a progress bar total."""
        return 1


def human_size(n: int | float) -> str:
    """``52428800`` -> ``'50.0 MB'`` (KB below a megabyte, bytes below a kilobyte)."""
    if n >= 2**20:
        return f"{n / 2**20:.1f} MB"
    if n >= 2**10:
        return f"{n / 2**10:.1f} KB"
    return f"{int(n)} bytes"


def file_identity(path: Path, hint: ManifestEntry | None = None) -> tuple[str, str | None]:
    """(id, url) of the document read from one file.

    A manifest's id, else its URL, wins: the page keeps the identity its crawler gave it. Else
    the id hashes the file's absolute path as a ``file://`` URI rather than its content, so that
    re-ingesting an edited file replaces its earlier version in the index instead of adding a
    second document (``content_hash`` tells the versions apart). Moving the folder changes the
    ids; a content id would survive the move but leave a stale copy behind after every edit.
    """
    if hint is not None and hint.doc_id:
        return hint.doc_id, hint.url
    if hint is not None and hint.url:
        return stable_id(url=hint.url), hint.url
    return stable_id(url=path.resolve().as_uri()), None
