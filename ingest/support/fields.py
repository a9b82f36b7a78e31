"""Source metadata values -> `Document` field values (dates, 主题分类, 主题词, labels, titles).

Shared by every ingestor so that a page's metadata table and a JSONL record end up in the same
fields. A value that does not parse is never guessed: it is kept raw as ``<field>_raw``.
"""

from __future__ import annotations

import re
from typing import Any

# The project's date parser, re-exported: every ingestor parses dates alike.
from analysis.dates import parse_date as parse_date

# Labels of the metadata table on gov.cn-style pages (and their common variants), after
# `normalize_label`, mapped to Document fields.
LABEL_FIELDS: dict[str, str] = {
    "索引号": "index_number",
    "主题分类": "topic",
    "发文机关": "agency",
    "发布机构": "agency",
    "成文日期": "date_written",
    "发文字号": "doc_number",
    "文号": "doc_number",
    "发布日期": "date_published",
    "有效性": "validity",
    "标题": "title",
    "名称": "title",
    "主题词": "subject_words",
}

DATE_FIELDS = ("date_written", "date_published")

_LABEL_NOISE = re.compile(r"[\s\u3000\xa0:：]+")
_TOPIC_SEPARATORS = re.compile(r"\s*[\\/／]\s*")
_SUBJECT_WORD_SEPARATORS = re.compile(r"[\s\u3000,，;；、]+")
_SENTENCE_END = "。！？；"
TITLE_MAX_CHARS = 80


def normalize_label(text: str) -> str:
    """``'索 引 号：'`` -> ``'索引号'``: pages pad labels with (full-width) spaces for alignment."""
    return _LABEL_NOISE.sub("", text)


def parse_topic(value: str) -> dict[str, str | None] | None:
    """``'城乡建设、环境保护\\城市规划'`` -> top/sub (gov.cn writes a backslash, others a slash)."""
    parts = [p for p in _TOPIC_SEPARATORS.split(value.strip()) if p]
    if not parts:
        return None
    return {"top": parts[0], "sub": "/".join(parts[1:]) or None}


def split_subject_words(value: object) -> list[str]:
    """主题词 as printed (``'体育　运动会　机场'``) or already a list -> list of words."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str):
        return [w for w in _SUBJECT_WORD_SEPARATORS.split(value) if w]
    return []


def derive_title(body: str) -> str:
    """A title for a document that has none: its first non-empty line, cut to a sentence.

    Long first lines (a message, a paragraph) are cut at the first sentence end, else at
    `TITLE_MAX_CHARS`, so a title stays a title.
    """
    for line in body.splitlines():
        line = line.strip()
        if not line:
            continue
        if len(line) <= TITLE_MAX_CHARS:
            return line
        cuts = [i for i in (line.find(p) for p in _SENTENCE_END) if 0 < i < TITLE_MAX_CHARS]
        return line[: min(cuts) + 1] if cuts else line[:TITLE_MAX_CHARS]
    return ""


def metadata_to_fields(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Raw metadata keyed by Document field name -> (Document fields, extra fields).

    Dates are parsed here (an unparseable one goes to ``<field>_raw``); 主题分类 is split into
    its two levels; 主题词 into words. Empty values are dropped. Agency, 发文字号 and validity
    strings are left to `Document`'s own validators.
    """
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for name, value in raw.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if name in DATE_FIELDS:
            parsed = parse_date(value)
            if parsed is None:
                extra[f"{name}_raw"] = value
            else:
                fields[name] = parsed
        elif name == "topic" and isinstance(value, str):
            topic = parse_topic(value)
            if topic:
                fields[name] = topic
        elif name == "subject_words":
            words = split_subject_words(value)
            if words:
                fields[name] = words
        else:
            fields[name] = value.strip() if isinstance(value, str) else value
    return fields, extra
