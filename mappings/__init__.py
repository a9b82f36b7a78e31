"""Index definitions as data, versioned. Changing analysis or fields means a new version file:
``rebuild`` builds ``<alias>-v<N>-<stamp>``, loads it, then moves the alias (never edit a live
index in place)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

MAPPING_VERSION = 5


def load_mapping(kind: str, version: int = MAPPING_VERSION) -> dict[str, Any]:
    """``kind`` is ``cluster`` (OpenSearch/Elasticsearch) or ``embedded`` (tantivy)."""
    text = resources.files("mappings").joinpath(f"{kind}-v{version}.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def versioned_index_name(alias: str, stamp: str, version: int = MAPPING_VERSION) -> str:
    return f"{alias}-v{version}-{stamp}"
