"""Ordering rules a compilation can apply to its documents (e.g. by validity, then date).

Pure functions over documents looked up in the search index; documents no longer there
(missing) keep their relative order at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from compilations.errors import InvalidChange
from gongkai.document import Document

# In force first, then amended, unknown, expired, repealed.
VALIDITY_RANK = {"有效": 0, "已修改": 1, "unknown": 2, "失效": 3, "废止": 4}
# 效力级别, highest first (the `level` field sources such as lawrefbook give).
LEVEL_RANK = {
    name: i
    for i, name in enumerate(
        [
            "宪法",
            "法律",
            "有关法律问题的决定",
            "行政法规",
            "监察法规",
            "司法解释",
            "部门规章",
            "地方性法规",
            "自治条例",
            "单行条例",
            "地方政府规章",
            "规范性文件",
        ]
    )
}
_UNRANKED = 99


def _day(doc: Document) -> int:
    day: date | None = doc.date_published or doc.date_written
    return day.toordinal() if day else 0


def _level(doc: Document) -> int:
    level = doc.extra_metadata.get("level")
    return LEVEL_RANK.get(level, _UNRANKED) if isinstance(level, str) else _UNRANKED


SortKey = Callable[[Document], tuple[int, ...]]

RULES: dict[str, SortKey] = {
    "validity_then_date": lambda d: (VALIDITY_RANK.get(d.validity.status, 2), -_day(d)),
    "level_then_date": lambda d: (_level(d), -_day(d)),
    "date_desc": lambda d: (-_day(d),),
    "date_asc": lambda d: (_day(d) or 10**9,),
}


def order_ids(doc_ids: list[str], rule: str, lookup: Callable[[str], Document | None]) -> list[str]:
    """``doc_ids`` sorted by ``rule``; stable, so equal keys keep the librarian's order."""
    if rule == "manual":
        return list(doc_ids)
    key = RULES.get(rule)
    if key is None:
        raise InvalidChange(f"unknown order rule {rule!r}; use manual or one of {sorted(RULES)}")
    found = {doc_id: lookup(doc_id) for doc_id in doc_ids}
    present = [i for i in doc_ids if found[i] is not None]
    missing = [i for i in doc_ids if found[i] is None]
    ranked = sorted(present, key=lambda i: key(found[i]))  # type: ignore[arg-type]
    return ranked + missing
