from __future__ import annotations

from analysis.synonyms import Thesaurus
from analysis.tokenizer import GovTokenizer, char_bigrams
from search_api.queries import MAX_PAGE_SIZE, build_search_query


def test_free_text_gives_terms_grams_and_synonym_clause(tokenizer: GovTokenizer) -> None:
    query = build_search_query("低保标准", tokenizer, Thesaurus())
    assert "低保" in query.terms
    assert query.grams == char_bigrams("低保标准")
    (synonyms,) = query.clauses
    assert synonyms.occur == "should"
    assert synonyms.matches[0].values == char_bigrams("最低生活保障标准")


def test_required_and_excluded_items_become_clauses(tokenizer: GovTokenizer) -> None:
    query = build_search_query("低保 AND 农村 -废止", tokenizer, Thesaurus())
    must = [c for c in query.clauses if c.occur == "must"]
    must_not = [c for c in query.clauses if c.occur == "must_not"]
    assert len(must) == 2 and len(must_not) == 1
    # A required abbreviation is satisfied by its full form too.
    assert char_bigrams("最低生活保障") in [m.values for m in must[0].matches]
    assert "废止" not in query.terms


def test_field_prefixes(tokenizer: GovTokenizer) -> None:
    query = build_search_query("title:征收 agency:示例市民政局 docno:示府发〔2016〕3号", tokenizer)
    assert query.filters == {"agency": ["示例市民政局"], "doc_number": ["示府发〔2016〕3号"]}
    (title,) = [c for c in query.clauses if c.occur == "must"]
    assert title.fields == ["title"]
    (number,) = [c for c in query.clauses if c.occur == "should"]
    assert number.matches[0].kind == "doc_number"


def test_limits(tokenizer: GovTokenizer) -> None:
    query = build_search_query("x" * 5000, tokenizer, limit=10_000, max_query_chars=100)
    assert query.limit == MAX_PAGE_SIZE
    assert sum(len(t) for t in query.terms) <= 100
    assert build_search_query("！！！ 的 了", tokenizer).terms == []


def test_a_pasted_paragraph_stays_within_engine_clause_limits(tokenizer: GovTokenizer) -> None:
    paragraph = "".join(chr(0x4E00 + i * 7) for i in range(1000))  # 1,000 distinct Han
    query = build_search_query(paragraph, tokenizer)
    clauses_per_field = len(query.terms) + len(query.grams)
    assert clauses_per_field * len(query.field_boosts) < 1024
    assert query.terms and query.grams


def test_abolished_documents_sink_unless_validity_is_asked_for(tokenizer: GovTokenizer) -> None:
    assert build_search_query("低保", tokenizer).in_force_boost > 0
    asked = build_search_query("低保", tokenizer, filters={"validity": ["废止"]})
    assert asked.in_force_boost == 0
