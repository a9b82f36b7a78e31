"""The documents a topic build reads: a query's best results, page by page.

Shared by `gongkai topics build --query` and ``POST /topics/builds``; the whole index comes from
`SearchBackend.iter_documents` directly.
"""

from __future__ import annotations

from collections.abc import Iterator

from analysis.synonyms import Thesaurus
from analysis.tokenizer import GovTokenizer
from engines.base import SearchBackend
from gongkai.document import Document
from search_api.queries import MAX_PAGE_SIZE, build_search_query


def query_total(backend: SearchBackend, tokenizer: GovTokenizer, query: str) -> int:
    """How many documents match ``query`` (as `gongkai search` reads it)."""
    return backend.search(build_search_query(query, tokenizer, Thesaurus(), limit=0)).total


def query_documents(
    backend: SearchBackend,
    tokenizer: GovTokenizer,
    query: str,
    limit: int,
    max_query_chars: int = 1000,
) -> Iterator[Document]:
    """The best ``limit`` documents for ``query``, most relevant first, a page at a time."""
    thesaurus = Thesaurus()
    for offset in range(0, limit, MAX_PAGE_SIZE):
        page = build_search_query(
            query,
            tokenizer,
            thesaurus,
            limit=min(MAX_PAGE_SIZE, limit - offset),
            offset=offset,
            max_query_chars=max_query_chars,
        )
        hits = backend.search(page).hits
        for hit in hits:
            yield hit.document
        if len(hits) < page.limit:
            return
