"""The contract every search backend keeps, and the engine-neutral query and result types.

Queries arrive here already analysed (tokens, not user text): the engines never parse user
syntax, so nothing a user types can become engine query syntax.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from analysis.docnumber import doc_number_terms
from gongkai.document import AnalyzedDocument, Document
from gongkai.errors import GongkaiError

# Keyword fields a search can filter and facet on; the same names in every engine's mapping.
KEYWORD_FIELDS: tuple[str, ...] = (
    "agency",
    "doc_type",
    "validity",
    "topic_top",
    "topic_sub",
    "region",
    "source",
    "doc_number",
)


# Validity values that count as "in force" for `SearchQuery.in_force_boost`.
IN_FORCE: tuple[str, ...] = ("有效", "已修改", "unknown")


class EngineError(GongkaiError):
    """The engine refused or failed a request."""


class EngineUnavailable(EngineError):
    """The engine cannot be reached; the message names where we tried."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"search engine at {where} is not available: {reason}")
        self.where = where


BoostedField = Literal["title", "body"]


def _equal_boosts() -> dict[BoostedField, float]:
    return {"title": 1.0, "body": 1.0}


class Match(BaseModel):
    """One way a `Clause` can match.

    - ``term``: one index token in the ``*_tokens`` fields;
    - ``phrase``: consecutive character bigrams in the ``*_grams`` fields, i.e. the exact
      character sequence (robust to how jieba happened to segment it);
    - ``doc_number``: the canonical 发文字号 in the ``doc_number`` keyword field.
    """

    kind: Literal["term", "phrase", "doc_number"]
    values: list[str] = Field(min_length=1)


class Clause(BaseModel):
    """A structured part of a query: any one of its matches, in any of its fields."""

    occur: Literal["must", "should", "must_not"] = "must"
    matches: list[Match] = Field(min_length=1)
    fields: list[BoostedField] = Field(default_factory=lambda: list(_equal_boosts()))
    boost: float = 1.0


class SearchQuery(BaseModel):
    """An analysed, engine-neutral query. Built by pure functions in ``search_api.queries``."""

    terms: list[str] = Field(default_factory=list, description="Analysed tokens, OR-ed, BM25.")
    grams: list[str] = Field(
        default_factory=list, description="Character bigrams, OR-ed, BM25 (a second opinion)."
    )
    gram_boost: float = 1.0
    field_boosts: dict[BoostedField, float] = Field(default_factory=_equal_boosts)
    clauses: list[Clause] = Field(default_factory=list)
    in_force_boost: float = Field(
        default=0.0,
        ge=0,
        description="Added to the score of documents not 废止/失效 (0: no preference).",
    )
    filters: dict[str, list[str]] = Field(
        default_factory=dict, description="Keyword field -> accepted values (any of them)."
    )
    year_from: int | None = None
    year_to: int | None = None
    sort: Literal["relevance", "newest"] = "relevance"
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=10, ge=0)
    search_after: list[float | int | str] | None = Field(
        default=None,
        description="Sort values of the last hit already seen (`SearchHit.sort_values`): "
        "return the hits after it, ``offset`` ignored. Deep paging without an offset cap.",
    )
    facets: list[str] = Field(default_factory=list, description="Keyword fields to count.")


class SearchHit(BaseModel):
    id: str
    score: float
    document: Document
    sort_values: list[float | int | str] = Field(
        default_factory=list,
        description="Where this hit stands in the engine's order (`sort_values_of`); "
        "pass back as `SearchQuery.search_after` to continue after it.",
    )


class FacetCount(BaseModel):
    value: str
    count: int


class SearchResult(BaseModel):
    total: int
    hits: list[SearchHit]
    facets: dict[str, list[FacetCount]] = Field(default_factory=dict)


@runtime_checkable
class SearchBackend(Protocol):
    """What the rest of Gongkai may ask of a search engine."""

    name: str

    def ensure_index(self) -> None:
        """Create the versioned index and its alias if they do not exist yet."""

    def index(self, docs: Sequence[AnalyzedDocument]) -> int:
        """Add or replace documents (same id = same document); returns how many."""

    def refresh(self) -> None:
        """Make everything indexed so far visible to search."""

    def delete(self, ids: Sequence[str]) -> int:
        """Remove documents by id; returns how many ids were asked for."""

    def get(self, doc_id: str) -> Document | None: ...

    def get_many(self, doc_ids: Sequence[str]) -> dict[str, Document]:
        """The indexed documents among ``doc_ids``, by id, in one request to the engine
        (ids not indexed are left out)."""

    def search(self, query: SearchQuery) -> SearchResult: ...

    def count(self) -> int: ...

    def iter_documents(self, batch_size: int = 1000) -> Iterator[Document]:
        """Every indexed document once, fetched ``batch_size`` at a time (topic building,
        exports of the whole index); order is the engine's, not relevance."""

    def suggest_titles(self, prefix: str, limit: int = 10) -> list[str]:
        """Titles of indexed documents that begin with ``prefix`` (as-you-type completion)."""

    def rebuild(self, docs: Iterable[AnalyzedDocument]) -> str:
        """Build a new versioned index from ``docs``, switch the alias to it, drop the old one;
        search keeps answering from the old index until the switch. Returns the new name."""

    def health(self) -> dict[str, Any]:
        """Engine name, where it is, document count; raises `EngineUnavailable`."""

    def drop(self) -> None:
        """Delete the index and alias (tests and `gongkai index drop`)."""

    def close(self) -> None: ...


class NullSearchBackend:
    """Does nothing and finds nothing: for stages run without an engine."""

    name = "null"

    def ensure_index(self) -> None:
        return None

    def index(self, docs: Sequence[AnalyzedDocument]) -> int:
        return len(docs)

    def refresh(self) -> None:
        return None

    def delete(self, ids: Sequence[str]) -> int:
        return len(ids)

    def get(self, doc_id: str) -> Document | None:
        return None

    def get_many(self, doc_ids: Sequence[str]) -> dict[str, Document]:
        return {}

    def search(self, query: SearchQuery) -> SearchResult:
        return SearchResult(total=0, hits=[])

    def count(self) -> int:
        return 0

    def iter_documents(self, batch_size: int = 1000) -> Iterator[Document]:
        return iter(())

    def suggest_titles(self, prefix: str, limit: int = 10) -> list[str]:
        return []

    def rebuild(self, docs: Iterable[AnalyzedDocument]) -> str:
        for _ in docs:
            pass
        return "null"

    def health(self) -> dict[str, Any]:
        return {"engine": self.name, "documents": 0}

    def drop(self) -> None:
        return None

    def close(self) -> None:
        return None


def engine_fields(analyzed: AnalyzedDocument) -> dict[str, Any]:
    """The flat field set both engines store for one document (names as in ``mappings/``)."""
    doc = analyzed.document
    topic = doc.topic
    return {
        "id": doc.id,
        "title": doc.title,
        "title_tokens": analyzed.title_text,
        "body_tokens": analyzed.body_text,
        "title_grams": analyzed.title_gram_text,
        "body_grams": analyzed.body_gram_text,
        "agency": list(doc.agency),
        # Missing values are None, never "": an empty string would show up as a facet value.
        "doc_type": doc.doc_type or None,
        "validity": doc.validity.status,
        "topic_top": (topic.top if topic else None) or None,
        "topic_sub": (topic.sub if topic else None) or None,
        "region": doc.region or None,
        "source": doc.source or None,
        # Canonical form (国办发〔2013〕73号 whatever brackets the page used), plus the issuer
        # and issuer+year, so a number is found as a unit and by issuer or year.
        "doc_number": doc_number_terms(doc.doc_number) if doc.doc_number else None,
        "year": doc.year,
        "date_published": doc.date_published.isoformat() if doc.date_published else None,
        "date_written": doc.date_written.isoformat() if doc.date_written else None,
        "sort_date": newest_key(doc),
        # The full record, so `get` and hits return the document exactly as ingested.
        "doc_json": doc.model_dump_json(),
    }


def document_from_fields(fields: dict[str, Any]) -> Document:
    return Document.model_validate(json.loads(fields["doc_json"]))


def sort_values_of(
    sort: Literal["relevance", "newest"], primary: float | int, doc_id: str
) -> list[float | int | str]:
    """The order every engine keeps: (score | newest date) descending, then ``id`` ascending,
    so equal scores and equal dates come back in one stable order on both engines."""
    return [float(primary) if sort == "relevance" else int(primary), doc_id]


def newest_key(doc: Document) -> int:
    """Sort key for 'newest first': published date, else written date, as yyyymmdd."""
    day = doc.date_published or doc.date_written
    return int(day.strftime("%Y%m%d")) if day else 0
