"""Topic hints for seeding, read from the current topic build (`gongkai topics build`).

Adapts `compilations.topics.store.TopicStore` to `compilations.seeding.TopicHints`: for each
document, the label and top terms of the topic it was assigned to.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine

from compilations.topics.service import DEFAULT_SET
from compilations.topics.store import TopicRecord, TopicStore


class StoredTopicHints:
    """Topics of one build; members are read once, on first use."""

    def __init__(self, store: TopicStore, build_id: int) -> None:
        self.store = store
        self.build_id = build_id
        self._members: dict[str, int] | None = None
        self._topics: dict[int, TopicRecord] = {}

    @classmethod
    def current(
        cls, engine: Engine, models_dir: Path, set_name: str = DEFAULT_SET
    ) -> StoredTopicHints | None:
        """Hints from the current build of ``set_name``, or None when none was built."""
        store = TopicStore(engine, models_dir)
        build_id = store.current_build_id(set_name)
        return None if build_id is None else cls(store, build_id)

    def topics_of(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, list[str]]]:
        if self._members is None:
            self._members = self.store.members(self.build_id)
            self._topics = {t.topic_id: t for t in self.store.topics_of(self.build_id)}
        found = {}
        for doc_id in doc_ids:
            topic = self._topics.get(self._members.get(doc_id, -1))
            if topic is not None:
                found[doc_id] = (f"#{topic.topic_id} {topic.label}", [t for t, _ in topic.terms])
        return found
