"""Pure functions that turn what a user typed into an engine-neutral `SearchQuery`.

No I/O here: views and the CLI validate input, these functions decide what is searched and
how it is weighted, and the engines only translate the result.
"""

from __future__ import annotations

from analysis.tokenizer import GovTokenizer
from engines.base import SearchQuery

# A match in the title says more about what a document is about than one in the body.
TITLE_BOOST = 2.0
BODY_BOOST = 1.0

MAX_PAGE_SIZE = 100


def build_search_query(
    text: str,
    tokenizer: GovTokenizer,
    *,
    limit: int = 10,
    offset: int = 0,
    filters: dict[str, list[str]] | None = None,
    year_from: int | None = None,
    year_to: int | None = None,
    sort: str = "relevance",
    facets: list[str] | None = None,
    max_query_chars: int = 1000,
) -> SearchQuery:
    """Analyse ``text`` with the index tokeniser and weight title over body."""
    terms = tokenizer.query_terms(text[:max_query_chars])
    return SearchQuery(
        terms=terms,
        field_boosts={"title": TITLE_BOOST, "body": BODY_BOOST},
        filters={k: v for k, v in (filters or {}).items() if v},
        year_from=year_from,
        year_to=year_to,
        sort="newest" if sort == "newest" else "relevance",
        offset=offset,
        limit=min(max(limit, 0), MAX_PAGE_SIZE),
        facets=list(facets or []),
    )
