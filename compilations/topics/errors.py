"""Errors of topic discovery; each one says what to do about it."""

from __future__ import annotations

from gongkai.errors import GongkaiError


class TopicError(GongkaiError):
    """Base class of topic-discovery errors."""


class TooFewDocuments(TopicError):
    """Fewer usable documents than topics asked for (k is never clipped silently)."""

    def __init__(self, k: int, usable: int, empty: int = 0) -> None:
        skipped = f" ({empty} empty text(s) skipped)" if empty else ""
        super().__init__(
            f"{k} topics need at least {k} documents with text; got {usable}{skipped}: "
            "ask for fewer topics (--k) or add documents"
        )
        self.k = k
        self.usable = usable


class NoTopicsFound(TopicError):
    """HDBSCAN put every document in noise: no topic to report."""


class NoTopicModel(TopicError):
    """No topic build exists yet for the set asked about."""


class TopicNotFound(TopicError):
    """No topic with that id in the current build."""


class NoCJKFont(TopicError):
    """No font with Chinese glyphs for the pictures."""
