"""Tests for ``analysis.highlight``: marks land on the original characters, everything else is
escaped, longer terms win over the shorter ones inside them, and the span finder equals the
plain definition (kept here as the reference) on any text."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from analysis.highlight import _match_spans, highlight, highlight_whole


def reference_spans(norm_text: str, terms: list[str]) -> list[tuple[int, int]]:
    """The definition: longest terms first, each occurrence taken unless it overlaps one
    already taken; touching spans merged."""
    taken = [False] * len(norm_text)
    spans: list[tuple[int, int]] = []
    for term in sorted({t for t in terms if t}, key=len, reverse=True):
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
