"""Walk files and folders and hand each file to the ingestor that bids highest for it.

Everything that cannot be read becomes a `Problem` in the same stream as the documents, so a
bad file never stops an ingest run (cf. ingest-file's ``Manager.auction``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import ValidationError

from gongkai.document import Document
from gongkai.settings import Settings
from ingest.base import NO_MATCH, FileTooLarge, IngestError, Ingestor, Problem, human_size
from ingest.html_file import HTMLFileIngestor
from ingest.jsonl import JsonlIngestor
from ingest.support.manifest import ManifestEntry, is_manifest, load_manifest
from ingest.text_file import TextFileIngestor

# Every ingestor bids on every file; on equal bids the earlier one wins.
DEFAULT_INGESTORS: tuple[type[Ingestor], ...] = (
    JsonlIngestor,
    HTMLFileIngestor,
    TextFileIngestor,
)
HEAD_BYTES = 4096


def read_sources(
    paths: Sequence[Path],
    settings: Settings,
    *,
    ingestors: Sequence[type[Ingestor]] = DEFAULT_INGESTORS,
) -> Iterator[Document | Problem]:
    """Documents from files and folders (recursively, sorted, hidden ones skipped), with a
    `Problem` for every file or record that was skipped and why."""
    manager = Manager(settings, ingestors)
    for item in iter_files(paths):
        if isinstance(item, Problem):
            yield item
        else:
            yield from manager.read(item)


def count_items(
    paths: Sequence[Path],
    settings: Settings,
    *,
    ingestors: Sequence[type[Ingestor]] = DEFAULT_INGESTORS,
) -> int:
    """Cheap estimate of the documents `read_sources` will yield, for a progress bar total.

    One per document file, one per line of JSONL; files that will be refused count 0.
    """
    manager = Manager(settings, ingestors)
    total = 0
    for item in iter_files(paths):
        if isinstance(item, Path):
            ingestor = manager.choose(item)
            if ingestor is not None:
                try:
                    total += ingestor.estimate(item)
                except OSError:
                    continue
    return total


def iter_files(paths: Sequence[Path]) -> Iterator[Path | Problem]:
    """The files under ``paths`` in a stable order; a `Problem` for paths that do not exist.

    Folders are walked depth-first in name order; names starting with "." and crawler
    manifests are skipped, and symlinked folders are not followed (they can loop). A file
    named explicitly is read even if hidden.
    """
    for path in paths:
        if path.is_dir():
            yield from _walk(path)
        elif path.is_file():
            yield path
        elif path.exists():
            yield Problem(path=path, message="not a regular file", kind="NotAFile")
        else:
            yield Problem(path=path, message="no such file or folder", kind="NotFound")


def _walk(root: Path) -> Iterator[Path | Problem]:
    # Depth-first with each folder's entries in name order, so files come out sorted by
    # their path (a/deeper/x, a/y, b, z) and the order never depends on the file system.
    stack: list[Iterator[Path]] = [iter([root])]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        if entry is not root and entry.name.startswith("."):
            continue
        if entry.is_dir():
            if entry is root or not entry.is_symlink():
                try:
                    stack.append(iter(sorted(entry.iterdir(), key=lambda p: p.name)))
                except OSError as exc:
                    yield Problem(path=entry, message=f"cannot list folder: {exc}", kind="OSError")
        elif entry.is_file() and not is_manifest(entry):
            yield entry


class Manager:
    """Chooses an ingestor per file by auction and turns its failures into problems."""

    def __init__(self, settings: Settings, ingestors: Sequence[type[Ingestor]]) -> None:
        self.settings = settings
        self.ingestors = tuple(ingestors)
        self._instances: dict[type[Ingestor], Ingestor] = {}
        self._manifests: dict[Path, dict[str, ManifestEntry]] = {}

    def auction(self, path: Path, head: bytes) -> type[Ingestor] | None:
        """The class bidding highest for the file, or None when nobody bids."""
        best: type[Ingestor] | None = None
        best_score = NO_MATCH
        for cls in self.ingestors:
            score = cls.match(path, head)
            if score > best_score:
                best, best_score = cls, score
        return best

    def choose(self, path: Path) -> Ingestor | None:
        """The ingestor that will read ``path``, or None if the file will be refused."""
        try:
            size = path.stat().st_size
            head = _head(path)
        except OSError:
            return None
        cls = self.auction(path, head) if size else None
        if cls is None or (not cls.streams and size > self.settings.max_file_bytes):
            return None
        return self._instance(cls)

    def read(self, path: Path) -> Iterator[Document | Problem]:
        """Documents from one file, or the problems that stopped them."""
        try:
            size = path.stat().st_size
            head = _head(path) if size else b""
        except OSError as exc:
            yield Problem(path=path, message=f"cannot read: {exc}", kind="OSError")
            return
        if size == 0:
            yield Problem(path=path, message="empty file", kind="EmptyFile")
            return
        cls = self.auction(path, head)
        if cls is None:
            kind = f"'{path.suffix}' files" if path.suffix else "files without an extension"
            yield Problem(
                path=path,
                message=f"unknown file type: {path.name} (no ingestor reads {kind})",
                kind="UnknownFileType",
            )
            return
        cap = self.settings.max_file_bytes
        # Streaming ingestors hold one record at a time and apply the cap per record.
        if not cls.streams and size > cap:
            yield FileTooLarge(
                f"file too large ({human_size(size)} > {human_size(cap)} cap)"
            ).to_problem(path)
            return
        hint = self._manifest(path.parent).get(path.name)
        try:
            yield from self._instance(cls).ingest(path, hint)
        except IngestError as exc:
            yield exc.to_problem(path)
        except ValidationError as exc:
            first = exc.errors()[0]
            yield Problem(
                path=path,
                message=f"does not fit a Document: {first['loc']}: {first['msg']}",
                kind="BadRecord",
            )
        except OSError as exc:
            yield Problem(path=path, message=f"cannot read: {exc}", kind="OSError")

    def _instance(self, cls: type[Ingestor]) -> Ingestor:
        if cls not in self._instances:
            self._instances[cls] = cls(self.settings)
        return self._instances[cls]

    def _manifest(self, folder: Path) -> dict[str, ManifestEntry]:
        if folder not in self._manifests:
            self._manifests[folder] = load_manifest(folder)
        return self._manifests[folder]


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(HEAD_BYTES)
