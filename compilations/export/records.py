"""What every export format is fed (`ExportItem`, `ExportMeta`) and how a `Document` becomes a
flat row of metadata (CSV, XLSX) or a full JSON record (JSONL).

Text that goes into XML-based formats (XLSX, DOCX, and reportlab's paragraph markup) passes
through `xml_safe`: XML 1.0 forbids most control characters, and openpyxl and python-docx raise
on them, so they are dropped (tab, line feed and carriage return are kept).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from gongkai.document import Document

# Characters XML 1.0 does not allow (its `Char` production), lone surrogates included.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Lists in one cell are joined with this; "; " is easy to split and never inside a 发文字号.
LIST_SEPARATOR = "; "
# Words for the validity values, as a reader of the booklet sees them.
VALIDITY_LABELS = {
    "有效": "有效",
    "失效": "失效",
    "废止": "废止",
    "已修改": "已修改",
    "unknown": "未知",
}
# Validity values a reader must not miss (shown as a red badge in booklets).
WARNING_VALIDITY = frozenset({"失效", "废止", "已修改"})
# The banner printed above such a document's header.
WARNING_BANNER = {"失效": "本文件已失效", "废止": "本文件已废止", "已修改": "本文件已修改"}


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry."""
    return _XML_INVALID.sub("", text)


@dataclass(frozen=True)
class ExportItem:
    """One document in the order it is exported. ``document`` is None when it is missing
    (a compilation still lists a document the index no longer has): exports list it as
    missing instead of dropping it."""

    doc_id: str
    document: Document | None
    section: str | None = None
    note: str = ""
    # Title remembered by the compilation, shown when the document itself is missing.
    known_title: str = ""

    @property
    def missing(self) -> bool:
        return self.document is None

    @property
    def title(self) -> str:
        if self.document is not None and self.document.title:
            return self.document.title
        return self.known_title or self.doc_id


@dataclass(frozen=True)
class ExportMeta:
    """What the cover says: compilation title, description, when, how many, from what."""

    title: str
    description: str = ""
    created: date = field(default_factory=date.today)
    # Number of items, when known up front (shown on the cover and used by progress bars).
    total: int | None = None
    # The search that selected the documents, for exports of query results.
    query: str = ""
    sections: list[str] = field(default_factory=list)


# Columns of CSV and XLSX, in order: every field of `Document`, flattened.
COLUMNS: tuple[str, ...] = (
    "id",
    "title",
    "title_derived",
    "url",
    "source",
    "agency",
    "doc_number",
    "doc_number_issuer_code",
    "doc_number_year",
    "doc_number_serial",
    "index_number",
    "topic_top",
    "topic_sub",
    "doc_type",
    "subject_words",
    "date_written",
    "date_published",
    "validity",
    "validity_evidence",
    "region",
    "attachments",
    "references",
    "also_at",
    "fetched_at",
    "content_hash",
    "language",
    "extra",
    "section",
    "note",
    "missing",
    "body",
)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str) if value else ""


def flat_record(item: ExportItem) -> dict[str, str]:
    """One row: every `Document` field as text (lists joined by `LIST_SEPARATOR`, nested
    records as JSON), plus the compilation's section and note for this document."""
    doc = item.document
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        id=item.doc_id,
        title=item.title,
        section=item.section or "",
        note=item.note,
        missing=_text(item.missing),
    )
    if doc is None:
        return row
    number = doc.doc_number
    row.update(
        title_derived=_text(doc.title_derived),
        url=_text(doc.url),
        source=_text(doc.source),
        agency=LIST_SEPARATOR.join(doc.agency),
        doc_number=number.raw if number else "",
        doc_number_issuer_code=_text(number.issuer_code) if number else "",
        doc_number_year=_text(number.year) if number else "",
        doc_number_serial=_text(number.serial) if number else "",
        index_number=_text(doc.index_number),
        topic_top=_text(doc.topic.top) if doc.topic else "",
        topic_sub=_text(doc.topic.sub) if doc.topic else "",
        doc_type=_text(doc.doc_type),
        subject_words=LIST_SEPARATOR.join(doc.subject_words),
        date_written=_text(doc.date_written),
        date_published=_text(doc.date_published),
        validity=doc.validity.status,
        validity_evidence=_text(doc.validity.evidence),
        region=_text(doc.region),
        attachments=_json([a.model_dump(exclude={"text"}) for a in doc.attachments]),
        references=_json([r.model_dump(exclude_none=True) for r in doc.references]),
        also_at=LIST_SEPARATOR.join(doc.also_at),
        fetched_at=doc.fetched_at.isoformat() if doc.fetched_at else "",
        content_hash=doc.content_hash,
        language=doc.language,
        extra=_json(doc.extra_metadata),
        body=doc.body,
    )
    return row


def json_record(item: ExportItem) -> dict[str, Any]:
    """The whole document as JSON (source fields the model has no slot for included), with
    the compilation's section, note and a ``missing`` flag."""
    record: dict[str, Any] = (
        item.document.model_dump(mode="json") if item.document is not None else {"id": item.doc_id}
    )
    if item.document is None:
        record["title"] = item.title
    record["section"] = item.section
    record["note"] = item.note
    record["missing"] = item.missing
    return record


def primary_date(doc: Document) -> date | None:
    """The date a citation gives: publication, else the date the document was written."""
    return doc.date_published or doc.date_written
