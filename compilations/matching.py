"""Does a new document match a compilation's standing query? (living compilations)

Decided on the document itself, with the same query parser, tokeniser and thesaurus as
search, rather than by paging through search results: a new document deep in a large result
list would otherwise be missed, and a match here must show *which* words matched (the reason
a librarian reads). A free-text query matches when at least one of its words (or a synonym)
occurs; bigram-only overlap, which ranks documents in search, does not count as a match.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.docnumber import doc_number_query_key
from analysis.synonyms import Thesaurus
from analysis.tokenizer import GovTokenizer, normalise
from compilations.models import StandingQuery
from gongkai.document import Document
from search_api.query_language import Item, parse_query

TITLE_WEIGHT = 2.0
BODY_WEIGHT = 1.0


@dataclass(frozen=True)
class QueryMatch:
    matched_terms: list[str]
    score: float  # 0-1: share of the query's words found, title counting double


def _filter_values(doc: Document, field: str) -> list[str]:
    topic = doc.topic
    values: dict[str, list[str | None]] = {
        "agency": list(doc.agency),
        "doc_type": [doc.doc_type],
        "validity": [doc.validity.status],
        "topic_top": [topic.top if topic else None],
        "topic_sub": [topic.sub if topic else None],
        "region": [doc.region],
    }
    return [v for v in values.get(field, []) if v]


def passes_filters(query: StandingQuery, doc: Document) -> bool:
    for field, accepted in query.filters.items():
        if not set(_filter_values(doc, field)) & set(accepted):
            return False
    if query.year_from is not None or query.year_to is not None:
        year = doc.year
        if year is None:
            return False
        if query.year_from is not None and year < query.year_from:
            return False
        if query.year_to is not None and year > query.year_to:
            return False
    return True


@dataclass
class QueryMatcher:
    tokenizer: GovTokenizer
    thesaurus: Thesaurus

    def match(self, query: StandingQuery, doc: Document) -> QueryMatch | None:
        """How ``doc`` matches ``query``, or None when it does not."""
        if query.is_empty or not passes_filters(query, doc):
            return None
        title, body = normalise(doc.title), normalise(doc.body)
        parsed = parse_query(query.q)
        if any(self._found(item, doc, title, body) for item in parsed.excluded):
            return None
        matched: list[str] = []
        weight = 0.0
        for group in parsed.required:
            hits = [(i, w) for i in group if (w := self._found(i, doc, title, body))]
            if not hits:
                return None
            for _, (term, where) in hits:
                matched.append(term)
                weight += where / len(hits)
        free_hits = [(i, w) for i in parsed.free if (w := self._found(i, doc, title, body))]
        if parsed.free and not free_hits and not parsed.required:
            return None
        for _, (term, where) in free_hits:
            matched.append(term)
            weight += where
        items = len(parsed.free) + len(parsed.required)
        score = weight / (TITLE_WEIGHT * items) if items else 1.0
        return QueryMatch(list(dict.fromkeys(matched)), round(score, 4))

    def _found(self, item: Item, doc: Document, title: str, body: str) -> tuple[str, float] | None:
        """(the words found, weight of where) for one query item, or None."""
        if item.field == "agency":
            needle = normalise(item.text)
            hit = any(needle in normalise(a) for a in doc.agency)
            return (item.text, TITLE_WEIGHT) if hit else None
        if item.field == "docno":
            own = doc.doc_number.raw if doc.doc_number else ""
            key = doc_number_query_key(item.text)
            hit = bool(own) and doc_number_query_key(own).startswith(key)
            return (item.text, TITLE_WEIGHT) if hit else None
        texts = [item.text] if item.phrase else [item.text, *self.thesaurus.alternatives(item.text)]
        for text in texts:
            needle = normalise(text)
            if needle and needle in title:
                return text, TITLE_WEIGHT
            if needle and needle in body and item.field != "title":
                return text, BODY_WEIGHT
        if item.phrase:
            return None
        # A multi-word item (最低生活保障标准) also matches when all its words occur.
        words = self.tokenizer.query_terms(item.text)
        if len(words) > 1:
            where = title if item.field == "title" else f"{title}\n{body}"
            if all(normalise(w) in where for w in words):
                in_title = all(normalise(w) in title for w in words)
                return " ".join(words), TITLE_WEIGHT if in_title else BODY_WEIGHT
        return None
