from __future__ import annotations

import pytest

from search_api.query_language import Item, parse_query


def test_plain_words_are_free_text() -> None:
    parsed = parse_query("低保 标准")
    assert parsed.free == [Item("低保"), Item("标准")]
    assert parsed.required == [] and parsed.excluded == []


def test_phrases_operators_and_prefixes() -> None:
    parsed = parse_query(
        '"最低生活保障标准" 医保 OR 医疗保险 NOT 废止 -失效 title:征收 机关:民政局'
    )
    assert parsed.required == [
        [Item("最低生活保障标准", phrase=True)],
        [Item("医保"), Item("医疗保险")],
        [Item("征收", field="title")],
        [Item("民政局", field="agency")],
    ]
    assert parsed.excluded == [Item("废止"), Item("失效")]


def test_and_makes_every_word_required() -> None:
    assert parse_query("低保 AND 农村").required == [[Item("低保")], [Item("农村")]]
    assert parse_query("+农村 低保").required == [[Item("农村")]]
    assert parse_query("+农村 低保").free == [Item("低保")]


@pytest.mark.parametrize(
    ("text", "free"),
    [
        ('"没有闭合 的引号', ["没有闭合", "的引号"]),
        ("foo:bar", ["foo:bar"]),
        ("如何办理“一证通办”", ["如何办理“一证通办”"]),
        ("1月1日-3月8日", ["1月1日-3月8日"]),
        ("- 低保", ["-", "低保"]),
    ],
)
def test_what_the_grammar_does_not_expect_is_plain_text(text: str, free: list[str]) -> None:
    assert [i.text for i in parse_query(text).free] == free


@pytest.mark.parametrize("text", ["", "AND", "OR OR", "NOT", '""', "title:", "“”", "-", "\\"])
def test_lone_operators_and_empty_input_never_fail(text: str) -> None:
    parsed = parse_query(text)
    assert all(i.text for i in parsed.positive_items)
