"""The embedded engine's query for a `SearchQuery`, as a plain tree of JSON values.

One tree, two readers: `to_tantivy` makes tantivy's Python query objects from it, and the
native one-pass search (``native/src/search.rs``) reads it as JSON. Both see the same
clauses, boosts and filters, so they score alike (the tests compare them hit for hit).

Nodes::

    "all"                                  every document
    {"bool": [[occur, node], ...]}         occur: "must", "should" or "must_not"
    {"boost": [node, factor]}
    {"term": [field, text]}
    {"term_set": [field, [value, ...]]}    any of the values (filters, doc numbers)
    {"phrase": [field, [word, ...]]}       consecutive words (two or more)
    {"range": [field, lower, upper]}       integers, both ends included, None = open
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import tantivy
from tantivy import Occur, Query

from engines.base import IN_FORCE, BoostedField, Clause, EngineError, Match, SearchQuery

Node = Any  # a str or a one-key dict, as in the module docstring

_OCCURS = {"must": Occur.Must, "should": Occur.Should, "must_not": Occur.MustNot}


def _boosted(node: Node, boost: float) -> list[Any]:
    return ["should", {"boost": [node, boost]}]


def _match(match: Match, field: str) -> Node:
    if match.kind == "doc_number":
        return {"term_set": ["doc_number", list(match.values)]}
    if match.kind == "term" or len(match.values) == 1:
        suffix = "_tokens" if match.kind == "term" else "_grams"
        return {"term": [field + suffix, match.values[0]]}
    return {"phrase": [field + "_grams", list(match.values)]}


def _clause(clause: Clause, boosts: dict[BoostedField, float]) -> Node:
    return {
        "bool": [
            _boosted(_match(m, field), boosts[field] * clause.boost)
            for m in clause.matches
            for field in (clause.fields if m.kind != "doc_number" else clause.fields[:1])
        ]
    }


def _scored_terms(query: SearchQuery) -> list[Any]:
    """Free-text BM25: every token and bigram in every field, with the field boosts."""
    per_kind = (("_tokens", query.terms, 1.0), ("_grams", query.grams, query.gram_boost))
    return [
        _boosted({"term": [field + suffix, value]}, boost * weight)
        for suffix, values, weight in per_kind
        for value in values
        for field, boost in query.field_boosts.items()
    ]


def query_tree(query: SearchQuery, field_names: Collection[str]) -> Node:
    """The tree for ``query`` (BM25 + filters); ``field_names``: the index's fields."""
    boosts = query.field_boosts
    must = [["must", _clause(c, boosts)] for c in query.clauses if c.occur == "must"]
    must_not = [["must_not", _clause(c, boosts)] for c in query.clauses if c.occur == "must_not"]
    clauses: list[Any] = must + must_not
    # Anything that ranks: free-text terms and optional clauses (a doc number, synonyms).
    ranking: list[Any] = [
        ["should", _clause(c, boosts)] for c in query.clauses if c.occur == "should"
    ]
    scored = _scored_terms(query)
    if scored:
        ranking.append(["should", {"bool": scored}])
    if ranking:
        # Without required clauses, one ranking part must match (OpenSearch:
        # minimum_should_match=1); beside required clauses they only rank.
        clauses.append(["should" if must else "must", {"bool": ranking}])
    for field, values in query.filters.items():
        if field not in field_names:
            raise EngineError(f"unknown filter field: {field}")
        if values:
            clauses.append(["must", {"term_set": [field, list(values)]}])
    if query.year_from is not None or query.year_to is not None:
        clauses.append(["must", {"range": ["year", query.year_from, query.year_to]}])
    if not any(occur in ("must", "should") for occur, _ in clauses):
        clauses.append(["must", "all"])  # only filters / exclusions
    if query.in_force_boost:
        # Optional beside the Must clauses: a constant bonus for documents still in force.
        clauses.append(_boosted({"term_set": ["validity", list(IN_FORCE)]}, query.in_force_boost))
    return {"bool": clauses}


def to_tantivy(node: Node, schema: tantivy.Schema) -> tantivy.Query:
    """tantivy's Python query object for ``node``."""
    if node == "all":
        return Query.all_query()
    ((kind, args),) = node.items()
    if kind == "bool":
        return Query.boolean_query([(_OCCURS[occur], to_tantivy(n, schema)) for occur, n in args])
    if kind == "boost":
        return Query.boost_query(to_tantivy(args[0], schema), args[1])
    if kind == "term":
        return Query.term_query(schema, args[0], args[1])
    if kind == "term_set":
        return Query.term_set_query(schema, args[0], args[1])
    if kind == "phrase":
        return Query.phrase_query(schema, args[0], args[1])
    if kind == "range":
        field, lower, upper = args
        return Query.range_query(schema, field, tantivy.FieldType.Integer, lower, upper)
    raise EngineError(f"unknown query node: {kind}")
