"""`search_api.web.workspace`: moving entries within sections, parsing editor forms."""

from __future__ import annotations

from datetime import UTC, datetime

from compilations.models import Entry
from search_api.web.workspace import action_label, moved_order, parse_lines, parse_order


def entries(*pairs: tuple[str, str | None]) -> list[Entry]:
    now = datetime.now(UTC)
    return [
        Entry(doc_id=d, position=i, section=s, added_by="t", added_at=now)
        for i, (d, s) in enumerate(pairs)
    ]


def test_moves_swap_with_the_neighbour_in_the_same_section() -> None:
    listed = entries(("a", None), ("b", None), ("c", "一"), ("d", "一"))
    assert moved_order(listed, "a", "down") == ["b", "a", "c", "d"]
    assert moved_order(listed, "d", "up") == ["a", "b", "d", "c"]


def test_moves_stop_at_section_edges() -> None:
    listed = entries(("a", None), ("b", None), ("c", "一"), ("d", "一"))
    assert moved_order(listed, "b", "down") is None  # last of its section
    assert moved_order(listed, "c", "up") is None  # first of its section
    assert moved_order(listed, "missing", "up") is None


def test_drag_order_keeps_only_known_ids_once() -> None:
    assert parse_order("c\nx\na\nc\n\n b \n", ["a", "b", "c"]) == ["c", "a", "b"]


def test_lines_are_trimmed_and_capped() -> None:
    assert parse_lines(" 低保 \n\n特困供养\n", limit=5) == ["低保", "特困供养"]
    assert len(parse_lines("\n".join("x" * 3 for _ in range(100)), limit=10)) == 10


def test_version_actions_read_in_chinese() -> None:
    assert action_label("add 3 documents") == "加入 3 件文件"
    assert action_label("move sample-010 to section 本市政策") == "将 sample-010 移入分节“本市政策”"
    assert action_label("move a to section (none)") == "将 a 移出分节"
    assert action_label("remove section 附录") == "删除分节“附录”"
    assert action_label("restore version 2 (2024年版)") == "恢复到第 2 版"
    assert action_label("something new") == "something new"
