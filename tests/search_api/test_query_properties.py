"""Property tests of the query parser and builder: any text a person or a robot can type is
parsed without an error, and the query sent to the engine stays bounded and engine-neutral."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.tokenizer import GovTokenizer
from search_api.queries import MAX_QUERY_GRAMS, MAX_QUERY_TERMS, build_search_query
from search_api.query_language import parse_query

TOKENIZER = GovTokenizer()

# Query syntax of the engines and of this project mixed with Chinese words: the parser must
# take all of it as words, operators or nothing, never as engine syntax.
SYNTAX = st.sampled_from(
    [
        '"', "(", ")", "AND", "OR", "NOT", "-", "+", "*", "?", ":", "~", "^", "\\", "/",
        "title:", "agency:", "docno:", "foo:", "_exists_:", "{", "}", "[", "]", "&&", "||",
        "低保", "最低生活保障", "国办发〔2013〕73号", "国办发[2013]73号", "2013年", "　", " ",
    ]
)  # fmt: skip
QUERIES = st.lists(st.one_of(SYNTAX, st.text(max_size=8)), max_size=30).map(" ".join)


@given(QUERIES)
@settings(max_examples=300, deadline=None)
def test_any_text_parses_and_words_come_from_the_text(text: str) -> None:
    parsed = parse_query(text)
    for item in [*parsed.positive_items, *parsed.excluded]:
        assert item.text.strip()
        # The parser removes syntax; it never invents words.
        assert item.text in text


@given(QUERIES, st.integers(min_value=0, max_value=10_000))
@settings(max_examples=200, deadline=None)
def test_any_text_builds_a_bounded_query(text: str, offset: int) -> None:
    query = build_search_query(text, TOKENIZER, offset=offset, limit=10)
    assert len(query.terms) <= MAX_QUERY_TERMS
    assert len(query.grams) <= MAX_QUERY_GRAMS
    assert query.offset == offset


@given(st.text(min_size=5_000, max_size=10_000))
@settings(max_examples=10, deadline=None)
def test_ten_thousand_characters_are_cut_not_refused(text: str) -> None:
    query = build_search_query(text, TOKENIZER, max_query_chars=1000)
    assert len(query.terms) <= MAX_QUERY_TERMS
