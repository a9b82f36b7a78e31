"""Living compilations: new documents matching a standing query become proposals, never
silent additions; accepted ones are added as a version, rejected ones are not proposed again."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.analyzer import DocumentAnalyzer
from analysis.synonyms import Thesaurus
from analysis.tokenizer import GovTokenizer, normalise
from compilations.errors import InvalidChange
from compilations.matching import QueryMatcher
from compilations.models import CompilationCreate, CompilationUpdate, StandingQuery
from compilations.proposals import ProposalObserver, propose_for_new_documents
from compilations.service import CompilationService
from engines import make_backend
from engines.base import SearchBackend
from gongkai.document import Document
from gongkai.pipeline import IngestPipeline
from gongkai.settings import Settings
from tests.compilations.conftest import sample_documents

# Every sample mentioning 最低生活保障 or its synonym 低保 (found by plain substring search).
LOW_INCOME = {
    d.id
    for d in sample_documents()
    if any(w in normalise(d.title + d.body) for w in ("最低生活保障", "低保"))
}
ALL_IDS = [d.id for d in sample_documents()]


def _living(service: CompilationService, query: StandingQuery, status: str = "draft") -> int:
    spec = CompilationCreate(title="低保", query=query, status=status)  # type: ignore[arg-type]
    return service.create("lin", spec).id


def test_matching_new_documents_are_proposed_with_a_reason(
    service: CompilationService, search_backend: SearchBackend, tokenizer: GovTokenizer
) -> None:
    cid = _living(service, StandingQuery(q="最低生活保障"))
    run = propose_for_new_documents(service.engine, search_backend, ALL_IDS, tokenizer=tokenizer)
    assert set(run.proposed[cid]) == LOW_INCOME
    assert len(LOW_INCOME) >= 8  # the check above means something
    inbox = {p.doc_id: p for p in service.proposals(cid)}
    assert set(inbox) == LOW_INCOME
    # 021 says only 低保: found through the thesaurus, and the reason says so.
    assert inbox["sample-021"].reason.matched_terms == ["低保"]
    assert inbox["sample-022"].reason.matched_terms == ["最低生活保障"]
    assert inbox["sample-022"].reason.source == "standing_query"
    # A title match scores above a body-only match.
    assert inbox["sample-022"].reason.score > inbox["sample-016"].reason.score
    assert inbox["sample-022"].title == "示例市最低生活保障审核确认办法"
    # Proposed only: nothing was added.
    assert service.get(cid).documents == []


def test_filters_of_the_standing_query_apply(
    service: CompilationService, search_backend: SearchBackend, tokenizer: GovTokenizer
) -> None:
    cid = _living(
        service,
        StandingQuery(
            q="最低生活保障", filters={"agency": ["示例市民政局"]}, year_from=2022, year_to=2024
        ),
    )
    propose_for_new_documents(service.engine, search_backend, ALL_IDS, tokenizer=tokenizer)
    docs = {d.id: d for d in sample_documents()}
    expected = {
        i
        for i in LOW_INCOME
        if "示例市民政局" in docs[i].agency and 2022 <= (docs[i].year or 0) <= 2024
    }
    assert expected and expected != LOW_INCOME
    assert {p.doc_id for p in service.proposals(cid)} == expected


def test_nothing_is_proposed_twice_and_decisions_stick(
    service: CompilationService, search_backend: SearchBackend, tokenizer: GovTokenizer
) -> None:
    cid = _living(service, StandingQuery(q="低保"))
    service.add_documents(cid, "lin", ["sample-020"])
    service.update(cid, "lin", CompilationUpdate(excludes=["sample-023"]))
    first = propose_for_new_documents(service.engine, search_backend, ALL_IDS, tokenizer=tokenizer)
    assert set(first.proposed[cid]) == LOW_INCOME - {"sample-020", "sample-023"}
    before = service.version(cid)
    added = service.accept(cid, "wang", "sample-022", expected_version=before)
    assert [e.doc_id for e in added.documents] == ["sample-020", "sample-022"]
    assert added.version == before + 1
    assert service.history(cid)[0].author == "wang"
    rejected = service.reject(cid, "wang", "sample-025")
    assert rejected.status == "rejected" and rejected.decided_by == "wang"
    with pytest.raises(InvalidChange):
        service.accept(cid, "wang", "sample-025")
    # Ingesting the same documents again proposes nothing new.
    again = propose_for_new_documents(service.engine, search_backend, ALL_IDS, tokenizer=tokenizer)
    assert again.total == 0
    statuses = {p.doc_id: p.status for p in service.proposals(cid, None)}
    assert statuses["sample-022"] == "accepted" and statuses["sample-025"] == "rejected"


def test_archived_and_query_less_compilations_are_not_living(
    service: CompilationService, search_backend: SearchBackend, tokenizer: GovTokenizer
) -> None:
    archived = _living(service, StandingQuery(q="低保"), status="archived")
    plain = _living(service, StandingQuery())
    run = propose_for_new_documents(service.engine, search_backend, ALL_IDS, tokenizer=tokenizer)
    assert run.total == 0
    assert service.proposals(archived) == [] and service.proposals(plain) == []


def test_unknown_ids_are_skipped(
    service: CompilationService, search_backend: SearchBackend, tokenizer: GovTokenizer
) -> None:
    cid = _living(service, StandingQuery(q="低保"))
    run = propose_for_new_documents(
        service.engine, search_backend, ["no-such-doc", "sample-025"], tokenizer=tokenizer
    )
    assert run.proposed == {cid: ["sample-025"]}


def test_query_syntax_required_excluded_phrase_and_title(tokenizer: GovTokenizer) -> None:
    matcher = QueryMatcher(tokenizer, Thesaurus())
    doc = Document(
        id="d",
        title="关于调整低保标准的通知",
        body="农村最低生活保障标准提高。特困人员救助供养同步调整。",
        validity="有效",
    )

    def matches(q: str) -> bool:
        return matcher.match(StandingQuery(q=q), doc) is not None

    assert matches("低保 AND 农村")
    assert not matches("低保 AND 城市")
    assert matches("医保 OR 特困供养")  # 特困供养 <-> 特困人员救助供养
    assert not matches("低保 -农村")
    assert matches('"低保标准"')
    assert not matches('"农村低保"')  # a phrase is exact: no synonyms, no reordering
    assert matches("title:低保")
    assert not matches("title:农村")
    assert not matches("养老金 就业")
    assert matcher.match(StandingQuery(q="低保", filters={"validity": ["废止"]}), doc) is None


def test_ingest_observer_proposes_from_the_pipeline(
    db_settings: Settings, service: CompilationService, tokenizer: GovTokenizer, tmp_path: Path
) -> None:
    cid = _living(service, StandingQuery(q="最低生活保障"))
    fresh = make_backend(Settings(data_dir=tmp_path / "other"))
    observer = ProposalObserver(db_settings, tokenizer, batch_size=7)  # several batches
    IngestPipeline(DocumentAnalyzer(tokenizer), fresh, observers=[observer]).run(sample_documents())
    fresh.close()
    assert observer.finish() == f"proposed {len(LOW_INCOME)} documents to 1 compilations"
    assert {p.doc_id for p in service.proposals(cid)} == LOW_INCOME


def test_ingest_observer_reports_a_database_failure(
    tokenizer: GovTokenizer, tmp_path: Path
) -> None:
    broken = Settings(
        data_dir=tmp_path, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"
    )
    observer = ProposalObserver(broken, tokenizer)
    for doc in sample_documents()[:3]:
        observer(doc)
    assert observer.finish().startswith("could not check compilations for proposals")
