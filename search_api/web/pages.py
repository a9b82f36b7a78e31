"""View models of the public pages: what the templates show, computed from service answers.

Nothing here renders HTML or touches a request; the route reads the query string into a
`SearchForm`, asks the service, and hands these models to the templates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import quote, urlencode

from analysis.lineage import Lineage, LineageLink
from engines.base import FacetCount, SearchQuery
from gongkai.document import Document

PAGE_SIZE = 10
# The API refuses offsets beyond 10,000 (search_api.app.MAX_OFFSET); so do the pages.
MAX_PAGE = 10_000 // PAGE_SIZE
MAX_QUERY_CHARS = 1000
YEAR_MIN, YEAR_MAX = 1949, 2100

# Facet fields in the order the sidebar shows them, with their Chinese names.
FACETS: dict[str, str] = {
    "agency": "发布机构",
    "year": "年份",
    "topic_top": "主题分类",
    "doc_type": "文种",
    "validity": "有效性",
    "region": "地区",
}
# Facet fields that are keyword filters (year is a range on the date instead).
KEYWORD_FILTERS = ("agency", "topic_top", "doc_type", "validity", "region")

VALIDITY_LABELS: dict[str, str] = {
    "有效": "有效",
    "已修改": "已修改",
    "失效": "失效",
    "废止": "废止",
    "unknown": "未标明",
}
# CSS class per validity; colour is never the only signal, the badge always carries its word.
VALIDITY_CLASSES: dict[str, str] = {
    "有效": "valid",
    "已修改": "amended",
    "失效": "expired",
    "废止": "repealed",
    "unknown": "unknown",
}

REFERENCE_KINDS: dict[str, str] = {
    "cites": "引用",
    "amends": "修改",
    "abolishes": "废止",
    "implements": "贯彻落实",
}
REFERENCE_KINDS_PASSIVE: dict[str, str] = {
    "cites": "被引用",
    "amends": "被修改",
    "abolishes": "被废止",
    "implements": "被贯彻落实",
}

Sort = Literal["relevance", "newest"]


def doc_url(doc_id: str, q: str = "") -> str:
    path = "/doc/" + quote(doc_id, safe="")
    return f"{path}?{urlencode({'q': q})}" if q else path


def _int_in(value: str | None, low: int, high: int) -> int | None:
    try:
        number = int(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and low <= number <= high else None


@dataclass(frozen=True)
class SearchForm:
    """The search as the query string states it; forgiving (a bad value is dropped, not a 422)."""

    q: str = ""
    sort: Sort = "relevance"
    page: int = 1
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    year: int | None = None
    year_from: int | None = None
    year_to: int | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, Sequence[str]]) -> SearchForm:
        """From a multi-valued query string (``{"agency": ["A", "B"], ...}``)."""

        def one(name: str) -> str | None:
            values = params.get(name) or []
            return values[0] if values else None

        q = (one("q") or "").strip()[:MAX_QUERY_CHARS]
        # With nothing typed there is no relevance to rank by: newest first, always.
        sort: Sort = "newest" if one("sort") == "newest" or not q else "relevance"
        filters = {
            name: tuple(dict.fromkeys(v for v in params.get(name) or [] if v.strip()))
            for name in KEYWORD_FILTERS
        }
        return cls(
            q=q,
            sort=sort,
            page=_int_in(one("page"), 1, MAX_PAGE) or 1,
            filters={k: v for k, v in filters.items() if v},
            year=_int_in(one("year"), YEAR_MIN, YEAR_MAX),
            year_from=_int_in(one("year_from"), YEAR_MIN, YEAR_MAX),
            year_to=_int_in(one("year_to"), YEAR_MIN, YEAR_MAX),
        )

    @property
    def year_range(self) -> tuple[int | None, int | None]:
        """One chosen year wins over the from/to fields."""
        if self.year is not None:
            return self.year, self.year
        return self.year_from, self.year_to

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    def is_active(self, name: str, value: str) -> bool:
        if name == "year":
            return self.year is not None and str(self.year) == value
        return value in self.filters.get(name, ())

    def params(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.q:
            out.append(("q", self.q))
        for name in KEYWORD_FILTERS:
            out.extend((name, v) for v in self.filters.get(name, ()))
        for name in ("year", "year_from", "year_to"):
            value = getattr(self, name)
            if value is not None:
                out.append((name, str(value)))
        if self.q and self.sort != "relevance":
            out.append(("sort", self.sort))
        if self.page > 1:
            out.append(("page", str(self.page)))
        return out

    def url(self) -> str:
        params = self.params()
        return "/?" + urlencode(params) if params else "/"

    def with_page(self, page: int) -> SearchForm:
        return replace(self, page=page)

    def without(self, name: str, value: str | None = None) -> SearchForm:
        """The same search with one filter value (or the year range) removed, from page 1."""
        if name == "year":
            return replace(self, page=1, year=None)
        if name == "year_from":
            return replace(self, page=1, year_from=None)
        if name == "year_to":
            return replace(self, page=1, year_to=None)
        kept = tuple(v for v in self.filters.get(name, ()) if v != value)
        filters = (
            {**self.filters, name: kept}
            if kept
            else {k: v for k, v in self.filters.items() if k != name}
        )
        return replace(self, page=1, filters=filters)


@dataclass(frozen=True)
class ActiveFilter:
    label: str
    value: str
    remove_url: str


def active_filters(form: SearchForm) -> list[ActiveFilter]:
    """Chips for each filter in force, each linking to the search without it."""
    chips = [
        ActiveFilter(
            FACETS[name],
            VALIDITY_LABELS.get(v, v) if name == "validity" else v,
            form.without(name, v).url(),
        )
        for name in KEYWORD_FILTERS
        for v in form.filters.get(name, ())
    ]
    if form.year is not None:
        chips.append(ActiveFilter("年份", str(form.year), form.without("year").url()))
    if form.year_from is not None:
        chips.append(ActiveFilter("起始年份", str(form.year_from), form.without("year_from").url()))
    if form.year_to is not None:
        chips.append(ActiveFilter("截止年份", str(form.year_to), form.without("year_to").url()))
    return chips


@dataclass(frozen=True)
class FacetOption:
    value: str
    label: str
    count: int
    checked: bool


@dataclass(frozen=True)
class FacetGroup:
    name: str
    label: str
    options: list[FacetOption]
    # Year is one choice (a date range), the others any of several values.
    single: bool


def facet_groups(form: SearchForm, facets: Mapping[str, Sequence[FacetCount]]) -> list[FacetGroup]:
    groups = []
    for name, label in FACETS.items():
        counts = list(facets.get(name, []))
        if name == "year":
            counts.sort(key=lambda c: c.value, reverse=True)
        options = [
            FacetOption(
                value=c.value,
                label=VALIDITY_LABELS.get(c.value, c.value) if name == "validity" else c.value,
                count=c.count,
                checked=form.is_active(name, c.value),
            )
            for c in counts
        ]
        # A chosen value the engine no longer counts (0 hits) stays visible so it can be undone.
        shown = {o.value for o in options}
        chosen = [str(form.year)] if name == "year" and form.year else form.filters.get(name, ())
        options += [FacetOption(v, v, 0, True) for v in chosen if v not in shown]
        if options:
            groups.append(FacetGroup(name, label, options, single=name == "year"))
    return groups


@dataclass(frozen=True)
class PageLink:
    number: int
    url: str
    current: bool


@dataclass(frozen=True)
class Pagination:
    previous: str | None
    next: str | None
    pages: list[PageLink]
    last_page: int


def pagination(form: SearchForm, total: int, window: int = 2) -> Pagination:
    last = max(1, min(MAX_PAGE, math.ceil(total / PAGE_SIZE)))
    low, high = max(1, form.page - window), min(last, form.page + window)
    pages = [PageLink(n, form.with_page(n).url(), n == form.page) for n in range(low, high + 1)]
    return Pagination(
        previous=form.with_page(form.page - 1).url() if form.page > 1 else None,
        next=form.with_page(form.page + 1).url() if form.page < last else None,
        pages=pages,
        last_page=last,
    )


@dataclass(frozen=True)
class MetaRow:
    label: str
    value: str


def metadata_rows(doc: Document) -> list[MetaRow]:
    """The catalogue table of 政府信息公开 pages, in its usual order (empty cells as —)."""
    topic = "/".join(p for p in [doc.topic.top, doc.topic.sub] if p) if doc.topic else ""
    rows = [
        ("索引号", doc.index_number or ""),
        ("主题分类", topic),
        ("发布机构", "、".join(doc.agency)),
        ("发文字号", doc.doc_number.raw if doc.doc_number else ""),
        ("成文日期", doc.date_written.isoformat() if doc.date_written else ""),
        ("发布日期", doc.date_published.isoformat() if doc.date_published else ""),
        ("文种", doc.doc_type or ""),
        ("地区", doc.region or ""),
        ("主题词", "、".join(doc.subject_words)),
    ]
    return [MetaRow(label, value or "—") for label, value in rows]


def evidence_text(evidence: str | None) -> str | None:
    """Why the validity is what it is, in words a reader understands."""
    if not evidence:
        return None
    if evidence.startswith("field:"):
        return "发布页面标注"
    return evidence


def highlight_terms(query: SearchQuery) -> list[str]:
    """Words to mark in a full text: the query's tokens and the text of its phrases."""
    words = list(query.terms)
    for clause in query.clauses:
        if clause.occur == "must_not":
            continue
        for match in clause.matches:
            if match.kind == "phrase":
                # Phrases arrive as overlapping character bigrams: 最低 低生 生活 -> 最低生活.
                words.append(match.values[0] + "".join(v[-1] for v in match.values[1:]))
            elif match.kind == "term":
                words.extend(match.values)
    return list(dict.fromkeys(w for w in words if w))


def safe_link(url: str | None) -> str | None:
    """Only http(s) links are offered: ``javascript:`` and friends are shown as text, if at all."""
    if url and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return None


def paragraphs(body: str) -> list[str]:
    return [line.strip() for line in body.splitlines() if line.strip()]


@dataclass(frozen=True)
class LinkView:
    relation: str
    title: str
    doc_number: str | None
    url: str | None  # None: the referenced document is not in the index


@dataclass(frozen=True)
class LineageView:
    cites: list[LinkView]
    cited_by: list[LinkView]
    versions: list[LinkView]
    replaced_by: list[LinkView]

    @property
    def empty(self) -> bool:
        return not (self.cites or self.cited_by or self.versions or self.replaced_by)


def lineage_view(doc: Document, lineage: Lineage, titles: Mapping[str, str]) -> LineageView:
    """Lineage with links; ``titles`` maps ids of other documents to their titles."""

    def link(item: LineageLink, other_id: str | None, relation: str) -> LinkView:
        title = titles.get(other_id or "") or item.title or item.doc_number or other_id or "—"
        return LinkView(relation, title, item.doc_number, doc_url(other_id) if other_id else None)

    versions = [
        LinkView(
            "版本",
            v.title + (f"（{v.date.isoformat()}）" if v.date else ""),
            None,
            None if v.id == doc.id else doc_url(v.id),
        )
        for v in lineage.versions
    ]
    return LineageView(
        cites=[link(x, x.target_id, REFERENCE_KINDS.get(x.kind, x.kind)) for x in lineage.cites],
        cited_by=[
            link(x, x.source_id, REFERENCE_KINDS_PASSIVE.get(x.kind, x.kind))
            for x in lineage.cited_by
        ],
        # A single version (the document itself) says nothing worth a list.
        versions=versions if len(versions) > 1 else [],
        replaced_by=[
            LinkView("替代文件", titles.get(i, i), None, doc_url(i)) for i in lineage.replaced_by
        ],
    )


def lineage_ids(lineage: Lineage) -> set[str]:
    """Ids whose titles the lineage view wants."""
    ids = {x.target_id for x in lineage.cites if x.target_id}
    ids |= {x.source_id for x in lineage.cited_by}
    ids |= set(lineage.replaced_by)
    return ids
