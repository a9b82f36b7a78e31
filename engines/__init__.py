"""Search backends behind one protocol (`engines.base.SearchBackend`).

`make_backend` picks the implementation the settings name; callers never import one directly.
"""

from __future__ import annotations

from engines.base import EngineError, EngineUnavailable, NullSearchBackend, SearchBackend
from gongkai.settings import Settings


def make_backend(settings: Settings) -> SearchBackend:
    """The backend the settings ask for, connected but with no index created yet."""
    if settings.engine == "embedded":
        from engines.tantivy_backend import TantivyBackend

        return TantivyBackend(
            settings.index_dir, alias=settings.index_name, one_pass=settings.embedded_one_pass
        )
    from engines.opensearch_backend import ClusterBackend

    return ClusterBackend.from_settings(settings)


__all__ = [
    "EngineError",
    "EngineUnavailable",
    "NullSearchBackend",
    "SearchBackend",
    "make_backend",
]
