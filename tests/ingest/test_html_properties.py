"""Property tests of the HTML extractor: arbitrary and hostile markup gives a page (maybe empty),
never an exception, and never the content of script or style elements."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.support.html import extract_page

# No <title> or <textarea>: their content is text by the HTML rules (a "<script>" inside is
# the words, not an element), which `test_markup_inside_title_is_text` covers.
TAGS = ["div", "p", "span", "table", "tr", "td", "h1", "meta", "script", "style", "a"]
SECRET = "SCRIPTCONTENT"


@st.composite
def markup(draw: st.DrawFn) -> str:
    """Tag soup: opened and closed tags in any order, attributes, entities and text."""
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.integers(0, 5))
        tag = draw(st.sampled_from(TAGS))
        if kind == 0:
            attr = draw(st.sampled_from(["", ' class="TRS_Editor"', ' name="ArticleTitle"']))
            parts.append(f"<{tag}{attr}>")
        elif kind == 1:
            parts.append(f"</{tag}>")
        elif kind == 2:
            parts.append(draw(st.sampled_from(["&amp;", "&#x4e2d;", "&nbsp;", "&bogus;", "<!--"])))
        elif kind == 3:
            parts.append(f"<script>{SECRET}</script>")
        else:
            # Free text without "<": "<?" or "<!" would open a bogus comment that, by the HTML
            # rules, turns the next <script> into text (browsers show it as text too).
            parts.append(
                draw(st.text(alphabet=st.characters(blacklist_characters="<"), max_size=20))
            )
    return "".join(parts)


@given(markup())
@settings(max_examples=300, deadline=None)
def test_tag_soup_extracts_without_error_and_without_scripts(html: str) -> None:
    page = extract_page(html)
    assert isinstance(page.body, str)
    if "<" in html:
        assert SECRET not in page.body
        assert SECRET not in (page.title or "")


@given(st.text(max_size=500))
@settings(max_examples=300, deadline=None)
def test_any_text_extracts_without_error(text: str) -> None:
    page = extract_page(text)
    assert isinstance(page.body, str)


def test_deep_nesting_does_not_overflow() -> None:
    depth = 5_000
    html = "<div>" * depth + "正文内容" + "</div>" * depth
    assert "正文内容" in extract_page(html).body


def test_ten_megabyte_single_line_is_read() -> None:
    line = "<p>" + "政府信息公开。" * (10 * 2**20 // 21) + "</p>"
    page = extract_page(line)
    assert page.body.startswith("政府信息公开。")


def test_markup_inside_title_is_text() -> None:
    page = extract_page(
        "<html><head><title><b>关于</b>的通知</title></head><body>正文</body></html>"
    )
    assert page.title == "<b>关于</b>的通知"
