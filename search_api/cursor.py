"""Opaque, URL-safe paging cursors: where the next page of one particular search starts.

A cursor is base64url of a small JSON object:

- ``{"v": 1, "q": <search key>, "s": [score or date, id]}``: continue after the hit with
  these sort values (`engines.base.sort_values_of`), through the engine's ``search_after``;
  no depth limit, and a page never repeats or skips a document that stays in the index;
- ``{"v": 1, "q": <search key>, "p": n}``: continue at position ``n`` inside the re-scored
  window (`search_api.rerank`), whose order the engine cannot resume by itself.

``q`` ties a cursor to the search that made it: the same cursor with another query, sort or
filter is refused rather than silently paging through something else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from gongkai.errors import GongkaiError

VERSION = 1
# Longer than any cursor we make (a doc id and a float); refuses junk before decoding it.
MAX_CURSOR_CHARS = 2048


class BadCursor(GongkaiError):
    """A cursor that is not one of ours, or belongs to another search (HTTP 400)."""


@dataclass(frozen=True)
class Cursor:
    search_key: str
    sort_values: list[float | int | str] | None = None
    position: int | None = None


def search_key(*parts: Any) -> str:
    """A short fingerprint of what defines a search's result list (query, sort, filters)."""
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.blake2s(blob.encode("utf-8"), digest_size=6).hexdigest()


def encode_cursor(cursor: Cursor) -> str:
    payload: dict[str, Any] = {"v": VERSION, "q": cursor.search_key}
    if cursor.sort_values is not None:
        payload["s"] = cursor.sort_values
    else:
        payload["p"] = cursor.position
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(text: str, expected_key: str) -> Cursor:
    """The cursor in ``text``; `BadCursor` if it is malformed or made by another search."""
    if not text or len(text) > MAX_CURSOR_CHARS:
        raise BadCursor("malformed cursor: pass back next_cursor exactly as it was returned")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise BadCursor(
            "malformed cursor: pass back next_cursor exactly as it was returned"
        ) from exc
    if not isinstance(payload, dict) or payload.get("v") != VERSION:
        raise BadCursor("malformed cursor: unknown cursor version")
    if payload.get("q") != expected_key:
        raise BadCursor(
            "this cursor belongs to another search (query, sort or filters changed); "
            "start again without a cursor"
        )
    if "s" in payload:
        values = payload["s"]
        if (
            not isinstance(values, list)
            or len(values) != 2
            or not isinstance(values[0], int | float)
            or isinstance(values[0], bool)
            or not isinstance(values[1], str)
        ):
            raise BadCursor("malformed cursor: bad sort values")
        return Cursor(search_key=expected_key, sort_values=values)
    position = payload.get("p")
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        raise BadCursor("malformed cursor: bad position")
    return Cursor(search_key=expected_key, position=position)
