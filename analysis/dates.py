"""Dates as Chinese government documents print them, and the signing date (成文日期) of a body.

Forms: ``2013年5月1日``, ``2013-05-01``, ``2013/5/1``, ``2013.05.01``, ``二〇一三年五月一日``,
``二○一三年五月十一日``, ``二ＯＯ七年二月六日``, full-width digits. An impossible date
(``2013年13月1日``, ``2013-02-30``) or an incomplete one (``2013年5月``) is None: never guessed.

The signing date is the date line that closes the document, under the issuing agency
(or the signer: ``部长 钟山``). A body often goes on after it (attachments, a forwarded
document with its own signature, page chrome), so the *first* signed date line wins; a date
line without a signature above it counts only when no signed one exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from analysis.agency import looks_like_agency, split_agencies
from analysis.numerals import ZERO_CHARS, ascii_digits, chinese_number, digit_by_digit

_CN_DIGITS = "一二三四五六七八九"
_YEAR = rf"(?:[0-9]{{4}}|[{ZERO_CHARS}{_CN_DIGITS}]{{4}})"
_MONTH_DAY = r"(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})"
_CJK = rf"(?P<y>{_YEAR})\s*年\s*(?P<m>{_MONTH_DAY})\s*月\s*(?P<d>{_MONTH_DAY})\s*[日号]"
# One separator throughout: 2013-05/01 is not a date.
_ISO = r"(?P<Y>[0-9]{4})(?P<sep>[-/.])(?P<M>[0-9]{1,2})(?P=sep)(?P<D>[0-9]{1,2})"

_CJK_RE = re.compile(_CJK)
_ISO_RE = re.compile(_ISO)
# A whole value: the date, then nothing or a time ("2019-02-17 15:35", "...T15:35:13+08:00").
_VALUE_RE = re.compile(rf"\s*(?:{_ISO}(?=$|[\sT])|{_CJK}(?=$|\s))", re.DOTALL)
# In running text a date must not be glued to more digits (12013-05-01, 2013.05.012).
_FIND_RE = re.compile(rf"(?<![0-9])(?:{_ISO}(?![0-9])|{_CJK})")
# Dates in running text outside this range are page numbers, codes or typos.
PLAUSIBLE_YEARS = range(1900, 2101)

# A signed date line: "2013年5月1日", or "国务院办公厅 2013年5月1日" on one line.
_DATE_LINE = re.compile(rf"(?P<pre>.*?)\s*(?P<date>{_ISO}|{_CJK})")
# The last character of any date line (the ISO form ends in a digit, the CJK one in 日 or 号).
_DATE_LINE_ENDS = frozenset("日号0123456789")
# The signer of a 令 or a speech: 部长 钟山, 总理 温家宝, 省长 罗清泉 (name of 2-4 characters).
_SIGNER = re.compile(
    r"(?:[\u4e00-\u9fff]{0,12}?)(?:总理|副总理|部长|省长|代省长|市长|代市长|主席|委员长|局长|"
    r"署长|行长|主任|县长|区长|州长|院长|厅长|司长|会长|社长|书记)[\u4e00-\u9fff·]{2,4}"
)
_SPACE = re.compile(r"[\s\u200b\ufeff]+")
# Entities a page left unresolved ("国务院办公厅  &sp;"): spaces to a reader. Metadata reads
# a document's head with the same pattern. Any decimal digits: a page converted to full-width
# characters writes "&#１２２８８;" (the signature folds them to ASCII first anyway).
UNRESOLVED_ENTITY = re.compile(r"&[a-zA-Z]{2,8};|&#\d{2,6};")
# Lines above a date that may belong to one signature block (joint issuers, agency + signer).
SIGNATURE_LOOKBACK = 4
# A date line among the first lines is a heading's date (通过/公布 dates), not a signature.
HEADING_LINES = 2


@dataclass(frozen=True)
class FoundDate:
    """A date found in text, with where it was printed."""

    value: date
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Signature:
    """The closing block of a document: its date and the agencies signed above it."""

    day: date
    agencies: tuple[str, ...]
    signed: bool  # an agency or a signer stands above the date
    line: int  # index of the date line in ``body.splitlines()``


def parse_date(value: object) -> date | None:
    """One date value (a table cell, a meta tag, a JSON field) -> date, or None.

    A time after the date is ignored. Anything else around the date, an impossible or an
    incomplete date gives None: callers keep the raw text.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    match = _VALUE_RE.match(ascii_digits(value))
    return _to_date(match) if match else None


def find_dates(text: str) -> list[FoundDate]:
    """Every valid date printed in ``text``, in order (invalid ones are skipped, not fixed)."""
    normal = ascii_digits(text)
    found = []
    for match in _FIND_RE.finditer(normal):
        value = _to_date(match)
        if value is not None and value.year in PLAUSIBLE_YEARS:
            found.append(
                FoundDate(value, match.start(), match.end(), text[match.start() : match.end()])
            )
    return found


def signature(body: str) -> Signature | None:
    """The signature block of ``body``: its first signed date line, else its last date line."""
    # An entity never spans lines: replaced in the whole text at once.
    lines = [line.strip() for line in UNRESOLVED_ENTITY.sub(" ", ascii_digits(body)).splitlines()]
    filled = [i for i, line in enumerate(lines) if line]
    unsigned: Signature | None = None
    for position, index in enumerate(filled):
        # Only a line that ends as a date does can be a date line. The pattern, tried on every
        # line, starts at every character of it: most of this function's time (issue 9).
        if lines[index][-1] not in _DATE_LINE_ENDS:
            continue
        match = _DATE_LINE.fullmatch(lines[index])
        if match is None:
            continue
        day = _to_date(match)
        if day is None:
            continue
        agencies: list[str] = []
        if match["pre"]:
            # "国务院办公厅 2013年5月1日": the text before the date must be the agency.
            parts = split_agencies(match["pre"])
            if not parts or not all(looks_like_agency(p) for p in parts):
                continue
            agencies = parts
        signers = 0
        for earlier in reversed(filled[max(0, position - SIGNATURE_LOOKBACK) : position]):
            line = lines[earlier]
            parts = split_agencies(line)
            if parts and all(looks_like_agency(p) for p in parts):
                agencies = parts + agencies
            elif _SIGNER.fullmatch(_SPACE.sub("", line)):
                signers += 1
            else:
                break
        if (agencies or signers) and position >= 1:
            return Signature(day, tuple(agencies), signed=True, line=index)
        if position >= HEADING_LINES:
            unsigned = Signature(day, (), signed=False, line=index)
    return unsigned


def signing_date(body: str) -> date | None:
    """成文日期 as the body states it: the date under the issuing agency at the document's end."""
    found = signature(body)
    return found.day if found else None


def _to_date(match: re.Match[str]) -> date | None:
    groups = match.groupdict()
    if groups.get("Y"):
        year: int | None = int(groups["Y"])
        month: int | None = int(groups["M"])
        day: int | None = int(groups["D"])
    else:
        year = digit_by_digit(groups["y"])
        month, day = chinese_number(groups["m"]), chinese_number(groups["d"])
    if year is None or month is None or day is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None  # 2013年13月1日, 2月30日: not a day, never "corrected"
