"""Pure functions that turn what a user typed into an engine-neutral `SearchQuery`.

No I/O here: views and the CLI validate input, these functions decide what is searched and
how it is weighted, and the engines only translate the result.
"""

from __future__ import annotations

from typing import Literal

from analysis.docnumber import doc_number_query_key, find_doc_numbers
from analysis.synonyms import Thesaurus
from analysis.tokenizer import GovTokenizer, char_bigrams
from engines.base import BoostedField, Clause, Match, SearchQuery
from search_api.query_language import Item, ParsedQuery, parse_query

# A match in the title says more about what a document is about than one in the body.
TITLE_BOOST = 2.0
BODY_BOOST = 1.0
# Character bigrams are a second opinion beside the jieba tokens (measured on msga_govqa dev:
# tokens alone R@10 0.841, tokens + bigrams at equal weight 0.857).
GRAM_BOOST = 1.0
# A synonym of a query word counts a little less than the word the user typed.
SYNONYM_BOOST = 0.6
# Documents still in force get this added to their score, so 废止/失效 ones sink below
# equally relevant valid ones (still found). Off when the user filters on validity: then
# they asked for what they want.
IN_FORCE_BOOST = 3.0
# A 发文字号 typed anywhere in the query puts that document first.
DOC_NUMBER_BOOST = 50.0

MAX_PAGE_SIZE = 100
# Caps on what one query sends: each term becomes a clause per field, and OpenSearch refuses
# more than 1,024 clauses (a pasted paragraph would otherwise be a 400). The first words of
# a long query are kept.
MAX_QUERY_TERMS = 64
MAX_QUERY_GRAMS = 160


def _phrase(text: str) -> Match | None:
    grams = char_bigrams(text)
    return Match(kind="phrase", values=grams) if grams else None


def _item_clause(
    item: Item, occur: Literal["must", "must_not"], thesaurus: Thesaurus
) -> Clause | None:
    """A clause matching ``item`` (or, for a plain word, any of its synonyms)."""
    texts = [item.text] if item.phrase else [item.text, *thesaurus.alternatives(item.text)]
    matches = [m for m in map(_phrase, texts) if m is not None]
    if not matches:
        return None
    fields: list[BoostedField] = ["title"] if item.field == "title" else ["title", "body"]
    return Clause(occur=occur, matches=matches, fields=fields)


def _group_clause(group: list[Item], thesaurus: Thesaurus) -> Clause | None:
    clauses = [c for c in (_item_clause(i, "must", thesaurus) for i in group) if c]
    if not clauses:
        return None
    fields: list[BoostedField] = sorted({f for c in clauses for f in c.fields})
    return Clause(occur="must", matches=[m for c in clauses for m in c.matches], fields=fields)


def build_search_query(
    text: str,
    tokenizer: GovTokenizer,
    thesaurus: Thesaurus | None = None,
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
    """Parse ``text`` (see `search_api.query_language`), analyse it with the index tokeniser,
    add synonyms, and weight title over body."""
    thesaurus = thesaurus if thesaurus is not None else Thesaurus(groups=[])
    parsed: ParsedQuery = parse_query(text[:max_query_chars])
    all_filters = {k: list(v) for k, v in (filters or {}).items() if v}
    clauses: list[Clause] = []

    for group in parsed.required:
        agencies = [i.text for i in group if i.field == "agency"]
        if agencies:
            all_filters.setdefault("agency", []).extend(agencies)
        numbers = [doc_number_query_key(i.text) for i in group if i.field == "docno"]
        if numbers:
            all_filters.setdefault("doc_number", []).extend(numbers)
        clause = _group_clause([i for i in group if i.field not in ("agency", "docno")], thesaurus)
        if clause:
            clauses.append(clause)
    for item in parsed.excluded:
        clause = _item_clause(item, "must_not", thesaurus)
        if clause:
            clauses.append(clause)

    numbers_typed = find_doc_numbers(text[:max_query_chars])
    if numbers_typed:
        clauses.append(
            Clause(
                occur="should",
                matches=[Match(kind="doc_number", values=numbers_typed)],
                boost=DOC_NUMBER_BOOST,
            )
        )

    ranked_text = " ".join(
        i.text for i in parsed.positive_items if i.field not in ("agency", "docno")
    )
    for hit in thesaurus.find(" ".join(i.text for i in parsed.free)):
        matches = [m for m in map(_phrase, hit.alternatives) if m is not None]
        if matches:
            clauses.append(Clause(occur="should", matches=matches, boost=SYNONYM_BOOST))

    return SearchQuery(
        terms=tokenizer.query_terms(ranked_text)[:MAX_QUERY_TERMS],
        grams=list(dict.fromkeys(char_bigrams(ranked_text)))[:MAX_QUERY_GRAMS],
        gram_boost=GRAM_BOOST,
        field_boosts={"title": TITLE_BOOST, "body": BODY_BOOST},
        clauses=clauses,
        in_force_boost=0.0 if all_filters.get("validity") else IN_FORCE_BOOST,
        filters=all_filters,
        year_from=year_from,
        year_to=year_to,
        sort="newest" if sort == "newest" else "relevance",
        offset=offset,
        limit=min(max(limit, 0), MAX_PAGE_SIZE),
        facets=list(facets or []),
    )
