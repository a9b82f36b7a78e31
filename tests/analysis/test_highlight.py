"""Tests for ``analysis.highlight``: marks land on the original characters, everything else is
escaped, longer terms win over the shorter ones inside them, the span finder equals the
plain definition (kept here as the reference) on any text, and the native highlighter gives
exactly what the Python path gives."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from analysis.highlight import _match_spans, _native, highlight, highlight_whole, python_highlight


def reference_spans(norm_text: str, terms: list[str]) -> list[tuple[int, int]]:
    """The definition: longest terms first (equal lengths in code point order), each
    occurrence taken unless it overlaps one already taken; touching spans merged."""
    taken = [False] * len(norm_text)
    spans: list[tuple[int, int]] = []
    for term in sorted({t for t in terms if t}, key=lambda t: (-len(t), t)):
        start = norm_text.find(term)
        while start != -1:
            end = start + len(term)
            if not any(taken[start:end]):
                spans.append((start, end))
                taken[start:end] = [True] * len(term)
            start = norm_text.find(term, end)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def test_marks_the_original_characters_not_the_normalised_ones() -> None:
    # Full-width digits are folded for matching; the snippet shows what the page shows.
    assert highlight_whole("２０２３年住房公积金", ["2023", "公积金"]) == (
        "<mark>２０２３</mark>年住房<mark>公积金</mark>"
    )


def test_longer_terms_win_and_touching_marks_merge() -> None:
    assert highlight_whole("住房公积金贷款", ["公积", "住房公积金", "贷款"]) == (
        "<mark>住房公积金贷款</mark>"
    )


def test_everything_but_the_marks_is_escaped() -> None:
    html = highlight_whole('<script>alert("低保")</script>', ["低保"])
    assert html == "&lt;script&gt;alert(&quot;<mark>低保</mark>&quot;)&lt;/script&gt;"


def test_snippet_is_cut_around_the_densest_matches() -> None:
    text = "无关内容。" * 100 + "最低生活保障标准提高，最低生活保障对象扩大。" + "其他内容。" * 100
    snippet = highlight(text, ["最低生活保障"], width=60)
    assert snippet.startswith("…") and snippet.endswith("…")
    assert snippet.count("<mark>最低生活保障</mark>") == 2
    assert len(snippet.replace("<mark>", "").replace("</mark>", "")) <= 62


def test_no_terms_gives_the_start_of_the_text() -> None:
    assert highlight("第一条 为了规范管理", [], width=5) == "第一条 为…"


@given(
    st.text(alphabet="住房公积金贷款a1 ", max_size=60),
    st.lists(st.text(alphabet="住房公积金贷款a1", min_size=0, max_size=4), max_size=6),
)
@example("住房公积金", ["公积金", "房公"])  # a shorter term overlapping a longer one's start
def test_span_finder_equals_the_definition(text: str, terms: list[str]) -> None:
    assert _match_spans(text, terms) == reference_spans(text, terms)


# Whitespace Python splits on that Rust's `char::is_whitespace` does not (\x1c-\x1f) and the
# other way round (U+200B is neither), full-width forms, HTML's special characters, a
# character beyond the fold table, and text in the terms' alphabet.
_HOSTILE = st.text(
    alphabet=st.sampled_from(
        list("住房公积金贷款低保ａＡ1１ <>&\"'\n\t\u3000\x1c\x1f\x85\xa0\u200b\U00020000😀")
    ),
    max_size=300,
)
_TERMS = st.lists(
    st.text(alphabet=st.sampled_from(list("住房公积金贷款低保a1&😀 ")), min_size=0, max_size=4),
    max_size=8,
)


@pytest.fixture(scope="module")
def native():  # type: ignore[no-untyped-def]
    highlighter = _native()
    if highlighter is None:
        pytest.skip("native extension not built here (pip install ./native)")
    return highlighter


@settings(max_examples=400, deadline=None)
@given(text=_HOSTILE, terms=_TERMS, width=st.integers(min_value=1, max_value=120))
@example(text="住房公积金 住房" * 30, terms=["住房", "公积金", "房公"], width=40)
def test_native_highlight_equals_the_python_path(
    native, text: str, terms: list[str], width: int
) -> None:  # type: ignore[no-untyped-def]
    ours = native.highlight(text, terms, width)
    assert ours is not None, "the native highlighter declined text without lone surrogates"
    assert ours == python_highlight(text, terms, width)
    assert highlight(text, terms, width) == ours  # the public entry point takes it


def test_a_lone_surrogate_is_highlighted_in_python(native) -> None:  # type: ignore[no-untyped-def]
    text = "住房\ud800公积金"
    assert native.highlight(text, ["公积金"], 160) is None
    assert (
        highlight(text, ["公积金"])
        == python_highlight(text, ["公积金"])
        == ("住房\ud800<mark>公积金</mark>")
    )
