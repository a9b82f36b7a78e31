"""Web pages saved as files (.html/.htm): main text, title and the page's metadata table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gongkai.document import Document
from ingest.base import NO_MATCH, SNIFFED, DropItem, Ingestor, Problem, file_identity
from ingest.support.encoding import EncodingMixin
from ingest.support.fields import derive_title
from ingest.support.html import HTMLMixin
from ingest.support.manifest import ManifestEntry

# Crawlers (wget, httrack) often save pages without an extension.
_LOOKS_LIKE_HTML = re.compile(rb"^\s*(?:<!doctype\s+html|<html[\s>])", re.IGNORECASE)


class HTMLFileIngestor(EncodingMixin, HTMLMixin, Ingestor):
    name = "html"
    extensions = frozenset({".html", ".htm", ".shtml", ".xhtml"})

    @classmethod
    def match(cls, path: Path, head: bytes) -> int:
        score = super().match(path, head)
        if score == NO_MATCH and not path.suffix and _LOOKS_LIKE_HTML.match(head):
            return SNIFFED
        return score

    def ingest(self, path: Path, hint: ManifestEntry | None = None) -> Iterator[Document | Problem]:
        decoded = self.decode(path.read_bytes(), markup=True)
        page = self.extract_page(decoded.text)
        if not page.body and not page.title:
            raise DropItem("no text in the page")
        doc_id, url = file_identity(path, hint)
        extra: dict[str, Any] = {
            **page.extra,
            "ingested_from": str(path.resolve()),
            "source_encoding": decoded.encoding,
            **(hint.extra if hint else {}),
        }
        # The page's own title first; a crawler's manifest knows the title of fragments that
        # lost theirs; only then the first line of the text, marked as derived.
        title = page.title or (hint.title if hint else None)
        if not title:
            title = derive_title(page.body)
            extra["title_derived"] = True
        yield Document(
            id=doc_id,
            url=url,
            source="file",
            title=title,
            body=page.body,
            **page.fields,
            **extra,
        )
