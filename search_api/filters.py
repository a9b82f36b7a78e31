"""The filter parameters every search-shaped endpoint takes (/search, /export), declared once
as a FastAPI dependency so their names, documentation and bounds cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Query


@dataclass(frozen=True)
class SearchFilters:
    """Keyword-field filters (any of the values per field) and a year range."""

    fields: dict[str, list[str]]
    year_from: int | None
    year_to: int | None


# async: FastAPI runs a plain `def` dependency in a worker thread, a hand-off that cost more
# than the function itself on every search (issue 9 profile).
async def search_filters(
    agency: Annotated[list[str], Query(description="发布机构 (any of)")] = [],  # noqa: B006
    doc_type: Annotated[list[str], Query(description="通知, 办法, ...")] = [],  # noqa: B006
    validity: Annotated[list[str], Query(description="有效, 废止, ...")] = [],  # noqa: B006
    topic_top: Annotated[list[str], Query(description="主题分类, level 1")] = [],  # noqa: B006
    topic_sub: Annotated[list[str], Query(description="主题分类, level 2")] = [],  # noqa: B006
    region: Annotated[list[str], Query()] = [],  # noqa: B006
    year_from: Annotated[int | None, Query(ge=1949, le=2100)] = None,
    year_to: Annotated[int | None, Query(ge=1949, le=2100)] = None,
) -> SearchFilters:
    fields = {
        "agency": agency,
        "doc_type": doc_type,
        "validity": validity,
        "topic_top": topic_top,
        "topic_sub": topic_sub,
        "region": region,
    }
    return SearchFilters(fields, year_from, year_to)
