"""Metadata a document states about itself, filled into the fields its source left empty.

`MetadataExtractor.extract` reads, in this order of trust:

1. the page: when the record carries its raw HTML (extra field ``html``), the gov.cn-style
   label:value table and the ``<meta>`` tags, read by the ingest HTML extractor;
2. the head of the body: ``发文字号：``-style label lines, the document's own number on a line
   of its own, the title lines above it;
3. the signature at the end of the body: issuing agencies and the signing date (成文日期);
4. the title: its issuers (``国务院办公厅关于...``), its type (``...的通知``), a trailing
   ``（沪府令28号）`` or ``（2018年12月7日）``;
5. the 发文字号: the type its code names (国办函 -> 函), its region (渝府办发 -> 重庆市), the
   issuer of a 令.

A value the source gave is never replaced; a field nothing speaks for stays empty (a document
without metadata gets nothing). How each filled field was found is kept in the extra field
``metadata_evidence`` (``{"doc_number": "table", "date_written": "signature", ...}``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from analysis.agency import (
    agencies_from_title,
    clean_name,
    looks_like_agency,
    region_of_agency,
    region_of_issuer_code,
    split_agencies,
)
from analysis.dates import UNRESOLVED_ENTITY, parse_date, signature
from analysis.docnumber import find_doc_number_matches, parse_doc_number, parse_doc_numbers
from analysis.doctype import doc_type_from_number, doc_type_from_title
from gongkai.document import DocNumber, Document, Topic
from ingest.support.fields import LABEL_FIELDS, normalize_label, parse_topic, split_subject_words
from ingest.support.html import META_FIELDS, ExtractedPage, extract_page

EVIDENCE_FIELD = "metadata_evidence"
HTML_FIELD = "html"

# Label lines in a body's head ("发文字号：国发〔2019〕5号  发布日期：2019-01-25"); labels may be
# spaced for alignment (索 引 号).
_LABEL_ALTERNATIVES = "|".join(
    r"[\s\u3000]*".join(re.escape(c) for c in label)
    for label in sorted(LABEL_FIELDS, key=len, reverse=True)
)
_LABEL = re.compile(rf"(?P<label>{_LABEL_ALTERNATIVES})[\s\u3000]*[:：]")
_SENTENCE_END = re.compile(r"[。；！？]")
_COLON_END = re.compile(r"[:：]\s*$")
# Numbered items (1. 一、 （一）) start the text, never a title.
_ITEM = re.compile(
    r"^(?:[0-9]+[.、．]|[一二三四五六七八九十]+、|[（(][0-9一二三四五六七八九十]+[）)])"
)
# What pages write in a cell that has no value.
_NONE_VALUES = frozenset(("无", "暂无", "空", "-", "--", "—", "/", "／", "null", "None", "NULL"))
MAX_TITLE_LINE_CHARS = 80
MAX_TITLE_CHARS = 150
# A 令's number is printed under its name: "中华人民共和国商务部令" / "2018年第2号".
_ORDER_NAME = re.compile(r"[\u4e00-\u9fff]{2,30}令")
_ORDER_SERIAL = re.compile(
    r"(?:[0-9０-９]{4}\s*年\s*)?第?\s*[0-9０-９〇零一二三四五六七八九十百千]+\s*号"
)
# A date or a number in brackets closing a title.
_TITLE_DATE = re.compile(r"[（(]\s*(?P<date>[^（）()]{6,20}?)\s*[）)]\s*$")
_TITLE_NUMBER_TAIL = re.compile(r"[（(]\s*$")


@dataclass(frozen=True)
class _Head:
    """What the lines before a body's first sentence say: labels, own number, title."""

    labels: dict[str, str] = field(default_factory=dict)
    number: DocNumber | None = None
    title: str | None = None


@dataclass(frozen=True)
class MetadataExtractor:
    """Fills a document's empty metadata fields from its own page, body and title.

    ``head_lines``: how many non-empty lines at the top of a body may hold its title, number
    and label lines. ``read_html``: whether to read the page in the ``html`` extra field.
    """

    head_lines: int = 12
    read_html: bool = True

    def extract(self, doc: Document) -> Document:
        """A copy of ``doc`` with its missing fields filled; ``doc`` itself is not changed."""
        page = self._page(doc)
        body = doc.body or (page.body if page else "")
        head = self._head(body)
        fill = _Filler(doc)
        page_fields: dict[str, Any] = dict(page.fields) if page else {}
        meta_names = _meta_names(doc) if page else frozenset()

        def from_page(name: str) -> tuple[Any, str] | None:
            if name not in page_fields or _says_none(page_fields[name]):
                return None
            # The extractor prefers a <meta> value to the table's: say which it was.
            return page_fields[name], "meta" if name in meta_names else "table"

        # Title: the page's, else the title lines at the top of the body.
        if not doc.title or doc.title_derived:
            if page and page.title:
                fill.set("title", page.title, page.title_source or "html")
                fill.updates["title_derived"] = False
            elif head.title:
                fill.set("title", head.title, "body")
                fill.updates["title_derived"] = True  # it repeats body text: see analyzer
        # The title the other rules read: given by the source or found above, never the
        # body's first line that ingest falls back on.
        title = fill.updates.get("title") or ("" if doc.title_derived else doc.title)

        # 发文字号
        if doc.doc_number is None:
            source = from_page("doc_number") or _labelled(head, "doc_number")
            if source:
                raw, how = source
                fill.set("doc_number", parse_doc_number(str(raw)), how)
                numbers = parse_doc_numbers(str(raw))
                if len(numbers) > 1:
                    fill.updates["doc_numbers"] = [n.model_dump() for n in numbers]
            elif head.number:
                fill.set("doc_number", head.number, "body")
            elif in_title := _number_in_title(title):
                fill.set("doc_number", in_title, "title")
        elif doc.doc_number.serial is None:
            # The source gave only the raw text: add its parts, keep its raw.
            parsed = parse_doc_number(doc.doc_number.raw)
            if parsed.serial is not None:
                fill.updates["doc_number"] = parsed
        number: DocNumber | None = fill.value("doc_number")

        closing = signature(body) if body else None

        if doc.date_written is None:
            fill.first(
                "date_written",
                lambda: _as_date(from_page("date_written")),
                lambda: _as_date(_labelled(head, "date_written")),
                lambda: (closing.day, "signature") if closing else None,
                lambda: _title_date(title),
            )
        if doc.date_published is None:
            fill.first(
                "date_published",
                lambda: _as_date(from_page("date_published")),
                lambda: _as_date(_labelled(head, "date_published")),
            )

        if not doc.agency:
            fill.first(
                "agency",
                lambda: _as_agencies(from_page("agency")),
                lambda: _as_agencies(_labelled(head, "agency")),
                lambda: (
                    (list(closing.agencies), "signature") if closing and closing.agencies else None
                ),
                lambda: _found(agencies_from_title(title), "title"),
                lambda: _found(_order_issuer(number), "doc_number"),
            )

        if doc.doc_type is None:
            fill.first(
                "doc_type",
                lambda: _found(doc_type_from_title(title), "title"),
                lambda: _found(doc_type_from_number(number), "doc_number"),
            )

        if doc.region is None:
            agencies: list[str] = fill.value("agency")
            fill.first(
                "region",
                lambda: _found(_first_region(agencies), "agency"),
                lambda: _found(
                    region_of_issuer_code(number.issuer_code)
                    if number and number.issuer_code
                    else None,
                    "doc_number",
                ),
            )

        # 主题分类 only ever from a page field: a topic is never inferred from the text.
        if doc.topic is None:
            fill.first(
                "topic",
                lambda: _as_topic(from_page("topic")),
                lambda: _as_topic(_labelled(head, "topic")),
            )
        if doc.index_number is None:
            fill.first(
                "index_number",
                lambda: from_page("index_number"),
                lambda: _labelled(head, "index_number"),
            )
        if not doc.subject_words:
            fill.first(
                "subject_words",
                lambda: _as_words(from_page("subject_words")),
                lambda: _as_words(_labelled(head, "subject_words")),
            )
        return fill.result()

    def process(self, doc: Document) -> Document:
        """`extract` under the name pipeline stages use (`gongkai.enrichment.DocumentStage`)."""
        return self.extract(doc)

    def _page(self, doc: Document) -> ExtractedPage | None:
        html = doc.extra_metadata.get(HTML_FIELD)
        if not self.read_html or not isinstance(html, str) or not html.strip():
            return None
        return extract_page(html)

    def _head(self, body: str) -> _Head:
        # The head's lines, and one more (enough for `title_end < len(filled)` below): a
        # long body's other lines are never read.
        filled: list[str] = []
        for raw in body.splitlines():
            line = UNRESOLVED_ENTITY.sub(" ", raw).strip()
            if line:
                filled.append(line)
                if len(filled) > self.head_lines:
                    break
        lines = filled[: self.head_lines]
        head: list[str] = []
        for line in lines:
            # The head ends at the addressee (各省、自治区...：) or the first sentence.
            if not _LABEL.match(line) and (
                _COLON_END.search(line) or _SENTENCE_END.search(line) or len(line) > MAX_TITLE_CHARS
            ):
                break
            head.append(line)

        labels: dict[str, str] = {}
        number: DocNumber | None = None
        title_lines: list[str] = []
        title_end = 0  # index after the title's last line
        title_done = False
        for index, line in enumerate(head):
            if _LABEL.match(line):
                for name, value in _label_values(line):
                    labels.setdefault(name, value)
                title_done = title_done or bool(title_lines)
                continue
            own = _own_number(line, head[index + 1] if index + 1 < len(head) else "")
            if own is not None:
                number = number or own
                title_done = title_done or bool(title_lines)
                continue
            if title_done or ":" in line or "：" in line or len(line) > MAX_TITLE_LINE_CHARS:
                title_done = title_done or bool(title_lines)
                continue
            if _ITEM.match(line):
                break
            if parse_date(line) is not None or _ORDER_SERIAL.fullmatch(line):
                title_done = title_done or bool(title_lines)
                continue
            title_lines.append(line)
            title_end = index + 1
        title = "".join(title_lines)
        is_title = (
            bool(title)
            and title_end < len(filled)  # a title heads something: a one-line body is no title
            and len(title) <= MAX_TITLE_CHARS
            and doc_type_from_title(title) is not None
            and not _ORDER_NAME.fullmatch(title)  # "中华人民共和国商务部令" names the 令 series
        )
        return _Head(labels=labels, number=number, title=title if is_title else None)


class _Filler:
    """The updates for one document and how each was found."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.updates: dict[str, Any] = {}
        self.evidence: dict[str, str] = {}

    def value(self, name: str) -> Any:
        return self.updates[name] if name in self.updates else getattr(self.doc, name)

    def set(self, name: str, value: Any, how: str) -> None:
        self.updates[name] = value
        self.evidence[name] = how

    def first(self, name: str, *sources: Callable[[], tuple[Any, str] | None]) -> None:
        """Fill ``name`` from the first source that has a value (later ones are not run)."""
        for source in sources:
            found = source()
            if found is not None and found[0] not in (None, "", [], {}):
                self.set(name, found[0], found[1])
                return

    def result(self) -> Document:
        if not self.updates:
            return self.doc
        updates = dict(self.updates)
        if self.evidence:
            previous = self.doc.extra_metadata.get(EVIDENCE_FIELD)
            known = dict(previous) if isinstance(previous, dict) else {}
            updates[EVIDENCE_FIELD] = {**known, **self.evidence}
        return self.doc.model_copy(update=updates)


# --- sources ---------------------------------------------------------------------------------


def _meta_names(doc: Document) -> frozenset[str]:
    """Document fields the page gives in ``<meta>`` tags (its other fields are from its table)."""
    html = str(doc.extra_metadata.get(HTML_FIELD) or "")
    names = set()
    for key, (name, is_field) in META_FIELDS.items():
        if is_field and re.search(rf"<meta\b[^>]*\bname\s*=\s*[\"']?{key}\b", html, re.IGNORECASE):
            names.add(name)
    return frozenset(names)


def _label_values(line: str) -> list[tuple[str, str]]:
    """``'发布机构： 省政府办公厅 成文日期： 2004-02-02'`` -> (field, value) pairs."""
    found = []
    matches = list(_LABEL.finditer(line))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(line)
        value = line[match.end() : end].strip()
        name = LABEL_FIELDS.get(normalize_label(match.group("label")))
        if name and value:
            found.append((name, value))
    return found


def _labelled(head: _Head, name: str) -> tuple[str, str] | None:
    if name not in head.labels or _says_none(head.labels[name]):
        return None
    return head.labels[name], "text_label"


def _says_none(value: object) -> bool:
    """``发文字号：无``: a page stating that there is no value."""
    return isinstance(value, str) and value.strip() in _NONE_VALUES


def _own_number(line: str, next_line: str) -> DocNumber | None:
    """The document's own number: a head line that is one number and nothing else."""
    text = line.strip("（()）[]【】 \u3000")
    numbers = parse_doc_numbers(text)
    if len(numbers) == 1 and numbers[0].serial is not None:
        return numbers[0].model_copy(update={"raw": line})
    if _ORDER_NAME.fullmatch(line) and _ORDER_SERIAL.fullmatch(next_line):
        numbers = parse_doc_numbers(line + next_line)
        if len(numbers) == 1 and numbers[0].serial is not None:
            return numbers[0].model_copy(update={"raw": f"{line}{next_line}"})
    return None


def _number_in_title(title: str) -> DocNumber | None:
    """A title's own number: one it opens with, or one in brackets closing it (（沪府令28号）)."""
    for match in find_doc_number_matches(title):
        before, after = title[: match.start], title[match.end :].strip()
        opens = not before.strip()
        closes = after in ("）", ")") and bool(_TITLE_NUMBER_TAIL.search(before))
        if opens or closes:
            return match.number
    return None


def _title_date(title: str) -> tuple[date, str] | None:
    """``上海市市管干部提任前公示（2018年12月7日）``: a bare date in brackets closing a title."""
    match = _TITLE_DATE.search(title)
    day = parse_date(match["date"]) if match else None
    return (day, "title") if day else None


def _order_issuer(number: DocNumber | None) -> list[str]:
    """国务院令第656号 -> 国务院: a 令 names its issuer in full (沪府令 is only a code)."""
    if number is None or not number.issuer_code or not number.issuer_code.endswith("令"):
        return []
    issuer = number.issuer_code.removesuffix("令")
    return [issuer] if len(issuer) >= 3 and looks_like_agency(issuer) else []


def _first_region(agencies: list[str]) -> str | None:
    for name in agencies:
        region = region_of_agency(name)
        if region:
            return region
    return None


def _found(value: Any, how: str) -> tuple[Any, str] | None:
    return (value, how) if value else None


def _as_date(source: tuple[Any, str] | None) -> tuple[date, str] | None:
    if source is None:
        return None
    day = parse_date(source[0])
    return (day, source[1]) if day else None


def _as_agencies(source: tuple[Any, str] | None) -> tuple[list[str], str] | None:
    if source is None:
        return None
    value = source[0]
    names = split_agencies(value) if isinstance(value, str) else [str(v) for v in value]
    names = [clean_name(n) for n in names if clean_name(n)]
    return (names, source[1]) if names else None


def _as_topic(source: tuple[Any, str] | None) -> tuple[Topic, str] | None:
    if source is None:
        return None
    value = source[0]
    parts = parse_topic(value) if isinstance(value, str) else value
    if not isinstance(parts, dict) or not parts.get("top"):
        return None
    return Topic(**parts), source[1]


def _as_words(source: tuple[Any, str] | None) -> tuple[list[str], str] | None:
    if source is None:
        return None
    words = split_subject_words(source[0])
    return (words, source[1]) if words else None
