"""Metadata extraction measured against gold fields: `gongkai eval metadata`.

For each record of a JSONL file the gold fields are hidden, `MetadataExtractor` runs on what
is left (title, text, html) and its values are compared with the gold ones after
normalisation: 发文字号 by canonical form, dates as ISO days, agencies as a set of names
without spaces, 主题分类 on both levels (or the top level where the file gives only that),
titles without spaces. The title is hidden, and so measured, only where the record has its
page (``html``): a record without one has no other place the title could come from.

Per field: ``n`` records with a gold value, ``accuracy`` = correct / n (None when n is 0),
``false_extractions`` = records without a gold value for which a value was extracted. Only
fields the file has at all are counted (a file without ``agency`` gives n = 0 and no false
extractions for it).

The baseline is one plain regex per field on the visible text (title when not hidden, then
text): the first ``\\S+〔\\d{4}〕\\d+号`` for the number, the first ISO or 年月日 date for
both dates, the name before 关于 in the first line for the agency, the first line for the title,
nothing for the topic.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from analysis.dates import parse_date
from analysis.docnumber import doc_number_key
from analysis.metadata import HTML_FIELD, MetadataExtractor
from evaluation.records import jsonl_records
from gongkai.document import Document, Topic
from ingest.support.fields import parse_topic

FIELDS = ("doc_number", "date_written", "date_published", "agency", "topic", "title")
# Gold fields hidden from the extractor (besides the title where the page is present).
HIDDEN = frozenset((*FIELDS, "topic_top", "doc_number_raw", "index_number", "pub_date_raw"))

_SPACE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
_BASELINE_NUMBER = re.compile(r"\S+〔\d{4}〕\d+号")
_BASELINE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{4}年\d{1,2}月\d{1,2}日")
_BASELINE_AGENCY = re.compile(r"^(\S+?)关于")

Values = dict[str, Any]


class MetadataFileError(ValueError):
    """A gold file that cannot be read; the message names the line."""


def evaluate_metadata(
    path: Path,
    extractor: MetadataExtractor | None = None,
    on_record: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Per-field accuracy of the extractor and of the baseline on the gold file ``path``."""
    extractor = extractor or MetadataExtractor()
    records = list(_records(path))
    present = {name for name in FIELDS if any(_gold_present(r, name) for r in records)}
    ours = _Tally(present)
    baseline = _Tally(present)
    for record in records:
        hide_title = isinstance(record.get(HTML_FIELD), str) and bool(record[HTML_FIELD].strip())
        gold = _gold(record)
        if not hide_title:
            gold.pop("title", None)  # given to the extractor, so not measured
        measured = present - ({"title"} if not hide_title else set())
        ours.add(gold, _extracted(extractor, record, hide_title), measured)
        baseline.add(gold, _baseline(record, hide_title), measured)
        if on_record:
            on_record()
    return {"fields": ours.summary(), "baseline": baseline.summary()}


class _Tally:
    def __init__(self, present: set[str]) -> None:
        self.present = present
        self.counts = {name: {"n": 0, "correct": 0, "false": 0} for name in FIELDS}

    def add(self, gold: Values, found: Values, measured: set[str]) -> None:
        for name in measured:
            expected, got = gold.get(name), found.get(name)
            count = self.counts[name]
            if expected is None:
                count["false"] += got is not None
            else:
                count["n"] += 1
                count["correct"] += got == expected

    def summary(self) -> dict[str, dict[str, Any]]:
        return {
            name: {
                "accuracy": round(c["correct"] / c["n"], 4) if c["n"] else None,
                "n": c["n"],
                "false_extractions": c["false"],
            }
            for name, c in self.counts.items()
        }


def _records(path: Path) -> Iterator[dict[str, Any]]:
    for _, record in jsonl_records(path, MetadataFileError):
        yield record


def _gold_present(record: dict[str, Any], name: str) -> bool:
    if name == "topic":
        return bool(record.get("topic") or record.get("topic_top"))
    return record.get(name) not in (None, "", [])


def _gold(record: dict[str, Any]) -> Values:
    """The gold values of one record, normalised; a field without a value is absent."""
    gold: Values = {
        "doc_number": _norm_number(record.get("doc_number")),
        "date_written": _norm_date(record.get("date_written")),
        "date_published": _norm_date(record.get("date_published")),
        "agency": _norm_agency(record.get("agency")),
        "title": _norm_title(record.get("title")),
    }
    topic = record.get("topic")
    if isinstance(topic, str) and topic.strip():
        parts = parse_topic(topic)
        gold["topic"] = (parts["top"], parts["sub"]) if parts else None
    elif isinstance(record.get("topic_top"), str) and record["topic_top"].strip():
        gold["topic"] = (record["topic_top"].strip(), None)
    return {k: v for k, v in gold.items() if v is not None}


def _input_document(record: dict[str, Any], hide_title: bool) -> Document:
    """The record as ingest would give it, less the gold fields."""
    fields: dict[str, Any] = {
        "id": str(record.get("id") or "record"),
        "url": record.get("url"),
        "title": "" if hide_title else str(record.get("title") or ""),
        "body": str(record.get("text") or ""),
    }
    html = record.get(HTML_FIELD)
    if isinstance(html, str) and html.strip():
        fields[HTML_FIELD] = html  # kept as an extra field, as the JSONL ingestor keeps it
    return Document.model_validate(fields)


def _extracted(extractor: MetadataExtractor, record: dict[str, Any], hide_title: bool) -> Values:
    doc = extractor.extract(_input_document(record, hide_title))
    topic: Topic | None = doc.topic
    found: Values = {
        "doc_number": doc_number_key(doc.doc_number) if doc.doc_number else None,
        "date_written": _iso(doc.date_written),
        "date_published": _iso(doc.date_published),
        "agency": _norm_agency(doc.agency),
        "topic": (topic.top, topic.sub) if topic and topic.top else None,
        "title": _norm_title(doc.title) if hide_title else None,
    }
    gold_topic = record.get("topic")
    if found["topic"] and not (isinstance(gold_topic, str) and gold_topic.strip()):
        found["topic"] = (found["topic"][0], None)  # the file gives the top level only
    return found


def _baseline(record: dict[str, Any], hide_title: bool) -> Values:
    """One plain regex per field on the visible text."""
    title = "" if hide_title else str(record.get("title") or "")
    text = "\n".join(part for part in (title, str(record.get("text") or "")) if part)
    number = _BASELINE_NUMBER.search(text)
    day = _BASELINE_DATE.search(text)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    agency = _BASELINE_AGENCY.search(first_line)
    return {
        "doc_number": doc_number_key(number.group(0)) if number else None,
        "date_written": _norm_date(day.group(0)) if day else None,
        "date_published": _norm_date(day.group(0)) if day else None,
        "agency": _norm_agency(agency.group(1)) if agency else None,
        "topic": None,
        "title": _norm_title(first_line) if hide_title else None,
    }


def _norm_number(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return doc_number_key(value)
    return None


def _norm_date(value: object) -> str | None:
    return _iso(parse_date(value))


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _norm_agency(value: object) -> tuple[str, ...] | None:
    names: list[str]
    if isinstance(value, str):
        names = re.split(r"[、，,；;]", value)
    elif isinstance(value, list):
        names = [str(v) for v in value]
    else:
        return None
    cleaned = sorted({_SPACE.sub("", n) for n in names} - {""})
    return tuple(cleaned) or None


def _norm_title(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return _SPACE.sub("", value) or None
