"""One fetched page -> what the crawler needs from it: links to follow (list items, pagination,
or every link for the generic profile), attachment links, and the article's fields.

Runs in a worker process (CPU-bound: decoding and parsing), so everything here is a plain
function of picklable values. Text, metadata table and <meta> tags come from the shared
``ingest.support.html`` extractor; the profile only adds selectors and label names on top.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup, Tag

from gongkai.document import Document
from ingest.base import UndecodableFile
from ingest.crawl.profiles import PageKind, SiteProfile
from ingest.crawl.urls import normalize_url
from ingest.support.encoding import decode_bytes
from ingest.support.fields import metadata_to_fields, parse_date
from ingest.support.html import extract_page, parse_html, text_of

_DATE_IN_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_SPACE = re.compile(r"[\s\u3000\xa0\u200b]+")
_DOCUMENT_FIELDS = frozenset(Document.model_fields)


@dataclass(frozen=True)
class FoundLink:
    url: str
    kind: PageKind | str  # "attachment" for attachment links
    text: str = ""
    date: date | None = None


@dataclass(frozen=True)
class ArticleData:
    """An article's title, text and metadata, ready for `Document` (fields) or extras."""

    title: str | None
    title_source: str | None
    body: str
    fields: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedPage:
    encoding: str | None = None
    links: tuple[FoundLink, ...] = ()
    attachments: tuple[FoundLink, ...] = ()
    article: ArticleData | None = None
    error: str | None = None  # set when the page could not be decoded
    older_items: int = 0  # list items skipped as published before --since
    seconds: float = 0.0  # wall time of the parse
    cpu_seconds: float = 0.0  # CPU time of the parse (in a worker process: not in our rusage)


def parse_page(
    profile: SiteProfile,
    kind: PageKind,
    url: str,
    body: bytes,
    charset: str | None = None,
    since: date | None = None,
) -> ParsedPage:
    """Decode and read one page according to its kind and the profile."""
    started, cpu = time.perf_counter(), time.process_time()
    try:
        decoded = decode_bytes(body, markup=True, declared=charset)
    except UndecodableFile as exc:
        return ParsedPage(
            error=str(exc),
            seconds=time.perf_counter() - started,
            cpu_seconds=time.process_time() - cpu,
        )
    soup = parse_html(decoded.text)
    base = _base_url(soup, url)
    links: list[FoundLink] = []
    older = 0
    if kind == "list":
        links, older = _list_links(profile, soup, base, since)
    elif kind == "page":
        links = _all_links(profile, soup, base)
    article = None
    attachments: tuple[FoundLink, ...] = ()
    if kind in ("article", "page"):
        attachments = tuple(_attachment_links(profile, soup, base))
        own_text = _text_outside_links(soup) if kind == "page" else 0
        article = read_article(profile, soup, url)
        if not _is_article(profile, kind, article, attachments, own_text):
            article = None
    return ParsedPage(
        encoding=decoded.encoding,
        links=tuple(links),
        attachments=attachments if article is not None else (),
        article=article,
        older_items=older,
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu,
    )


def read_article(profile: SiteProfile, page: str | BeautifulSoup, url: str) -> ArticleData:
    """Title, text and metadata of an article page by the profile's rules, falling back to
    the shared extractor (metadata table, <meta> tags, densest text block)."""
    rules = profile.article
    soup = parse_html(page) if isinstance(page, str) else page
    selected_title = _select_text(soup, rules.title_selector)
    meta_raw = _profile_meta(soup, rules.meta)
    body: str | None = None
    if rules.body_selector:
        element = _largest(soup.select(rules.body_selector))
        if element is not None:
            body = text_of(element)
    extracted = extract_page(soup, labels=rules.labels)

    title, title_source = extracted.title, extracted.title_source
    if selected_title and title_source not in ("meta", "table"):
        title, title_source = selected_title, "selector"
    fields = dict(extracted.fields)
    extra = dict(extracted.extra)
    if meta_raw:
        title = meta_raw.pop("title", None) or title
        _merge(fields, extra, meta_raw, override=True)
    if rules.url_date_pattern:
        # Kept beside, never as, 发布日期: a TRS URL carries the day the CMS entry was made,
        # which matched the published date on only 23 of 61 zyj.beijing.gov.cn dev pages.
        created = _date_from_url(rules.url_date_pattern, url)
        if created is not None:
            extra["url_date"] = created.isoformat()
    if rules.defaults:
        _merge(fields, extra, dict(rules.defaults), override=False)
    return ArticleData(
        title=_squash(title) if title else None,
        title_source=title_source if title else None,
        body=body if body else extracted.body,
        fields=fields,
        extra=extra,
    )


def _is_article(
    profile: SiteProfile,
    kind: PageKind,
    article: ArticleData,
    attachments: tuple[FoundLink, ...],
    own_text: int,
) -> bool:
    has_metadata = bool(article.fields) or article.title_source in ("meta", "table")
    if kind == "article":
        # A profile said this is an article: keep it if it has anything at all (a notice
        # whose text is "see attachment" is still a document).
        return bool(article.body or has_metadata or attachments)
    # The generic profile guesses: metadata, or a real block of running text (a portal or
    # list page has plenty of text, but nearly all of it in links).
    least = profile.article.min_body_chars
    return has_metadata or (len(article.body) >= least and own_text >= least)


def _text_outside_links(soup: BeautifulSoup) -> int:
    body = soup.body or soup
    total = len(_squash(body.get_text(" ")))
    in_links = sum(len(_squash(a.get_text(" "))) for a in body.find_all("a"))
    return total - in_links


# --- links ---------------------------------------------------------------------------------


def _list_links(
    profile: SiteProfile, soup: BeautifulSoup, base: str, since: date | None
) -> tuple[list[FoundLink], int]:
    rules = profile.list
    items = soup.select(rules.item_selector) if rules.item_selector else [soup]
    found: list[FoundLink] = []
    dated = older = 0
    for item in items:
        for anchor in item.select(rules.link_selector):
            target = _href(anchor, base)
            if target is None or not profile.allows(target):
                continue
            kind = profile.kind_of(target, default="article")
            if kind == "list" or (
                profile.article.url_patterns
                and kind != "article"
                and not _is_attachment(profile, target)
            ):
                continue  # navigation, other columns: not items of this list
            when = _item_date(item, rules.date_selector)
            if when is not None:
                dated += 1
                if since is not None and when < since:
                    older += 1
                    break
            found.append(FoundLink(target, "article", _squash(anchor.get_text(" ")), when))
            break  # one article per item
    # Lists run newest first: a page whose dated items are all too old ends the walk.
    if not (since is not None and dated and older == dated):
        found.extend(_pagination(profile, soup, base))
    return found, older


def _pagination(profile: SiteProfile, soup: BeautifulSoup, base: str) -> list[FoundLink]:
    rules = profile.list
    found: list[FoundLink] = []
    if rules.pagination_selector:
        for anchor in soup.select(rules.pagination_selector):
            target = _href(anchor, base)
            if target and target != base and profile.allows(target):
                found.append(FoundLink(target, "list", _squash(anchor.get_text(" "))))
    if rules.pagination_script and rules.pagination_template:
        scripts = " ".join(s.get_text() for s in soup.find_all("script"))
        match = re.search(rules.pagination_script, scripts)
        if match:
            count = min(int(match.group(1)), rules.max_pages)
            for n in range(1, count):
                target = normalize_url(rules.pagination_template.format(n=n), base)
                if target and profile.allows(target):
                    found.append(FoundLink(target, "list"))
    return found


def _all_links(profile: SiteProfile, soup: BeautifulSoup, base: str) -> list[FoundLink]:
    found: list[FoundLink] = []
    for anchor in soup.find_all("a", href=True):
        target = _href(anchor, base)
        if target and profile.allows(target) and not _is_attachment(profile, target):
            found.append(FoundLink(target, "page", _squash(anchor.get_text(" "))))
    return found


def _attachment_links(profile: SiteProfile, soup: BeautifulSoup, base: str) -> list[FoundLink]:
    found: dict[str, FoundLink] = {}
    for anchor in soup.select(profile.article.attachment_selector):
        target = _href(anchor, base)
        if target is None or target in found or not _is_attachment(profile, target):
            continue
        title = anchor.get("title")
        name = _squash(anchor.get_text(" ")) or (_squash(title) if isinstance(title, str) else "")
        found[target] = FoundLink(target, "attachment", name or file_name(target))
    return list(found.values())


def file_name(url: str) -> str:
    return unquote(PurePosixPath(urlsplit(url).path).name)


def _is_attachment(profile: SiteProfile, url: str) -> bool:
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower().lstrip(".")
    return suffix in profile.article.attachment_extensions


def _href(anchor: Tag, base: str) -> str | None:
    href = anchor.get("href")
    if not isinstance(href, str) or href.lower().startswith(("javascript:", "mailto:", "tel:")):
        return None
    return normalize_url(href, base)


def _base_url(soup: BeautifulSoup, url: str) -> str:
    base = soup.find("base", href=True)
    href = base.get("href") if isinstance(base, Tag) else None
    return (normalize_url(href, url) or url) if isinstance(href, str) else url


def _item_date(item: Tag | BeautifulSoup, selector: str | None) -> date | None:
    texts = [el.get_text(" ") for el in item.select(selector)] if selector else []
    for text in [*texts, item.get_text(" ")]:
        match = _DATE_IN_TEXT.search(text)
        if match:
            when = parse_date("-".join(match.groups()))
            if when is not None:
                return when
    return None


# --- article fields ------------------------------------------------------------------------


def _profile_meta(soup: BeautifulSoup, names: dict[str, str]) -> dict[str, Any]:
    if not names:
        return {}
    wanted = {name.lower(): target for name, target in names.items()}
    raw: dict[str, Any] = {}
    for meta in soup.find_all("meta"):
        name = meta.get("name")
        content = meta.get("content")
        if isinstance(name, str) and isinstance(content, str) and name.lower() in wanted:
            value = _squash(content)
            if value:
                raw.setdefault(wanted[name.lower()], value)
    return raw


def _merge(
    fields: dict[str, Any], extra: dict[str, Any], raw: dict[str, Any], *, override: bool
) -> None:
    parsed, parsed_extra = metadata_to_fields(raw)
    for name, value in parsed.items():
        target = fields if name in _DOCUMENT_FIELDS else extra
        if override or name not in fields:
            target[name] = value
    for name, value in parsed_extra.items():
        if override or name not in extra:
            extra[name] = value


def _date_from_url(pattern: str, url: str) -> date | None:
    match = re.search(pattern, url)
    if not match or len(match.groups()) < 3:
        return None
    return parse_date("-".join(match.groups()[:3]))


def _select_text(soup: BeautifulSoup, selector: str | None) -> str | None:
    if not selector:
        return None
    for element in soup.select(selector):
        text = _squash(element.get_text(" "))
        if text:
            return text
    return None


def _largest(elements: list[Tag]) -> Tag | None:
    return max(elements, key=lambda el: len(el.get_text()), default=None)


def _squash(text: str) -> str:
    return _SPACE.sub(" ", text).strip()
