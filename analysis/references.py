"""References from a document to other documents: cites, amends, abolishes, implements.

`extract_references` reads the title and the body for 《titles》 (nested 〈〉 / 《》 kept as part
of the title) and bare 发文字号, and decides the kind from the words around each one:

- abolishes: 关于废止《X》的决定, 废止《X》, 《X》（...号）同时废止, lists of 《A》、《B》
  before one 同时废止, numbered items under 决定废止下列...: / 一、废止《X》;
- amends: 关于修改《X》的决定, 修改《X》, 对《X》作如下修改, 将《X》第三条修改为, numbered items
  under 对下列...作如下修改:;
- implements: 为贯彻落实《X》, 实施《X》, a title like 北京市实施《X》办法, and X实施条例/实施细则 /
  实施办法 (which implement X);
- cites: 根据/依据/依照/按照《X》, and any other 《X》 mention.

Titles are returned without the outer 《》 (inner quotes are written 《》 as in the document
titles themselves); a 发文字号 written right after a title (（国办发〔2013〕73号）) is kept raw.
Short names the text defines (（以下简称《总体方案》）) are not references.

The 发文字号 pattern here is a small local one; ``analysis/docnumber.py`` (being written
alongside) is the project's parser and normaliser and should replace `_DOC_NUMBER` and
`normalise_doc_number` once it lands.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from analysis.tokenizer import normalise
from gongkai.document import Document, Reference

ReferenceKind = Literal["cites", "amends", "abolishes", "implements"]

# Longest text between 《 and 》 taken as a title (a runaway quote must not swallow a page).
MAX_TITLE_CHARS = 120

_OPEN = "《〈"
_CLOSE = "》〉"
# 发文字号: issuer code, year in any bracket, serial, 号; or an order number (国务院令第656号).
_DOC_NUMBER = re.compile(
    r"[\u4e00-\u9fff]{1,12}\s*[〔\[［【(（﹝]\s*\d{4}\s*[〕\]］】)）﹞]\s*第?\s*\d{1,5}\s*号"
    r"|[\u4e00-\u9fff]{1,20}令\s*(?:\d{4}\s*年\s*)?第\s*\d{1,5}\s*号"
)
# What every `_DOC_NUMBER` match contains: a bracket before a four-digit year, or 令 before its
# serial. `_doc_numbers` runs the pattern only near these (see there for why).
_DOC_NUMBER_ANCHOR = re.compile(r"[〔\[［【(（﹝](?=\s*\d{4})|令(?=\s*(?:\d{4}\s*年\s*)?第)")
# Characters that may follow the anchor inside a match: spaces, digits, closing brackets, 第 年 号.
_DOC_NUMBER_TAIL = re.compile(r"[\s\d〕\]］】)）﹞第年号]*")
# Most CJK characters a match holds before its anchor (the issuer code; 20 for 令 numbers).
_DOC_NUMBER_LEAD = 20
_NUMBER_AFTER_TITLE = re.compile(r"\s*[(（]([^()（）《》\n]{2,60}?号)[)）]")
_NUMBER_BEFORE_TITLE = re.compile(
    rf"(?:{_DOC_NUMBER.pattern})(?=\s*(?:公布|发布|印发|颁布|下发)(?:施行)?的\s*《?$)"
)
_SHORT_NAME = re.compile(r"(?:以下|下文)?(?:简称|称)[为:：]?\s*$")

_ABOLISH_BEFORE = re.compile(r"(?:废止|废除|撤销)\s*$")
_AMEND_BEFORE = re.compile(r"(?:修改|修正|修订)\s*$")
_AMEND_OBJECT = re.compile(
    r"^[^。；;，,\n“”\"]{0,30}?(?:作|作出|做出)(?:如下|以下|下列)?(?:修改|修正)"
)
# 将《X》第三条修改为 / 在《X》第五条中增加一款: only with 将/在 before the title.
_AMEND_CLAUSE = re.compile(
    r"^[^。；;\n“”\"]{0,40}?(?:修改为|修订为|修正为|增加一?[条款项]|删去|删除)"
)
_AMEND_CLAUSE_BEFORE = re.compile(r"(?:将|在|把)\s*$")
_IMPLEMENT_BEFORE = re.compile(r"(?:贯彻|落实|实施|执行|贯彻执行|贯彻实施)\s*$")
_CITE_BEFORE = re.compile(r"(?:根据|依据|依照|按照|遵照|参照)\s*$")
_ABOLISH_AFTER = re.compile(
    r"(?:同时|予以|一并|即行|相应)\s*(?:废止|废除|失效)|(?:^|[)）》])\s*废止"
)
_LIST_ITEM = re.compile(
    r"^\s*(?:[一二三四五六七八九十百]+\s*[、.．]|[(（][一二三四五六七八九十\d]+[)）]|\d+\s*[、.．)）])"
)
_LIST_ABOLISH = re.compile(r"(?:废止(?:下列|以下|的)|予以废止|决定废止)[^。]*[:：]\s*$")
_LIST_AMEND = re.compile(
    r"(?:下列|以下)[^。]*(?:作出|作|进行)?(?:如下)?修改[^。]*[:：]\s*$|作如下修改[:：]\s*$"
)
# Every line _LIST_ABOLISH or _LIST_AMEND matches has one of these words: a text without them
# has no list heading, and its lines need not be read for one (most texts: issue 9 profile).
_LIST_HEADING_WORDS = ("废止", "修改")
# X法实施条例 / X条例实施细则: implements X (only laws and regulations have these).
_IMPLEMENTS_TITLE = re.compile(
    r"^(?P<base>.{2,60}?(?:法|条例))实施(?:条例|细则|办法)(?:[(（](?:试行|暂行)[)）])?$"
)
# Names that are a document type alone: a short name for a title given elsewhere (《规定》).
_GENERIC_TITLE = re.compile(
    r"^(?:总体|实施|工作|行动)?(?:规定|办法|决定|条例|通知|意见|方案|细则|规划|纲要|计划|解释|法)$"
)

# The precedence when one title is referred to in several ways.
_RANK: dict[ReferenceKind, int] = {"abolishes": 3, "amends": 2, "implements": 1, "cites": 0}


@dataclass(frozen=True)
class TitleSpan:
    """A 《title》 in a text: the cleaned title and where its brackets start and end."""

    title: str
    start: int
    end: int


_BRACKETS = re.compile(r"[《》〈〉\n]")


def find_titles(text: str) -> Iterator[TitleSpan]:
    """Top-level 《...》 spans, nesting respected; inner 〈〉 become 《》 as in real titles."""
    if "《" not in text:
        return  # every span opens with one (most texts have none: a scan of each line saved)
    depth = 0
    start = 0
    # Jumping from bracket to bracket: a Python loop over every character is 10x slower.
    for match in _BRACKETS.finditer(text):
        char, index = match.group(), match.start()
        if char in _OPEN:
            if depth == 0:
                if char != "《":
                    continue  # a lone 〈 outside any 《》 is not a title bracket
                start = index
            depth += 1
        elif char in _CLOSE and depth:
            depth -= 1
            if depth == 0:
                inner = text[start + 1 : index]
                if 0 < len(inner) <= MAX_TITLE_CHARS:
                    yield TitleSpan(clean_title(inner), start, index + 1)
        elif char == "\n":
            depth = 0  # an unclosed quote never runs over a line


_INNER_QUOTES = str.maketrans({"〈": "《", "〉": "》", "<": "《", ">": "》"})


def clean_title(title: str) -> str:
    """Whitespace out, an outer 《》 pair off, inner 〈〉 (and <>) written 《》."""
    title = re.sub(r"\s+", "", title)
    if title.startswith("《") and title.endswith("》") and _balanced(title[1:-1]):
        title = title[1:-1]
    return title.translate(_INNER_QUOTES)


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += (char in _OPEN) - (char in _CLOSE)
        if depth < 0:
            return False
    return depth == 0


# Trailing notes that name a version, not the act: (2017年修订), (2019修正), （2020年版）.
_VERSION_NOTE = re.compile(r"\((?:[^()]*\d{4}[^()]*|[^()]*(?:修订|修正|修改)[^()]*)\)$")
_QUOTES = re.compile(r"[《》〈〉<>「」『』“”\"']")
_STATE_PREFIX = re.compile(r"^(?:中华人民共和国|中国)")


def normalise_title(title: str) -> str:
    """The key titles are matched on: width and case folded, quotes and spaces out,
    中华人民共和国 prefix and trailing version notes (2017年修订) off."""
    key = normalise(re.sub(r"\s+", "", title))
    key = key.replace("（", "(").replace("）", ")")
    key = _QUOTES.sub("", key)
    while True:
        stripped = _VERSION_NOTE.sub("", key)
        if stripped == key:
            break
        key = stripped
    # "中国" alone is too short to strip from anything but a 中国...法/条例 style title.
    return _STATE_PREFIX.sub("", key, count=1) or key


def normalise_doc_number(raw: str) -> str:
    """The key 发文字号 are matched on: spaces out, brackets 〔〕, width folded,
    中华人民共和国 prefix off (国务院令第656号 = 中华人民共和国国务院令第656号)."""
    key = normalise(re.sub(r"\s+", "", raw))
    key = re.sub(r"[\[【(﹝〔［]", "〔", key)
    key = re.sub(r"[\]】)﹞〕］]", "〕", key)
    # 原国家工商行政管理总局令: 原 (former) names the same issuer.
    return _STATE_PREFIX.sub("", key.removeprefix("原"), count=1)


# Words that may run into an issuer code (按照国办发〔2013〕73号: the code is 国办发). Order
# numbers name a whole body (住房和城乡建设部令), so only verbs are cut from those.
_BEFORE_ISSUER = re.compile(
    r"^.*(?:按照|根据|依据|依照|参照|贯彻|落实|执行|印发|转发|文件|和|及|与|或)"
)
_BEFORE_ORDER = re.compile(r"^.*(?:按照|根据|依据|依照|参照|贯彻|落实|执行|印发|转发)")
_NUMBER_BODY = re.compile(r"[〔\[［【(（﹝]|令")


def _trim_number(text: str, match: re.Match[str]) -> str:
    raw = re.sub(r"\s+", "", match.group(0))
    if match.start() and text[match.start() - 1].isdigit():
        raw = raw.lstrip("年月日")  # 2012年12月29日原...令第150号: the date is not the issuer
    cut = _NUMBER_BODY.search(raw)
    at = cut.start() if cut else len(raw)
    before = _BEFORE_ORDER if cut and cut.group() == "令" else _BEFORE_ISSUER
    code = before.sub("", raw[:at])
    return (code or raw[:at]) + raw[at:]


def _kind_from_context(text: str, span: TitleSpan, sentence_start: int) -> ReferenceKind:
    before = text[max(sentence_start, span.start - 12) : span.start]
    after = text[span.end : span.end + 60]
    if _ABOLISH_BEFORE.search(before):
        return "abolishes"
    if (
        _AMEND_BEFORE.search(before)
        or _AMEND_OBJECT.match(after)
        or (_AMEND_CLAUSE_BEFORE.search(before) and _AMEND_CLAUSE.match(after))
    ):
        return "amends"
    if _IMPLEMENT_BEFORE.search(before):
        return "implements"
    return "cites"


def _abolished_in_sentence(sentence: str, spans: list[TitleSpan], offset: int) -> set[int]:
    """Indexes of the titles a 同时废止 in this sentence applies to: those before it, back to
    the nearest 根据/依据 (which introduces a cited act, not an abolished one)."""
    hits: set[int] = set()
    for match in _ABOLISH_AFTER.finditer(sentence):
        at = offset + match.start()
        for index, span in enumerate(spans):
            if span.end > at:
                continue
            between = sentence[span.end - offset : match.start()]
            if re.search(r"根据|依据|依照|按照|制定|施行后[^，,]*[，,]", between):
                continue
            hits.add(index)
    return hits


_SENTENCES = re.compile(r"[^。；;！？!?\n]+")


def _sentence_bounds(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _SENTENCES.finditer(text)]


def _list_mode(line: str, current: ReferenceKind | None) -> ReferenceKind | None:
    """The kind numbered items below ``line`` take (决定废止下列...: / 对下列...作如下修改:)."""
    if _LIST_ABOLISH.search(line):
        return "abolishes"
    if _LIST_AMEND.search(line):
        return "amends"
    if _LIST_ITEM.match(line) or not line.strip():
        return current
    return None


def _references_in(text: str, own_key: str) -> Iterator[tuple[ReferenceKind, str, str | None]]:
    """(kind, title or "", raw number or None) for each reference in ``text``."""
    spans = list(find_titles(text))
    if not spans:
        yield from _bare_numbers(text, spans, set())
        return
    starts = [span.start for span in spans]
    by_kind: dict[int, ReferenceKind] = {}
    # Numbered lists under a heading that says what is done to them.
    mode: ReferenceKind | None = None
    position = 0
    has_heading = any(word in text for word in _LIST_HEADING_WORDS)
    lines = text.splitlines(keepends=True) if has_heading else []
    for line in lines:
        stripped = line.strip()
        if mode and _LIST_ITEM.match(stripped):
            # The item's own 《title》: the first one on the line, near its start.
            index = bisect_left(starts, position)
            if index < len(spans) and spans[index].start < position + min(len(line), 30):
                by_kind[index] = mode
        mode = _list_mode(stripped, mode)
        position += len(line)
    for start, end in _sentence_bounds(text):
        first, last = bisect_left(starts, start), bisect_left(starts, end)
        if first == last:
            continue
        inside = range(first, last)
        for index in _abolished_in_sentence(text[start:end], spans[first:last], start):
            by_kind[inside[index]] = "abolishes"
        for index in inside:
            if index not in by_kind:
                by_kind[index] = _kind_from_context(text, spans[index], start)
    short_names = {
        span.title
        for span in spans
        if _SHORT_NAME.search(text[max(0, span.start - 8) : span.start])
    }
    taken_numbers: set[int] = set()
    for index, span in enumerate(spans):
        if span.title in short_names or _GENERIC_TITLE.match(span.title):
            continue
        number_match = _NUMBER_AFTER_TITLE.match(text, span.end)
        number = None
        if number_match and _DOC_NUMBER.search(number_match.group(1)):
            number = re.sub(r"\s+", "", number_match.group(1))
            taken_numbers.add(number_match.start(1))
        else:
            # ...令第150号公布的《X》: the number of the title that follows it.
            window = max(0, span.start - 60)
            before = _NUMBER_BEFORE_TITLE.search(text, window, span.start)
            if before:
                number = _trim_number(text, before)
                taken_numbers.add(before.start())
        kind = by_kind.get(index, "cites")
        if not span.title or (normalise_title(span.title) == own_key and kind == "cites"):
            continue  # a document naming itself
        yield kind, span.title, number
    yield from _bare_numbers(text, spans, taken_numbers)


def _bare_numbers(
    text: str, spans: list[TitleSpan], taken_numbers: set[int]
) -> Iterator[tuple[ReferenceKind, str, str | None]]:
    """Numbers cited alone (按照国办发〔2013〕73号文件), not those written with a title and not
    the document's own number on its header line."""
    for match in _doc_numbers(text):
        if any(match.start() - 2 <= at < match.end() for at in taken_numbers):
            continue
        if any(s.start <= match.start() < s.end for s in spans):
            continue  # inside a title
        if match.start() < HEADER_CHARS and _alone_on_line(text, match.start(), match.end()):
            continue  # the document's own 发文字号 under its title
        yield "cites", "", _trim_number(text, match)


HEADER_CHARS = 400


def _doc_numbers(text: str, start: int = 0, end: int | None = None) -> Iterator[re.Match[str]]:
    """What ``_DOC_NUMBER.finditer(text, start, end)`` yields, 12x faster (on the texts of
    ../shared/data).

    The pattern starts with a run of CJK characters, so the regex engine tries (and backtracks
    over) up to 32 characters at every CJK position of the text: half of the references
    stage's time (issue 9 profile). A match holds an anchor (`_DOC_NUMBER_ANCHOR`) with at
    most `_DOC_NUMBER_LEAD` CJK characters and some spaces before it and only
    `_DOC_NUMBER_TAIL` characters after it, so every match starts and ends inside the span
    around an anchor; overlapping spans are joined, and the pattern runs inside each one.
    """
    end = len(text) if end is None else min(end, len(text))
    spans: list[list[int]] = []
    for anchor in _DOC_NUMBER_ANCHOR.finditer(text, start, end):
        at = anchor.start()
        lead = at
        while lead > start and text[lead - 1].isspace():
            lead -= 1
        lead = max(start, lead - _DOC_NUMBER_LEAD)
        tail = _DOC_NUMBER_TAIL.match(text, at + 1, end)
        stop = tail.end() if tail else at + 1
        if spans and lead <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], stop)
        else:
            spans.append([lead, stop])
    for lead, stop in spans:
        yield from _DOC_NUMBER.finditer(text, lead, stop)


def _alone_on_line(text: str, start: int, end: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    return not line.replace(text[start:end], "").strip(" \u3000\u200b()（）")


def header_doc_number(body: str) -> str | None:
    """The 发文字号 printed alone on a line under the title (法释〔2022〕18号), if any.

    Local stop-gap until ``analysis/docnumber.py`` lands; lineage uses it when a document has
    no ``doc_number`` field."""
    for match in _doc_numbers(body, 0, HEADER_CHARS):
        if _alone_on_line(body, match.start(), match.end()):
            return _trim_number(body, match)
    return None


def _title_references(title: str) -> Iterator[tuple[ReferenceKind, str, str | None]]:
    """What a title itself says: 关于废止《X》的决定, 关于修改《X》的决定, X省实施《Y》办法,
    Y实施条例."""
    spans = list(find_titles(title))
    for span in spans:
        before = title[: span.start]
        if re.search(r"废止(?:和修改)?\s*$", before):
            yield "abolishes", span.title, None
        elif re.search(r"修改(?:和废止)?\s*$", before):
            yield "amends", span.title, None
        elif re.search(r"实施\s*$", before) or re.search(r"^实施", title[span.end :]):
            yield "implements", span.title, None
    if not spans:
        match = _IMPLEMENTS_TITLE.match(re.sub(r"\s+", "", title))
        if match:
            yield "implements", match["base"], None


def _number_from_own(doc: Document) -> str | None:
    return normalise_doc_number(doc.doc_number.raw) if doc.doc_number else None


def extract_references(doc: Document) -> list[Reference]:
    """References in the document's title and body, one per target, strongest kind kept
    (abolishes > amends > implements > cites); in order of first appearance."""
    own_key = normalise_title(doc.title) if doc.title else ""
    own_number = _number_from_own(doc)
    found: dict[str, Reference] = {}
    items = [*_title_references(doc.title), *_references_in(doc.body, own_key)]
    for kind, title, number in items:
        if not title and number and normalise_doc_number(number) == own_number:
            continue  # its own 发文字号 printed in the body
        key = normalise_title(title) if title else "#" + normalise_doc_number(number or "")
        seen = found.get(key)
        if seen is None:
            found[key] = Reference(kind=kind, title=title or None, doc_number=number)
            continue
        if _RANK[kind] > _RANK[seen.kind]:
            seen.kind = kind
        if number and not seen.doc_number:
            seen.doc_number = number
    return list(found.values())
