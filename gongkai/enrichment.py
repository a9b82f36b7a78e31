"""Per-document stages between reading and indexing: what the analysis package can tell about
a document (validity from its text, references, keywords) and whether we already have it.

Each stage fills only what is missing, so a source's own metadata always wins. A stage may
drop an item by raising `ingest.base.DropItem` (scrapy's convention); the pipeline reports it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Protocol

from analysis.dedup import DuplicateFilter
from analysis.keywords import KeywordExtractor
from analysis.references import extract_references
from analysis.validity import validity_from_text
from gongkai.document import Document
from ingest.base import DropItem


class DocumentStage(Protocol):
    def process(self, doc: Document) -> Document:
        """The document, completed; or raise `DropItem`."""


class TextValidityStage:
    """有效性 from the text (施行, 有效期, 同时废止) when the source gave none."""

    def __init__(self, today: date) -> None:
        self.today = today

    def process(self, doc: Document) -> Document:
        if doc.validity.status != "unknown":
            return doc
        found = validity_from_text(doc, today=self.today)
        return doc.model_copy(update={"validity": found}) if found else doc


class ReferencesStage:
    """Documents this one cites, amends, abolishes or implements."""

    def process(self, doc: Document) -> Document:
        if doc.references:
            return doc
        return doc.model_copy(update={"references": extract_references(doc)})


class KeywordsStage:
    """主题词 when the source gave none."""

    def __init__(self, extractor: KeywordExtractor, k: int = 8) -> None:
        self.extractor = extractor
        self.k = k

    def process(self, doc: Document, body_counts: Mapping[str, int] | None = None) -> Document:
        """``body_counts``: how often each of the body's tokens occurs, when the caller knows
        already (the enrichment workers read it off the document's analysis), so the body is
        not segmented twice."""
        if doc.subject_words or not doc.body:
            return doc
        scored = (
            self.extractor.scores(doc.body, self.k)
            if body_counts is None
            else self.extractor.scores_of_counts(body_counts, self.k)
        )
        return doc.model_copy(update={"subject_words": [word for word, _ in scored]})


class DuplicateStage:
    """Indexes a document once: a reprint (exact or near) is dropped and remembered as another
    place the canonical document is published (`grouped`)."""

    def __init__(self, finder: DuplicateFilter) -> None:
        self.finder = finder
        self.grouped: dict[str, list[str]] = defaultdict(list)

    def process(self, doc: Document) -> Document:
        verdict = self.finder.add(doc)
        if verdict.kind == "new" or verdict.canonical_id in (None, doc.id):
            return doc
        canonical = verdict.canonical_id
        self.grouped[canonical].append(doc.url or doc.id)
        raise DropItem(
            f"{doc.id}: {verdict.kind} duplicate of {canonical} "
            f"(similarity {verdict.similarity:.2f})"
        )


def run_stages(stages: Sequence[DocumentStage], doc: Document) -> Document:
    for stage in stages:
        doc = stage.process(doc)
    return doc


def through_stages(stages: Sequence[DocumentStage], item: object) -> object:
    """A document through ``stages``, or why one of them dropped it ("dropped: ..."); any
    other item (a problem the reader reported) is passed on untouched."""
    if not isinstance(item, Document):
        return item
    try:
        return run_stages(stages, item)
    except DropItem as dropped:
        return f"dropped: {dropped}"
