"""Main text, title and page metadata out of a government web page (cf. ingest-file's
``support/html.py``).

Works on whole pages and on the fragments crawlers store. Pages can be hostile (unclosed tags,
scripts in the body, hundreds of thousands of nested divs), so nothing here recurses over the
tree: bs4's ``descendants``/``parents`` are iterative.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString

from ingest.support.fields import LABEL_FIELDS, metadata_to_fields, normalize_label

# Where the article text lives on the CMSs government sites use (gov.cn's UCAP, TRS, ...),
# most specific first.
CONTENT_SELECTORS = (
    "#UCAP-CONTENT",
    ".TRS_UEDITOR",
    ".TRS_Editor",
    ".pages_content",
    "#zoom",
    ".article",
    "article",
    "main",
)
MIN_CONTAINER_CHARS = 10
_BY_ID = {s[1:]: s for s in CONTENT_SELECTORS if s.startswith("#")}
_BY_CLASS = {s[1:]: s for s in CONTENT_SELECTORS if s.startswith(".")}
_BY_NAME = {s: s for s in CONTENT_SELECTORS if s[0] not in "#."}

# Never part of the article.
NOISE_TAGS = frozenset((
    "script", "style", "noscript", "template", "nav", "header", "footer", "iframe", "frame",
    "form", "aside", "button", "input", "select", "textarea", "object", "embed", "svg",
    "canvas", "map", "link", "meta", "head", "title",
))  # fmt: skip
# id/class words of page chrome (share bars, QR codes, banners, breadcrumbs, print buttons).
_CHROME_ATTR = re.compile(
    r"nav|menu|breadcrumb|crumb|share|qr|banner|toolbar|sidebar|copyright|footer|header"
    r"|print|position|location|pagebreak",
    re.IGNORECASE,
)
MAX_CHROME_CHARS = 200  # an element with more text than this is content, whatever its class

# Whole lines of chrome left in the text ("字号：大 中 小", "【打印】【关闭】", ...).
_CHROME_LINE = re.compile(
    r"^(?:字\s*号[:：]?\s*(?:[【\[(（]?\s*[大中小]\s*[】\])）]?\s*)+"
    r"|扫一扫在手机(?:上)?打开(?:当前页|本页)?"
    r"|当前位置[:：].*"
    r"|(?:上一篇|下一篇)[:：].*"
    r"|(?:[【\[]?\s*(?:打印(?:本页|此页|文章)?|关闭(?:窗口|本页)?|收藏|保存|分享到?|返回顶部|返回)"
    r"\s*[】\]]?[\s|｜]*)+)$"
)
MAX_CHROME_LINE_CHARS = 40

BLOCK_TAGS = frozenset(
    ("address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "div",
     "dl", "dt", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "html", "li",
     "main", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
     "ul")
)  # fmt: skip
CELL_TAGS = frozenset(("td", "th"))
# Blocks that can hold an article, for the text-density fallback.
CONTAINER_TAGS = frozenset(("article", "body", "div", "main", "section", "td"))

# <meta name=...> of TRS/UCAP pages -> (field, is a Document field).
META_FIELDS: dict[str, tuple[str, bool]] = {
    "articletitle": ("title", True),
    "pubdate": ("date_published", True),
    "contentsource": ("content_source", False),
    "columnname": ("column_name", False),
    "keywords": ("keywords", False),
}

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_HTML_SPACE = re.compile(r"[ \t\r\n\f\xa0]+")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_TITLE_SUFFIX = re.compile(r"\s*(?:_|\||｜|\s[-—]\s|--)\s*")
_KEYWORD_SEPARATORS = re.compile(r"[\s,，;；、]+")
# "发文字号：国发〔2019〕5号" or a bare "发文字号：" whose value is the next cell; labels are short.
_LABEL_CELL = re.compile(r"^([^:：]{1,12})[:：]\s*(.*)$", re.DOTALL)


@dataclass(frozen=True)
class ExtractedPage:
    """What a page says: its title (and where it came from), text and metadata."""

    title: str | None
    title_source: str | None  # "meta", "table", "title" or "h1"
    body: str
    fields: dict[str, Any] = field(default_factory=dict)  # Document fields
    extra: dict[str, Any] = field(default_factory=dict)  # kept as extra fields


def parse_html(html: str) -> BeautifulSoup:
    """The tree `extract_page` works on, for callers that also read the page themselves
    (a crawler's list links and selectors) and so parse it once."""
    # The declaration's only use, the encoding, has been consumed by the decoder; without it
    # XHTML parses as the HTML it is (and bs4 has no reason to warn about XML).
    html = _XML_DECLARATION.sub("", html, count=1).replace("\x00", "")
    if not html.isascii():
        # A lone UTF-16 surrogate (from a JSON escape) cannot be encoded for lxml.
        html = html.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return BeautifulSoup(html, "lxml")


def extract_page(
    html: str | BeautifulSoup, *, labels: Mapping[str, str] | None = None
) -> ExtractedPage:
    """Title, main text and metadata of one page or page fragment.

    ``html`` may be a tree from `parse_html` (it is modified: noise is removed). ``labels``
    adds metadata-table labels (normalised, e.g. ``'发布时间'``) -> Document field names to
    `LABEL_FIELDS`, for sites with their own wording.
    """
    if isinstance(html, str):
        if "<" not in html:
            # Plain text saved as .html: nothing to parse (bs4 would also warn that it looks
            # like a file name or URL).
            return ExtractedPage(title=None, title_source=None, body=_clean_lines(html))
        soup = parse_html(html)
    else:
        soup = html
    index = _PageIndex.of(soup)

    raw, extra = _meta_tags(index.metas)
    container = _known_container(index.candidates)
    label_fields = {**LABEL_FIELDS, **labels} if labels else LABEL_FIELDS
    table = _metadata_table(index.cells, container, label_fields)
    title_source = "meta" if "title" in raw else "table" if "title" in table else None
    for name, value in table.items():
        raw.setdefault(name, value)
    title = raw.pop("title", None)
    if not title:
        title, title_source = _title_from_markup(index)

    if container is None:
        _drop(soup, NOISE_TAGS)
        container = _densest_block(soup)
    else:
        _drop(container, NOISE_TAGS)
    _drop_chrome(container)
    body = _clean_lines(_block_text(container)) if container is not None else ""

    fields, parsed_extra = metadata_to_fields(raw)
    return ExtractedPage(
        title=title or None,
        title_source=title_source if title else None,
        body=body,
        fields=fields,
        extra={**extra, **parsed_extra},
    )


def text_of(element: Tag) -> str:
    """The cleaned text of one element (a profile's body selector): noise and page chrome
    removed, one line per block. Modifies ``element``."""
    _drop(element, NOISE_TAGS)
    _drop_chrome(element)
    return _clean_lines(_block_text(element))


class HTMLMixin:
    """For ingestors of web pages: `extract_page` as a method."""

    def extract_page(self, html: str) -> ExtractedPage:
        return extract_page(html)


@dataclass
class _PageIndex:
    """The elements extraction looks at, collected in one pass: bs4's find_all and
    soupsieve's select() each walk the whole tree, which takes seconds on hostile pages."""

    metas: list[Tag] = field(default_factory=list)
    cells: list[Tag] = field(default_factory=list)
    title: Tag | None = None
    h1: Tag | None = None
    candidates: dict[str, list[Tag]] = field(default_factory=dict)  # by CONTENT_SELECTORS

    @classmethod
    def of(cls, soup: BeautifulSoup) -> _PageIndex:
        index = cls()
        for tag in _tags(soup):
            if tag.name == "meta":
                index.metas.append(tag)
            elif tag.name in CELL_TAGS:
                index.cells.append(tag)
            elif tag.name == "title" and index.title is None:
                index.title = tag
            elif tag.name == "h1" and index.h1 is None:
                index.h1 = tag
            for selector in _selectors_matching(tag):
                index.candidates.setdefault(selector, []).append(tag)
        return index


# --- metadata -----------------------------------------------------------------------------


def _meta_tags(metas: list[Tag]) -> tuple[dict[str, Any], dict[str, Any]]:
    raw: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for meta in metas:
        key = _attr(meta, "name").lower()
        content = _squash(_attr(meta, "content"))
        if key not in META_FIELDS or not content:
            continue
        name, is_field = META_FIELDS[key]
        if name == "keywords":
            extra[name] = [w for w in _KEYWORD_SEPARATORS.split(content) if w]
        elif is_field:
            raw.setdefault(name, content)
        else:
            extra.setdefault(name, content)
    return raw, extra


def _metadata_table(
    cells: list[Tag], container: Tag | None, label_fields: Mapping[str, str] = LABEL_FIELDS
) -> dict[str, str]:
    """The label:value table (索引号, 主题分类, 发文机关 ...) of gov.cn-style pages.

    Cells outside the article come first: a table inside the text may quote such labels.
    """
    cells = [c for c in cells if c.find("table") is None]
    if container is not None:
        inside = [c for c in cells if container in c.parents]
        cells = [c for c in cells if container not in c.parents] + inside
    found: dict[str, str] = {}
    for cell in cells:
        match = _LABEL_CELL.match(_squash(cell.get_text(" ")))
        name = label_fields.get(normalize_label(match.group(1))) if match else None
        if match is None or name is None:
            continue
        value = match.group(2).strip()
        if not value:
            # The value is in the next cell ("<td><b>发文字号：</b></td><td>国发〔2019〕5号</td>").
            sibling = cell.find_next_sibling(["td", "th"])
            value = _squash(sibling.get_text(" ")) if sibling is not None else ""
        if value:
            found.setdefault(name, value)
    return found


def _title_from_markup(index: _PageIndex) -> tuple[str | None, str | None]:
    if index.title is not None:
        parts = [p for p in _TITLE_SUFFIX.split(_squash(index.title.get_text())) if p]
        # "标题_栏目_网站": the first part, unless it is too short to be the title
        # ("首页 | 标题"), then the longest.
        if parts:
            return (parts[0] if len(parts[0]) >= 4 else max(parts, key=len)), "title"
    if index.h1 is not None:
        text = _squash(index.h1.get_text(" "))
        if text:
            return text, "h1"
    return None, None


# --- the article ---------------------------------------------------------------------------


def _known_container(candidates: dict[str, list[Tag]]) -> Tag | None:
    for selector in CONTENT_SELECTORS:
        if selector not in candidates:
            continue
        best = max(candidates[selector], key=lambda tag: len(_visible_text(tag)))
        if len(_visible_text(best)) >= MIN_CONTAINER_CHARS:
            return best
    return None


def _selectors_matching(tag: Tag) -> list[str]:
    """Which CONTENT_SELECTORS (``#id``, ``.class`` or a tag name) ``tag`` matches."""
    found = [_BY_NAME[tag.name]] if tag.name in _BY_NAME else []
    found += [_BY_ID[word] for word in _attr(tag, "id").split() if word in _BY_ID]
    found += [_BY_CLASS[word] for word in _attr(tag, "class").split() if word in _BY_CLASS]
    return found


def _densest_block(soup: BeautifulSoup) -> Tag | None:
    """The container holding the most Chinese text of its own (link text not counted)."""
    scores: dict[int, int] = {}
    blocks: dict[int, Tag] = {}
    for node in soup.descendants:
        if type(node) is not NavigableString:
            continue
        count = len(_CJK.findall(node))
        if not count:
            continue
        parent = node.parent
        in_link = False
        while parent is not None and parent.name not in CONTAINER_TAGS:
            in_link = in_link or parent.name == "a"
            parent = parent.parent
        if parent is None or in_link:
            continue
        scores[id(parent)] = scores.get(id(parent), 0) + count
        blocks[id(parent)] = parent
    if not scores:
        return soup.body or soup
    return blocks[max(scores, key=lambda key: scores[key])]


def _drop(root: Tag, names: frozenset[str]) -> None:
    for tag in _outermost(root, lambda tag: tag.name in names):
        tag.decompose()


def _drop_chrome(root: Tag | None) -> None:
    if root is None:
        return
    for tag in _outermost(root, _is_chrome):
        tag.decompose()


def _is_chrome(tag: Tag) -> bool:
    words = f"{_attr(tag, 'id')} {_attr(tag, 'class')}"
    return bool(
        words.strip() and _CHROME_ATTR.search(words) and len(_visible_text(tag)) <= MAX_CHROME_CHARS
    )


def _outermost(root: Tag, predicate: Callable[[Tag], bool]) -> list[Tag]:
    """Tags under ``root`` matching ``predicate``, without looking inside the ones found.

    Collecting first and not descending into matches means no tag is touched after its
    parent was decomposed (bs4's ``.decomposed`` check falls back to a subtree search).
    """
    found: list[Tag] = []
    stack = [child for child in reversed(root.contents) if isinstance(child, Tag)]
    while stack:
        tag = stack.pop()
        if predicate(tag):
            found.append(tag)
        else:
            stack.extend(child for child in reversed(tag.contents) if isinstance(child, Tag))
    return found


def _block_text(root: Tag) -> str:
    """Text with a line break wherever a block (paragraph, div, row, <br>) starts or ends."""
    parts: list[str] = []
    previous: Tag | None = None
    for node in root.descendants:
        if isinstance(node, Tag):
            if node.name == "br":
                parts.append("\n")
            continue
        if type(node) is not NavigableString:
            continue  # comments, doctype, CDATA, processing instructions
        block = _nearest_block(node, root)
        if previous is not None and block is not previous:
            same_row = (
                block.name in CELL_TAGS
                and previous.name in CELL_TAGS
                and block.parent is previous.parent
            )
            parts.append(" " if same_row else "\n")
        previous = block
        parts.append(str(node) if block.name == "pre" else _HTML_SPACE.sub(" ", node))
    return "".join(parts)


def _nearest_block(node: NavigableString, root: Tag) -> Tag:
    parent = node.parent
    while parent is not None and parent is not root and parent.name not in BLOCK_TAGS:
        parent = parent.parent
    return parent if parent is not None else root


def _clean_lines(text: str) -> str:
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(
        line
        for line in lines
        if line and not (len(line) <= MAX_CHROME_LINE_CHARS and _CHROME_LINE.match(line))
    )


# --- small helpers -------------------------------------------------------------------------


def _tags(root: Tag) -> Iterator[Tag]:
    return (node for node in root.descendants if isinstance(node, Tag))


def _attr(tag: Tag, name: str) -> str:
    value = tag.get(name)
    if value is None:
        return ""
    return value if isinstance(value, str) else " ".join(value)


def _squash(text: str) -> str:
    return _HTML_SPACE.sub(" ", text).strip()


def _visible_text(tag: Tag) -> str:
    return "".join(str(s) for s in tag.descendants if type(s) is NavigableString).strip()
