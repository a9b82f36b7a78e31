"""Stable ids: Hungarian pairing of old and new topics."""

from __future__ import annotations

from compilations.topics.matching import TopicProfile, match_topics


def members(groups: dict[int, range | list[int]]) -> dict[str, int]:
    return {f"d{i}": topic for topic, ids in groups.items() for i in ids}


def test_same_members_keep_ids_even_when_cluster_order_changes() -> None:
    old = [TopicProfile(7, {}), TopicProfile(9, {})]
    old_members = members({7: range(0, 10), 9: range(10, 20)})
    new_members = members({0: range(10, 20), 1: range(0, 10)})  # swapped cluster numbers
    matches = match_topics(old, [{}, {}], old_members, new_members)
    assert {m.new_index: m.old_id for m in matches} == {0: 9, 1: 7}
    assert all(m.similarity == 1.0 for m in matches)


def test_each_old_id_goes_to_at_most_one_new_topic() -> None:
    # New topic 0 holds part of old 7 and all of old 9; new topic 1 the rest of old 7.
    # Jaccard: (7,0)=0.3, (9,0)=0.625, (7,1)=0.4, (9,1)=0. Best total: 9->0 and 7->1.
    old = [TopicProfile(7, {}), TopicProfile(9, {})]
    old_members = members({7: range(0, 10), 9: range(10, 20)})
    new_members = members({0: [*range(0, 6), *range(10, 20)], 1: range(6, 10)})
    matches = match_topics(old, [{}, {}], old_members, new_members)
    assert {m.new_index: (m.old_id, round(m.similarity, 3)) for m in matches} == {
        0: (9, 0.625),
        1: (7, 0.4),
    }


def test_a_topic_that_changed_too_much_gets_no_old_id() -> None:
    old = [TopicProfile(1, {})]
    old_members = members({1: range(0, 10)})
    new_members = members({0: range(0, 2), 1: range(2, 10)})  # split: 0.2 and 0.8 overlap
    matches = match_topics(old, [{}, {}], old_members, new_members)
    assert [(m.new_index, m.old_id) for m in matches] == [(1, 1)]


def test_without_shared_documents_label_terms_decide() -> None:
    old = [TopicProfile(3, {"养老金": 0.9, "退休": 0.4}), TopicProfile(4, {"征收": 1.0})]
    new = [{"征收": 0.8, "补偿": 0.3}, {"养老金": 0.7, "退休": 0.5}, {"教育": 1.0}]
    matches = match_topics(old, new, {"a": 3}, {"b": 0})
    assert {m.new_index: m.old_id for m in matches} == {0: 4, 1: 3}
