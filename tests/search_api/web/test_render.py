"""`search_api.web.render`: highlighted fragments are trusted only when they are escaped text."""

from __future__ import annotations

import html

from hypothesis import given
from hypothesis import strategies as st

from analysis.highlight import highlight
from search_api.web.render import SECURITY_HEADERS, environment, marked, render, unmarked


def test_escaped_text_with_marks_passes_through() -> None:
    fragment = "关于<mark>低保</mark>标准 &amp; &lt;b&gt;"
    assert str(marked(fragment)) == fragment


def test_anything_else_is_escaped_whole() -> None:
    for hostile in [
        "<script>alert(1)</script><mark>低保</mark>",
        '<mark onclick="x">低保</mark>',
        "<img src=x onerror=alert(1)>",
        "a & b",  # a bare ampersand: not produced by an escaper
        'say "hi"',
    ]:
        out = str(marked(hostile))
        assert "<mark>" not in out or "<" not in out.replace("<mark>", "").replace("</mark>", "")
        assert html.unescape(out) == hostile


@given(st.text(), st.lists(st.text(min_size=1, max_size=3), max_size=3))
def test_highlighter_output_renders_as_the_same_text(text: str, terms: list[str]) -> None:
    fragment = highlight(text, terms, width=max(len(text), 1))
    out = str(marked(fragment))
    assert "<" not in out.replace("<mark>", "").replace("</mark>", "")
    assert unmarked(out) == " ".join(text.split())


@given(st.text())
def test_any_string_is_never_markup(text: str) -> None:
    out = str(marked(text))
    assert "<" not in out.replace("<mark>", "").replace("</mark>", "")
    assert ">" not in out.replace("<mark>", "").replace("</mark>", "")


def test_templates_autoescape_and_pages_get_security_headers() -> None:
    assert environment().autoescape is True
    response = render(
        "not_found.html",
        {
            "page_title": "<b>x</b>",
            "feed_url": None,
            "feed_title": "",
            "doc_id": "<script>",
            "user": None,
            "csrf_token": "",
        },
        status_code=404,
    )
    body = response.body.decode()
    assert "&lt;script&gt;" in body and "<script>" not in body.replace(
        '<script src="/static/gongkai.js" defer></script>', ""
    )
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert response.status_code == 404
