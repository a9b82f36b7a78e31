"""View models of the librarian workspace: compilations as the editor shows them.

Pure functions over `compilations.models`; the routes in `search_api.routes.workspace` call the
`CompilationService` and pass its answers through here to the templates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from compilations.models import Compilation, Entry, Status
from search_api.web.pages import VALIDITY_CLASSES, VALIDITY_LABELS, doc_url

STATUS_LABELS: dict[str, str] = {"draft": "草稿", "published": "已发布", "archived": "已归档"}

ORDER_RULE_LABELS: dict[str, str] = {
    "manual": "手动排序",
    "validity_then_date": "按有效性、日期",
    "level_then_date": "按效力层级、日期",
    "date_desc": "按日期（新到旧）",
    "date_asc": "按日期（旧到新）",
}

# Export formats offered as buttons: (format, label); the route is /compilations/{id}/export.
EXPORT_FORMATS: list[tuple[str, str]] = [
    ("docx", "汇编本（Word）"),
    ("pdf", "汇编本（PDF）"),
    ("xlsx", "数据表（Excel）"),
    ("csv", "数据表（CSV）"),
    ("jsonl", "数据（JSONL）"),
    ("gbt7714", "引文（GB/T 7714）"),
    ("ris", "引文（RIS）"),
    ("bibtex", "引文（BibTeX）"),
]

# Outcomes shown after a change (redirect-after-post carries only this code, never user text).
MESSAGES: dict[str, str] = {
    "created": "汇编已创建。",
    "saved": "已保存。",
    "added": "已加入汇编。",
    "moved": "顺序已调整。",
    "removed": "已移出汇编。",
    "note": "备注已保存。",
    "section": "已更换分节。",
    "section-added": "已添加分节。",
    "accepted": "已采纳该文件。",
    "rejected": "已拒绝该文件。",
    "restored": "已恢复到所选版本（作为新版本保存）。",
    "proposed": "已按种子词查找候选文件，请在待审列表中处理。",
    "snapshot": "已保存快照。",
}

Direction = Literal["up", "down"]

# The service describes each version in English ("add 3 documents"); the history page says it
# in Chinese. Patterns follow `CompilationService`; anything else is shown as it came.
_ACTIONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^create$"), "新建"),
    (re.compile(r"^add (\d+) documents?$"), r"加入 \1 件文件"),
    (re.compile(r"^remove (.+) and exclude it$"), r"移出 \1 并不再推荐"),
    (re.compile(r"^remove section (.+)$"), r"删除分节“\1”"),
    (re.compile(r"^remove (.+)$"), r"移出 \1"),
    (re.compile(r"^reorder (\d+) documents$"), r"调整 \1 件文件的顺序"),
    (re.compile(r"^move section (.+) to position (\d+)$"), r"移动分节“\1”"),
    (re.compile(r"^move (.+) to section \(none\)$"), r"将 \1 移出分节"),
    (re.compile(r"^move (.+) to section (.+)$"), r"将 \1 移入分节“\2”"),
    (re.compile(r"^move (.+) to (.+)$"), r"移动 \1"),
    (re.compile(r"^clear note on (.+)$"), r"清除 \1 的备注"),
    (re.compile(r"^note on (.+)$"), r"为 \1 写备注"),
    (re.compile(r"^add section (.+)$"), r"添加分节“\1”"),
    (re.compile(r"^rename section (.+) to (.+)$"), r"分节“\1”改名为“\2”"),
    (re.compile(r"^restore version (\d+)(?: \((.+)\))?$"), r"恢复到第 \1 版"),
    (re.compile(r"^accept proposal (.+)$"), r"采纳待审文件 \1"),
    (re.compile(r"^update (.+)$"), r"修改设置（\1）"),
]


def action_label(action: str) -> str:
    """A version's description in Chinese (the raw text when no pattern knows it)."""
    for pattern, label in _ACTIONS:
        if pattern.match(action):
            return pattern.sub(label, action)
    return action


@dataclass(frozen=True)
class EntryView:
    entry: Entry
    url: str
    can_up: bool
    can_down: bool
    validity_label: str | None
    validity_class: str | None


@dataclass(frozen=True)
class SectionView:
    name: str | None  # None: documents outside any section
    entries: list[EntryView]


def sections_view(
    compilation: Compilation, validity: Mapping[str, str] | None = None
) -> list[SectionView]:
    """Entries grouped as the reading order has them: unsectioned first, then each section.

    ``validity`` maps document ids to their status (from the index) for the badges.
    """
    validity = validity or {}
    groups: list[SectionView] = []
    for name in [None, *compilation.sections]:
        members = [e for e in compilation.documents if e.section == name]
        if name is not None or members:
            groups.append(
                SectionView(
                    name,
                    [
                        EntryView(
                            entry=e,
                            url=doc_url(e.doc_id),
                            can_up=i > 0,
                            can_down=i < len(members) - 1,
                            validity_label=VALIDITY_LABELS.get(validity[e.doc_id])
                            if e.doc_id in validity
                            else None,
                            validity_class=VALIDITY_CLASSES.get(validity[e.doc_id])
                            if e.doc_id in validity
                            else None,
                        )
                        for i, e in enumerate(members)
                    ],
                )
            )
    return groups


def moved_order(entries: Sequence[Entry], doc_id: str, direction: Direction) -> list[str] | None:
    """The whole reading order with ``doc_id`` swapped with its neighbour in its section;
    None when it is already first (up) or last (down) there, or not in the list."""
    ids = [e.doc_id for e in entries]
    if doc_id not in ids:
        return None
    at = ids.index(doc_id)
    section = entries[at].section
    step = -1 if direction == "up" else 1
    other = at + step
    while 0 <= other < len(entries) and entries[other].section != section:
        other += step
    if not 0 <= other < len(entries):
        return None
    ids[at], ids[other] = ids[other], ids[at]
    return ids


def parse_order(text: str, known: Sequence[str]) -> list[str]:
    """Ids from a drag-reorder form (one per line), only those in the compilation, once each."""
    allowed = set(known)
    return [i for i in dict.fromkeys(line.strip() for line in text.splitlines()) if i in allowed]


def parse_lines(text: str, limit: int = 50) -> list[str]:
    """Non-empty lines (seed terms, section names), at most ``limit``."""
    return [line.strip() for line in text.splitlines() if line.strip()][:limit]


def status_choices(current: Status) -> list[tuple[str, str, bool]]:
    return [(value, label, value == current) for value, label in STATUS_LABELS.items()]
