"""The typed shapes of curated compilations, shared by the service, the API and the CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, NamedTuple

from pydantic import BaseModel, Field, field_validator

Status = Literal["draft", "published", "archived"]
ProposalStatus = Literal["pending", "accepted", "rejected"]
ProposalSource = Literal["standing_query", "seed"]
# How documents can be ordered automatically (`CompilationService.apply_order`); "manual"
# keeps the positions librarians set.
OrderRule = Literal["manual", "validity_then_date", "level_then_date", "date_desc", "date_asc"]
# Filter fields a standing query may use: the same as the /search endpoint's.
FILTER_FIELDS = ("agency", "doc_type", "validity", "topic_top", "topic_sub", "region")
# Statuses anonymous readers may see; drafts are for librarians only.
PUBLIC_STATUSES: tuple[Status, ...] = ("published", "archived")


class StandingQuery(BaseModel):
    """A saved search, as the /search endpoint takes it: query text plus filters."""

    q: str = Field(default="", max_length=1000, description="Query text (search syntax).")
    filters: dict[str, list[str]] = Field(
        default_factory=dict, description="agency, doc_type, validity, topic_top, topic_sub, region"
    )
    year_from: int | None = Field(default=None, ge=1949, le=2100)
    year_to: int | None = Field(default=None, ge=1949, le=2100)

    @field_validator("filters")
    @classmethod
    def _known_filters(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(FILTER_FIELDS))
        if unknown:
            raise ValueError(f"unknown filter fields {unknown}; use {list(FILTER_FIELDS)}")
        return {k: list(v) for k, v in value.items() if v}

    @property
    def is_empty(self) -> bool:
        return not self.q.strip() and not self.filters and self.year_from is self.year_to is None


class CompilationCreate(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=20_000)
    query: StandingQuery = Field(default_factory=StandingQuery)
    status: Status = "draft"
    order_rule: OrderRule = "manual"
    sections: list[str] = Field(default_factory=list, description="Section names, in order.")


class CompilationUpdate(BaseModel):
    """Fields to change; those left out stay as they are."""

    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=20_000)
    query: StandingQuery | None = None
    status: Status | None = None
    order_rule: OrderRule | None = None
    excludes: list[str] | None = Field(
        default=None, description="Document ids never to propose (replaces the list)."
    )


class Entry(BaseModel):
    """One document of a compilation, where it stands and what the librarian noted."""

    doc_id: str
    position: int = Field(description="0-based place in the compilation's reading order.")
    section: str | None = None
    note: str = ""
    title: str = Field(default="", description="Title when the document was added.")
    added_by: str
    added_at: datetime
    missing: bool = Field(
        default=False, description="The document is no longer in the search index (kept here)."
    )


class Compilation(BaseModel):
    id: int
    title: str
    description: str
    query: StandingQuery
    status: Status
    order_rule: OrderRule
    version: int = Field(description="Increases with every change; send it back to edit.")
    sections: list[str]
    documents: list[Entry]
    excludes: list[str]
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


class CompilationSummary(BaseModel):
    id: int
    title: str
    status: Status
    version: int
    documents: int
    pending_proposals: int
    updated_by: str
    updated_at: datetime


class VersionInfo(BaseModel):
    version: int
    author: str
    created_at: datetime
    action: str = Field(description="What changed, e.g. 'add 3 documents'.")
    snapshot: str | None = Field(default=None, description="Name given by a snapshot.")


class ProposalReason(BaseModel):
    """Why a document was proposed: what matched and how strongly."""

    source: ProposalSource
    matched_terms: list[str] = Field(default_factory=list)
    score: float = 0.0
    similarity: float | None = Field(
        default=None, description="Closeness to a seed document (0-1), when seeded by one."
    )
    topic: str | None = None


class Proposal(BaseModel):
    doc_id: str
    title: str
    status: ProposalStatus
    reason: ProposalReason
    proposed_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None


class CompilationDocument(NamedTuple):
    """One row of `CompilationService.documents`: what an export needs, in reading order.
    A tuple, so ``for doc_id, section, note, missing in service.documents(cid)`` works."""

    doc_id: str
    section: str | None
    note: str
    missing: bool
