"""The filter parameters are declared once: /search and /export offer exactly the same ones."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gongkai.settings import Settings
from search_api.app import create_app
from search_api.filters import search_filters

FILTER_NAMES = {"agency", "doc_type", "validity", "topic_top", "topic_sub", "region"}


def _query_parameters(schema: dict[str, object], path: str) -> dict[str, object]:
    operation = schema["paths"][path]["get"]  # type: ignore[index]
    return {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"}


def test_search_and_export_share_every_filter_parameter(tmp_path: Path) -> None:
    schema = create_app(Settings(data_dir=tmp_path)).openapi()
    search = _query_parameters(schema, "/search")
    export = _query_parameters(schema, "/export")
    expected = FILTER_NAMES | {"year_from", "year_to"}
    assert expected <= search.keys()
    assert {name: search[name] for name in expected} == {name: export[name] for name in expected}


def test_the_dependency_groups_fields_and_years() -> None:
    # A coroutine: FastAPI awaits it on the event loop instead of handing it to a thread.
    filters = asyncio.run(
        search_filters(agency=["国务院办公厅"], validity=["有效"], year_from=2020)
    )
    assert filters.fields["agency"] == ["国务院办公厅"]
    assert filters.fields["validity"] == ["有效"]
    assert filters.fields.keys() == FILTER_NAMES
    assert (filters.year_from, filters.year_to) == (2020, None)
