"""What both booklet formats share: how documents are grouped into chunks and the words of a
document's header."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from compilations.export.records import VALIDITY_LABELS, ExportItem, xml_safe

# A booklet is rendered a chunk at a time so memory holds one chunk's layout, not the whole
# compilation: a chunk closes after this many documents or this many characters of text,
# whichever comes first (one 1-MB law must not pull 99 more into the same chunk).
CHUNK_DOCUMENTS = 100
CHUNK_CHARACTERS = 400_000
# Headings longer than this are cut with "…" (the datasets keep the whole title); the table of
# contents cuts sooner so that one entry stays a few lines.
HEADING_CHARS = 1_000
TOC_CHARS = 200


def chunks(items: Iterable[ExportItem]) -> Iterator[list[ExportItem]]:
    """``items`` in consecutive groups bounded by `CHUNK_DOCUMENTS` and `CHUNK_CHARACTERS`."""
    group: list[ExportItem] = []
    size = 0
    for item in items:
        group.append(item)
        size += len(item.document.body) if item.document is not None else 0
        if len(group) >= CHUNK_DOCUMENTS or size >= CHUNK_CHARACTERS:
            yield group
            group, size = [], 0
    if group:
        yield group


def cut(text: str, limit: int) -> str:
    text = " ".join(xml_safe(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class HeaderLine:
    label: str
    value: str


def header_lines(item: ExportItem) -> list[HeaderLine]:
    """The catalogue lines printed under a document's title (only those the document has)."""
    doc = item.document
    if doc is None:
        return [
            HeaderLine("文件标识", item.doc_id),
            HeaderLine("状态", "文件缺失（已不在检索库中）"),
        ]
    candidates = [
        ("发文字号", doc.doc_number.raw if doc.doc_number else ""),
        ("发布机构", "、".join(doc.agency)),
        ("成文日期", str(doc.date_written or "")),
        ("发布日期", str(doc.date_published or "")),
        ("有效性", VALIDITY_LABELS[doc.validity.status]),
        ("文件类型", doc.doc_type or ""),
        (
            "主题分类",
            " / ".join(p for p in (doc.topic.top, doc.topic.sub) if p) if doc.topic else "",
        ),
        ("索引号", doc.index_number or ""),
        ("来源", doc.url or ""),
    ]
    return [HeaderLine(label, xml_safe(value)) for label, value in candidates if value]


def paragraphs(text: str) -> list[str]:
    """The body's paragraphs as the source broke them, blank lines dropped."""
    return [line.strip() for line in xml_safe(text).splitlines() if line.strip()]
