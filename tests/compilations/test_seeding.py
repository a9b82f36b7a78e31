"""Seeded compilations: seed terms and documents, expanded by the thesaurus (and topics when
given), searched with the real SearchService, proposed with a reason."""

from __future__ import annotations

import pytest

from analysis.tokenizer import GovTokenizer, normalise
from compilations.errors import InvalidChange
from compilations.seeding import expand_terms, propose_seeded, seed_compilation
from compilations.service import CompilationService
from compilations.topic_hints import StoredTopicHints
from compilations.topics.service import build_topics, models_dir
from compilations.topics.store import TopicStore
from engines.base import SearchBackend
from gongkai.settings import Settings
from search_api.service import SearchService
from tests.compilations.conftest import sample_documents

LOW_INCOME_WORDS = ("最低生活保障", "低保", "特困")
RELEVANT = {
    d.id
    for d in sample_documents()
    if any(w in normalise(d.title + d.body) for w in LOW_INCOME_WORDS)
}


@pytest.fixture
def search(search_backend: SearchBackend, tokenizer: GovTokenizer) -> SearchService:
    return SearchService(search_backend, tokenizer)


def test_expansion_adds_thesaurus_alternatives(search: SearchService) -> None:
    expanded = dict(expand_terms(["低保标准", "特困供养"], search))
    assert expanded["低保标准"] == 1.0 and expanded["特困供养"] == 1.0
    assert expanded["最低生活保障标准"] < 1.0
    assert expanded["最低生活保障"] < 1.0  # 低保标准 contains 低保
    assert "特困人员救助供养" in expanded


def test_seed_terms_and_document_give_ranked_reasoned_proposals(
    service: CompilationService, search: SearchService
) -> None:
    result = seed_compilation(
        service,
        search,
        "lin",
        "低保",
        ["最低生活保障", "低保标准", "特困供养"],
        ["sample-020"],
        limit=20,
    )
    compilation = service.get(result.compilation_id)
    assert compilation.title == "低保" and compilation.status == "draft"
    assert compilation.query.q == "最低生活保障 低保标准 特困供养"  # living from now on
    assert [e.doc_id for e in compilation.documents] == ["sample-020"]
    proposals = service.proposals(result.compilation_id)
    assert [p.doc_id for p in proposals] and "sample-020" not in {p.doc_id for p in proposals}
    for proposal in proposals:
        reason = proposal.reason
        assert reason.source == "seed" and reason.score > 0
        assert reason.matched_terms or reason.similarity is not None
    proposed = {p.doc_id for p in proposals}
    # Everything about 低保/特困 is proposed; nothing is added without a decision.
    assert RELEVANT - {"sample-020"} <= proposed, sorted(RELEVANT - proposed)
    assert len(service.get(result.compilation_id).documents) == 1
    # The best candidates are the ones with the seed words in their titles.
    top = result.proposed[:3]
    assert {"sample-021", "sample-022", "sample-024"} & set(top), top
    assert not {"sample-009", "sample-010"} & proposed  # 养老金 is not 低保


def test_seed_documents_alone_stand_for_their_keywords(
    service: CompilationService, search: SearchService
) -> None:
    # sample-034 is about 医保; the other 医疗保障 documents should lead the inbox.
    medical = {d.id for d in sample_documents() if "医疗保障局" in "".join(d.agency)}
    result = seed_compilation(service, search, "lin", "医保", doc_ids=["sample-034"], limit=10)
    proposals = {p.doc_id: p for p in service.proposals(result.compilation_id)}
    assert "sample-034" not in proposals
    top = result.proposed[:5]
    assert len(set(top) & medical) >= 4, top
    assert all(proposals[i].reason.matched_terms for i in top)
    assert any(p.reason.similarity is not None for p in proposals.values())
    assert max(p.reason.similarity or 0 for p in proposals.values()) <= 1.0


def test_topic_model_expands_and_labels(
    service: CompilationService,
    search: SearchService,
    db_settings: Settings,
    tokenizer: GovTokenizer,
) -> None:
    """With a real topic build over the samples, seeding uses the seed document's topic."""
    store = TopicStore(service.engine, models_dir(db_settings))
    build_topics(db_settings, store, sample_documents(), tokenizer=tokenizer, k=6)
    hints = StoredTopicHints.current(service.engine, models_dir(db_settings))
    assert hints is not None
    label, terms = hints.topics_of(["sample-024"])["sample-024"]
    result = seed_compilation(
        service, search, "lin", "特困", ["特困供养"], ["sample-024"], limit=30, topics=hints
    )
    assert set(terms[:3]) <= set(result.expanded_terms)
    proposals = service.proposals(result.compilation_id)
    same_topic = [p for p in proposals if p.reason.topic == label]
    assert same_topic, label
    assert all(hints.topics_of([p.doc_id])[p.doc_id][0] == label for p in same_topic)


def test_seeding_again_proposes_only_new_candidates(
    service: CompilationService, search: SearchService
) -> None:
    first = seed_compilation(service, search, "lin", "低保", ["低保"], limit=5)
    again = propose_seeded(service, search, "lin", first.compilation_id, ["低保"], limit=5)
    assert not set(first.proposed) & set(again.proposed)
    with pytest.raises(InvalidChange):
        seed_compilation(service, search, "lin", "空", [], [])
