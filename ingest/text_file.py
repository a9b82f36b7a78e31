"""Plain-text files (.txt): one document each, titled by their first non-empty line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gongkai.document import Document
from ingest.base import DropItem, Ingestor, Problem, file_identity
from ingest.support.encoding import EncodingMixin
from ingest.support.fields import derive_title
from ingest.support.manifest import ManifestEntry


class TextFileIngestor(EncodingMixin, Ingestor):
    name = "text"
    extensions = frozenset({".txt", ".text"})

    def ingest(self, path: Path, hint: ManifestEntry | None = None) -> Iterator[Document | Problem]:
        decoded = self.decode(path.read_bytes())
        body = normalize_text(decoded.text)
        if not body:
            raise DropItem("no text in the file (only whitespace)")
        doc_id, url = file_identity(path, hint)
        extra: dict[str, Any] = {
            "ingested_from": str(path.resolve()),
            "source_encoding": decoded.encoding,
            **(hint.extra if hint else {}),
        }
        if hint is not None and hint.title:
            title = hint.title
        else:
            # A text file has no title field: its first line is the title by convention,
            # and the body keeps that line (it is part of the document as printed).
            title = derive_title(body)
            extra["title_derived"] = True
        yield Document(id=doc_id, url=url, source="file", title=title, body=body, **extra)


def normalize_text(text: str) -> str:
    """Unix line ends, no trailing spaces, no leading or trailing blank lines."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")
