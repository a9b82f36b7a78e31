"""Living compilations: newly ingested documents that match a compilation's standing query
are queued as proposals for a librarian to accept or reject, never added silently.

`propose_for_new_documents` takes ids of indexed documents; `ProposalObserver` is the same
check as an ingest-pipeline observer (used by `gongkai ingest` and `gongkai crawl`). A
document already included, excluded or proposed before (accepted or rejected alike) is not
proposed again, so re-ingesting a corpus proposes nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from analysis.synonyms import Thesaurus
from analysis.tokenizer import GovTokenizer
from compilations import store
from compilations.matching import QueryMatcher
from compilations.models import ProposalReason, StandingQuery
from engines.base import SearchBackend
from gongkai.database import create_database_engine
from gongkai.document import Document
from gongkai.settings import Settings

# Drafts and published compilations are kept up to date; archived ones are closed.
LIVING_STATUSES = ("draft", "published")


@dataclass
class ProposalRun:
    """What one call proposed: compilation id -> document ids queued."""

    proposed: dict[int, list[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(ids) for ids in self.proposed.values())

    def summary(self) -> str:
        if not self.total:
            return "no new proposals for compilations"
        return f"proposed {self.total} documents to {len(self.proposed)} compilations"


def living_queries(engine: Engine) -> list[tuple[int, StandingQuery]]:
    """(id, standing query) of the compilations kept up to date."""
    store.create_tables(engine)
    with engine.connect() as conn:
        return [
            (cid, query)
            for cid, raw in store.standing_queries(conn, LIVING_STATUSES)
            if not (query := StandingQuery.model_validate(raw)).is_empty
        ]


def propose_for_new_documents(
    engine: Engine,
    backend: SearchBackend,
    doc_ids: Iterable[str],
    *,
    tokenizer: GovTokenizer | None = None,
    thesaurus: Thesaurus | None = None,
) -> ProposalRun:
    """Queue each of ``doc_ids`` (fetched from ``backend``) as a proposal for every living
    compilation whose standing query it matches, with the matched words and a score."""
    living = living_queries(engine)
    run = ProposalRun()
    if not living:  # the common case: no work and no document fetched
        return run
    docs = [d for d in (backend.get(i) for i in dict.fromkeys(doc_ids)) if d is not None]
    return propose_documents(engine, docs, living, tokenizer=tokenizer, thesaurus=thesaurus)


def propose_documents(
    engine: Engine,
    docs: list[Document],
    living: list[tuple[int, StandingQuery]],
    *,
    tokenizer: GovTokenizer | None = None,
    thesaurus: Thesaurus | None = None,
) -> ProposalRun:
    """`propose_for_new_documents` for documents already in hand."""
    matcher = QueryMatcher(tokenizer or GovTokenizer(), thesaurus or Thesaurus())
    run = ProposalRun()
    for compilation_id, query in living:
        rows: list[dict[str, object]] = []
        queued: list[str] = []
        with engine.begin() as conn:
            known = store.known_doc_ids(conn, compilation_id)
            for doc in docs:
                if doc.id in known or len(doc.id) > store.ID_LENGTH:
                    continue
                found = matcher.match(query, doc)
                if found is None:
                    continue
                reason = ProposalReason(
                    source="standing_query", matched_terms=found.matched_terms, score=found.score
                )
                rows.append(
                    {
                        "compilation_id": compilation_id,
                        "doc_id": doc.id,
                        "title": doc.title,
                        "reason": reason.model_dump(mode="json"),
                    }
                )
                known.add(doc.id)
                queued.append(doc.id)
            store.insert_proposals(conn, rows)
        if queued:
            run.proposed[compilation_id] = queued
    return run


class ProposalObserver:
    """The ingest/crawl hook (an `IngestPipeline` observer): each indexed document is matched
    against the living compilations, a batch at a time, straight from the pipeline (no
    re-fetch from the engine, memory bounded by ``batch_size``). A database problem is
    reported by `finish`, not raised: the documents are indexed either way."""

    def __init__(
        self, settings: Settings, tokenizer: GovTokenizer | None = None, batch_size: int = 500
    ) -> None:
        self.settings = settings
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.run = ProposalRun()
        self.error: str | None = None
        self._buffer: list[Document] = []
        self._engine: Engine | None = None
        self._living: list[tuple[int, StandingQuery]] | None = None
        self._thesaurus: Thesaurus | None = None

    def __call__(self, doc: Document) -> None:
        if self.error is None:
            self._buffer.append(doc)
            if len(self._buffer) >= self.batch_size:
                self.flush()

    def flush(self) -> None:
        docs, self._buffer = self._buffer, []
        if not docs or self.error is not None:
            return
        try:
            if self._engine is None:
                self._engine = create_database_engine(self.settings)
                self._living = living_queries(self._engine)
                self._thesaurus = Thesaurus()
            if self._living:
                found = propose_documents(
                    self._engine,
                    docs,
                    self._living,
                    tokenizer=self.tokenizer,
                    thesaurus=self._thesaurus,
                )
                for cid, ids in found.proposed.items():
                    self.run.proposed.setdefault(cid, []).extend(ids)
        except SQLAlchemyError as exc:
            self.error = f"could not check compilations for proposals: {type(exc).__name__}"

    def finish(self) -> str:
        """Match what is left and say what was proposed (a line for the user)."""
        self.flush()
        if self._engine is not None:
            self._engine.dispose()
        return self.error or self.run.summary()
