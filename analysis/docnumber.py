"""发文字号: parse, normalise and find document numbers.

Forms read (full-width digits and stray spaces allowed anywhere):

- ``国办发〔2013〕73号`` with any year bracket: ``[2013]``, ``(2013)``, ``（2013）``, ``【2013】``,
  ``﹝2013﹞``; ``第73号`` and a missing 号 too;
- the year spelt out: ``国办发2013年73号``, ``海关总署公告2014年第30号``;
- 令 numbers: ``国务院令第656号``, ``中华人民共和国主席令第五十九号``, ``沪府令25号``,
  ``第5号令``;
- joint issuance: several numbers in one value, separated by 、，; or spaces -> a list.

The canonical form (``国办发〔2013〕73号``, ``国务院令第656号``) is what equality and search use:
``中华人民共和国`` before a 令 is dropped (国务院令第656号 and 中华人民共和国国务院令第656号
are one number). Nothing is guessed: a value that is not wholly a number (2-digit years, text
around it) keeps its raw text with no parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analysis.numerals import ascii_digits, chinese_number
from gongkai.document import DocNumber

_OPEN = "〔\\[(（【［﹝{｛〖"
_CLOSE = "〕\\])）】］﹞}｝〗"
# An issuer code: letters and Han characters, never digits, 第 or 号 (they belong to the number).
_ISSUER_CHAR = r"[^\W\d_第号]"
MAX_ISSUER_CHARS = 20
_SP = r"[ \t\u3000\xa0]*"  # spaces printed inside a number (豫政 〔2016〕129号, 第　80　号)
_CN_SERIAL = r"(?P<serial>[0-9]+|[〇零一二三四五六七八九十百千两]{1,8})"
_I = f"{_ISSUER_CHAR}{{1,{MAX_ISSUER_CHARS}}}"

_FORMS = (
    # 国办发〔2013〕73号, 〔2013〕第73号, 国办发〔2013〕73
    re.compile(
        rf"(?P<issuer>{_I})?{_SP}[{_OPEN}]{_SP}(?P<year>[0-9]{{4}}){_SP}[{_CLOSE}]{_SP}"
        rf"(?:第{_SP})?(?P<serial>[0-9]+)(?:{_SP}号)?"
    ),
    # 国办发2013年73号, 海关总署公告2014年第30号, 商务部令2018年第2号
    re.compile(
        rf"(?P<issuer>{_I}){_SP}(?P<year>[0-9]{{4}}){_SP}年{_SP}(?:第{_SP})?"
        rf"(?P<serial>[0-9]+){_SP}号"
    ),
    # 国务院令第656号, 沪府令25号, 主席令第五十九号
    re.compile(
        rf"(?P<issuer>{_ISSUER_CHAR}{{0,{MAX_ISSUER_CHARS - 1}}}令){_SP}(?:第{_SP})?"
        rf"{_CN_SERIAL}{_SP}号"
    ),
    # 第5号令, 市政府第5号令
    re.compile(
        rf"(?P<issuer>{_ISSUER_CHAR}{{0,{MAX_ISSUER_CHARS}}}?){_SP}第{_SP}{_CN_SERIAL}{_SP}号令"
    ),
)
_ORDER_FORM = 3  # index of the 第N号令 form: its issuer gains the 令

PLAUSIBLE_YEARS = range(1900, 2101)
_STATE_PREFIX = "中华人民共和国"
_LABEL = re.compile(r"^\s*(?:发文字号|发文编号|文号|字号)\s*[:：]\s*")
_SPACE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
# Between the numbers of one joint value, and around one value: 、，,;； and brackets.
_JOINT_FILLER = re.compile(r"[、，,;；/和及与（）()\[\]【】]*")
# In running text the characters before a number may be words, not its issuer: the issuer
# starts after the last of these (贯彻国办发〔2013〕73号 -> 国办发). 和 only outside 共和国.
_ISSUER_STOP = re.compile(
    r"按照|根据|依据|依照|参照|对照|贯彻|落实|执行|印发|转发|关于|通过|发布|公布|修订|修改|"
    r"施行|废止|同时|以及|(?<!共)和|[的要及与或即是将把由在等了见按据年月日]"
)


@dataclass(frozen=True)
class DocNumberMatch:
    """A number found in text: the parsed number (raw as printed) and where it stands."""

    number: DocNumber
    start: int
    end: int


def parse_doc_numbers(raw: str) -> list[DocNumber]:
    """Every number in one 发文字号 value (joint issuance gives several), each parsed.

    A value that is not made of numbers alone gives ``[DocNumber(raw=raw)]`` (no parts);
    an empty value gives ``[]``.
    """
    if not raw or not raw.strip():
        return []
    text = ascii_digits(_LABEL.sub("", raw))
    numbers = _numbers_only(text)
    if numbers is None and len(text.split()) > 1:
        # Spaces may be all that separates joint numbers ("沪府令第1号 沪府令〔2013〕2号"):
        # read each part alone when the whole does not read as numbers.
        parts = [_numbers_only(part) for part in text.split()]
        if all(part is not None for part in parts):
            numbers = [n for part in parts for n in part or []]
    if not numbers:
        return [DocNumber(raw=raw)]
    if len(numbers) == 1:
        return [numbers[0].model_copy(update={"raw": raw})]
    return numbers


def _numbers_only(text: str) -> list[DocNumber] | None:
    """The numbers ``text`` consists of (with separators between), or None if it has more."""
    compact = _SPACE.sub("", text)
    matches = _scan(compact, trim_issuer=False)
    covered = 0
    for match in matches:
        if not _JOINT_FILLER.fullmatch(compact[covered : match.start]):
            return None
        covered = match.end
    if not matches or not _JOINT_FILLER.fullmatch(compact[covered:]):
        return None
    return [m.number for m in matches]


def parse_doc_number(raw: str) -> DocNumber:
    """One 发文字号 value -> `DocNumber`, raw kept as given.

    For a joint value (``财税〔2007〕17号、国税发〔2007〕3号``) the parts are those of the first
    number, the lead issuer's; `parse_doc_numbers` gives them all.
    """
    numbers = parse_doc_numbers(raw)
    if not numbers:
        return DocNumber(raw=raw)
    first = numbers[0]
    return first if first.raw == raw else first.model_copy(update={"raw": raw})


def canonical_doc_number(number: DocNumber) -> str | None:
    """``国办发〔2013〕73号`` / ``国务院令第656号``; None when the number has no parts."""
    if number.serial is None:
        return None
    issuer = number.issuer_code or ""
    if number.year is not None:
        return f"{issuer}〔{number.year}〕{number.serial}号"
    return f"{issuer}第{number.serial}号"


def doc_number_key(number: DocNumber | str) -> str:
    """What two numbers are compared by: the canonical form, else the raw text without spaces."""
    if isinstance(number, str):
        number = parse_doc_number(number)
    return canonical_doc_number(number) or _SPACE.sub("", ascii_digits(number.raw))


def find_doc_number_matches(text: str) -> list[DocNumberMatch]:
    """The numbers printed in running text (title lines, ``（国办发〔2013〕73号）`` citations).

    A number must carry an issuer here: a bare ``〔2013〕73号`` or ``第5号令`` cannot be
    linked to anything.
    """
    found = _scan(ascii_digits(text), trim_issuer=True, original=text)
    return [m for m in found if m.number.issuer_code not in (None, "令")]


def find_doc_numbers(text: str) -> list[str]:
    """Canonical forms of the numbers in ``text``, in order, each once."""
    seen: dict[str, None] = {}
    for match in find_doc_number_matches(text):
        key = canonical_doc_number(match.number)
        if key:
            seen.setdefault(key, None)
    return list(seen)


def _scan(text: str, *, trim_issuer: bool, original: str | None = None) -> list[DocNumberMatch]:
    """Non-overlapping numbers in ``text``, leftmost first, the longest at one start.

    ``original`` is the text as printed (``text`` is it with ASCII digits, same length): the
    raw of each number is cut from it.
    """
    printed = text if original is None else original
    found: list[DocNumberMatch] = []
    for form_index, form in enumerate(_FORMS):
        for match in form.finditer(text):
            parsed = _number(match, form_index, trim_issuer)
            if parsed is None:
                continue
            number, dropped = parsed
            start = match.start() + dropped
            raw = printed[start : match.end()]
            found.append(DocNumberMatch(number.model_copy(update={"raw": raw}), start, match.end()))
    found.sort(key=lambda m: (m.start, m.start - m.end))
    chosen: list[DocNumberMatch] = []
    for candidate in found:
        if not chosen or candidate.start >= chosen[-1].end:
            chosen.append(candidate)
    return chosen


def _number(
    match: re.Match[str], form_index: int, trim_issuer: bool
) -> tuple[DocNumber, int] | None:
    """The parts of one match, and how many leading characters trimming dropped."""
    printed = match.group("issuer") or ""
    issuer = _trimmed(printed) if trim_issuer else printed
    dropped = len(printed) - len(issuer)
    if form_index == _ORDER_FORM:
        issuer += "令"
    year_text = match.groupdict().get("year")
    year = int(year_text) if year_text else None
    if year is not None and year not in PLAUSIBLE_YEARS:
        return None
    serial = chinese_number(match.group("serial"))
    if serial is None:
        return None
    number = DocNumber(
        raw=match.group(0), issuer_code=_canonical_issuer(issuer), year=year, serial=serial
    )
    return number, dropped


def _canonical_issuer(issuer: str) -> str | None:
    # A 令 is numbered by its issuer alone: 中华人民共和国国务院令 is 国务院令.
    if issuer.endswith("令") and issuer.startswith(_STATE_PREFIX):
        issuer = issuer[len(_STATE_PREFIX) :] or issuer
        if issuer == "令":
            issuer = _STATE_PREFIX + issuer
    return issuer or None


def _trimmed(issuer: str) -> str:
    stops = list(_ISSUER_STOP.finditer(issuer))
    if stops:
        issuer = issuer[stops[-1].end() :]
    return issuer.removeprefix("原")  # 原海关总署: the former agency, not part of the code


# A partial number a searcher types: the issuer code, optionally with the year (国办发〔2013〕).
_PARTIAL = re.compile(
    r"^(?P<issuer>[^\d\s〔\[［【(（﹝]+?)\s*(?:[〔\[［【(（﹝]?\s*(?P<year>\d{4})\s*[〕\]］】)）﹞年]?)?$"
)


def doc_number_terms(number: DocNumber) -> list[str]:
    """Index terms of one number: the whole canonical number, the issuer code, and the issuer
    with the year, so that 国办发 or 国办发〔2013〕 finds every number of that issuer (year)."""
    if number.issuer_code is None:
        number = parse_doc_number(number.raw)  # a source gave the raw text only
    terms = [doc_number_key(number)]
    if number.issuer_code:
        terms.append(number.issuer_code)
        if number.year:
            terms.append(f"{number.issuer_code}〔{number.year}〕")
    return list(dict.fromkeys(terms))


def doc_number_query_key(text: str) -> str:
    """What a searcher's ``docno:`` value is matched on: a whole number in canonical form, or a
    partial one (issuer code, issuer and year) in the form `doc_number_terms` indexes."""
    number = parse_doc_number(text)
    if canonical_doc_number(number):
        return doc_number_key(number)
    partial = _PARTIAL.match(ascii_digits(text.strip()))
    if partial is None:
        return doc_number_key(number)
    issuer, year = partial["issuer"].strip(), partial["year"]
    return f"{issuer}〔{year}〕" if year else issuer
