from __future__ import annotations

import base64
import json

import pytest

from search_api.cursor import BadCursor, Cursor, decode_cursor, encode_cursor, search_key


def test_round_trip_and_url_safe() -> None:
    key = search_key("低保", "relevance", {"agency": ["民政局"]}, None, None, 0.0)
    for cursor in (
        Cursor(search_key=key, sort_values=[12.375, "doc/1?&="]),
        Cursor(search_key=key, sort_values=[20130501, "地方-文件"]),
        Cursor(search_key=key, position=40),
    ):
        text = encode_cursor(cursor)
        assert all(c.isalnum() or c in "-_" for c in text)
        assert decode_cursor(text, key) == cursor


def test_search_key_changes_with_what_defines_the_list() -> None:
    base = search_key("低保", "relevance", {}, None, None, 0.0)
    assert base == search_key("低保", "relevance", {}, None, None, 0.0)
    assert base != search_key("低保", "newest", {}, None, None, 0.0)
    assert base != search_key("低保", "relevance", {"validity": ["有效"]}, None, None, 0.0)
    assert base != search_key("低保", "relevance", {}, 2010, None, 0.0)
    assert base != search_key("低保", "relevance", {}, None, None, 5.0)


def _raw(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "!!!",
        "x" * 5000,
        _raw([1, 2]),
        _raw({"v": 2, "q": "k", "p": 1}),
        _raw({"v": 1, "q": "k", "p": -1}),
        _raw({"v": 1, "q": "k", "p": True}),
        _raw({"v": 1, "q": "k", "s": [1.5]}),
        _raw({"v": 1, "q": "k", "s": ["a", "b"]}),
        _raw({"v": 1, "q": "k", "s": [1.5, 3]}),
        _raw({"v": 1, "q": "k"}),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_malformed_cursors_are_refused(text: str) -> None:
    with pytest.raises(BadCursor):
        decode_cursor(text, "k")


def test_a_cursor_of_another_search_is_refused() -> None:
    text = encode_cursor(Cursor(search_key="aaa", position=3))
    with pytest.raises(BadCursor, match="another search"):
        decode_cursor(text, "bbb")
