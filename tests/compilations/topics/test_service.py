"""Building, storing, rebuilding and assigning topics, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from analysis.tokenizer import GovTokenizer
from compilations.topics.errors import NoTopicModel, TooFewDocuments, TopicNotFound
from compilations.topics.service import assign_documents, build_topics, models_dir
from compilations.topics.store import TopicStore
from gongkai.database import create_database_engine
from gongkai.settings import Settings
from tests.support.topic_corpus import TOPICS, topic_documents, topic_of


@pytest.fixture
def store(db_settings: Settings) -> Iterator[TopicStore]:
    engine = create_database_engine(db_settings)
    yield TopicStore(engine, models_dir(db_settings))
    engine.dispose()  # before the test database is dropped


def ids_by_topic(store: TopicStore, set_name: str = "all") -> dict[str, int]:
    """Corpus topic name -> stored topic id (through the members of each stored topic)."""
    build = store.current_build(set_name)
    members = store.members(build.id)
    out: dict[str, int] = {}
    for name in TOPICS:
        votes = Counter(t for d, t in members.items() if topic_of(d) == name)
        out[name] = votes.most_common(1)[0][0]
    return out


def test_build_stores_topics_terms_members_and_years(
    db_settings: Settings, store: TopicStore, tokenizer: GovTokenizer
) -> None:
    docs = topic_documents()
    summary = build_topics(db_settings, store, docs, tokenizer=tokenizer, k=3)
    assert (summary.n_documents, summary.n_topics, summary.new_ids) == (36, 3, 3)
    build = store.current_build("all")
    assert sorted(t.topic_id for t in build.topics) == [1, 2, 3]
    for topic in build.topics:
        assert topic.size == 12
        assert topic.terms and topic.label
        reps = topic.representatives
        assert len(reps) == 5 and len({topic_of(r["id"]) for r in reps}) == 1
        assert all(r["title"].startswith("关于") for r in reps)
    years = store.year_counts(build.id)
    assert sum(n for per_year in years.values() for n in per_year.values()) == 36
    assert set(years[build.topics[0].topic_id]) == set(range(2015, 2021))
    first = build.topics[0]
    page = store.documents_of(build.id, first.topic_id, limit=4)
    assert len(page) == 4 and [s for _, s in page] == sorted((s for _, s in page), reverse=True)
    assert (models_dir(db_settings)).is_dir()


def test_rebuild_keeps_the_ids_of_unchanged_topics(
    db_settings: Settings, store: TopicStore, tokenizer: GovTokenizer
) -> None:
    docs = topic_documents()
    build_topics(db_settings, store, docs, tokenizer=tokenizer, k=3)
    before = ids_by_topic(store)
    # Same corpus in another order with a few more documents: same topics, same ids.
    more = topic_documents(per_topic=3, seed=99, prefix="new:")
    summary = build_topics(
        db_settings, store, list(reversed(docs)) + more, tokenizer=tokenizer, k=3
    )
    assert (summary.kept_ids, summary.new_ids) == (3, 0)
    assert ids_by_topic(store) == before
    matched = [t.matched_similarity for t in store.current_build("all").topics]
    assert all(s is not None and s > 0.8 for s in matched)


def test_a_new_topic_gets_a_new_id_and_old_ids_are_not_reused(
    db_settings: Settings, store: TopicStore, tokenizer: GovTokenizer
) -> None:
    docs = topic_documents()
    build_topics(
        db_settings, store, [d for d in docs if topic_of(d.id) != "征收"], tokenizer=tokenizer, k=2
    )
    first = ids_by_topic_subset(store, ["低保", "养老"])
    build_topics(db_settings, store, docs, tokenizer=tokenizer, k=3)
    second = ids_by_topic(store)
    assert second["低保"] == first["低保"] and second["养老"] == first["养老"]
    assert second["征收"] == 3  # ids 1 and 2 were taken by the first build
    # Third build without 养老: its id retires and is not handed to anything else.
    build_topics(
        db_settings, store, [d for d in docs if topic_of(d.id) != "养老"], tokenizer=tokenizer, k=2
    )
    third = {t.topic_id for t in store.current_build("all").topics}
    assert third == {second["低保"], second["征收"]}


def ids_by_topic_subset(store: TopicStore, names: list[str]) -> dict[str, int]:
    build = store.current_build("all")
    members = store.members(build.id)
    return {
        n: Counter(t for d, t in members.items() if topic_of(d) == n).most_common(1)[0][0]
        for n in names
    }


def test_only_the_current_and_previous_builds_are_kept(
    db_settings: Settings, store: TopicStore, tokenizer: GovTokenizer
) -> None:
    docs = topic_documents()
    ids = [
        build_topics(db_settings, store, docs, tokenizer=tokenizer, k=3).build_id for _ in range(3)
    ]
    assert store._build_row(ids[0]) is None
    assert store._build_row(ids[1]) is not None and store.members(ids[1])
    files = sorted(p.name for p in models_dir(db_settings).iterdir())
    assert len(files) == 2 and all(f"build-{ids[2]}" in f for f in files)


def test_new_documents_are_assigned_without_refitting(
    db_settings: Settings, store: TopicStore, tokenizer: GovTokenizer
) -> None:
    build_topics(db_settings, store, topic_documents(), tokenizer=tokenizer, k=3)
    ids = ids_by_topic(store)
    fresh = topic_documents(per_topic=2, seed=5, prefix="fresh:")
    result = assign_documents(store, fresh + topic_documents()[:1], tokenizer=tokenizer)
    assert (result.checked, result.added, result.unassigned) == (7, 6, 0)
    build = store.current_build("all")
    members = store.members(build.id)
    for doc in fresh:
        assert members[doc.id] == ids[topic_of(doc.id)]
    assert sorted(t.size for t in build.topics) == [14, 14, 14]
    years = store.year_counts(build.id)
    assert sum(sum(y.values()) for y in years.values()) == 42
    # Assigning the same documents again adds nothing.
    assert assign_documents(store, fresh, tokenizer=tokenizer).added == 0


def test_bad_input_is_refused_clearly(
    db_settings: Settings, store: TopicStore, tokenizer: GovTokenizer
) -> None:
    with pytest.raises(NoTopicModel, match="topics build"):
        store.current_build("all")
    with pytest.raises(TooFewDocuments, match="10 topics need at least 10"):
        build_topics(db_settings, store, topic_documents(per_topic=2), tokenizer=tokenizer, k=10)
    with pytest.raises(NoTopicModel):
        store.current_build("all")  # a failed build stores nothing
    build_topics(db_settings, store, topic_documents(), tokenizer=tokenizer, k=3)
    with pytest.raises(TopicNotFound, match="no topic 99"):
        store.topic("all", 99)


def test_sets_are_separate(
    db_settings: Settings, store: TopicStore, tokenizer: GovTokenizer
) -> None:
    docs = topic_documents()
    build_topics(db_settings, store, docs, tokenizer=tokenizer, k=3)
    build_topics(
        db_settings, store, docs[:12], tokenizer=tokenizer, k=2, set_name="低保", query="低保"
    )
    assert len(store.current_build("all").topics) == 3
    small = store.current_build("低保")
    assert small.query == "低保" and len(small.topics) == 2
    assert sorted(t.topic_id for t in small.topics) == [1, 2]


def test_hdbscan_build_finds_the_topics_without_k(
    db_settings: Settings, store: TopicStore, tokenizer: GovTokenizer
) -> None:
    summary = build_topics(
        db_settings, store, topic_documents(per_topic=20), tokenizer=tokenizer, method="hdbscan"
    )
    assert summary.k is None and summary.method == "hdbscan"
    assert summary.n_topics == 3
    assert sorted(t.size for t in store.current_build("all").topics) == [20, 20, 20]
