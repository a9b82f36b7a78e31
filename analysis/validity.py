"""有效性 from a document's own text: when it took effect, when it ends, whether it has ended.

`validity_from_text` reads the sentences in which a document speaks about *itself*
(本办法自2013年5月1日起施行, 本通知有效期至2025年12月31日, 有效期为五年, 期满自行废止) and
returns a `Validity` whose evidence is that sentence. Three rules keep it honest:

- a page field (``doc.validity`` with evidence ``field: ...``) always wins over the text;
- a sentence must be about the document itself: it names it (本办法, 本通知 ...), or it opens
  with the statement (有效期..., 自...起施行) near the end of the body. Statutes are full of
  licences with their own 有效期 (农药登记证有效期为5年) that say nothing about the statute;
- "today" is a parameter, never the real clock, so the same input gives the same answer.

``《X》同时废止`` says something about *another* document: `analysis.references` extracts it as
an ``abolishes`` reference and `analysis.lineage` marks the target. A conditional self-repeal
(上位法出台后本办法同时废止) has no date and decides nothing.

Dates are read with the project's date parser (`analysis.dates.parse_date`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta

from analysis.dates import parse_date
from analysis.numerals import chinese_number
from analysis.tokenizer import normalise
from gongkai.document import Document, Validity

# Words a document uses to name itself (本办法, 本通知 ...).
_SELF_WORDS = (
    "实施意见|实施办法|实施细则|暂行办法|暂行规定|若干规定|若干意见|办法|规定|通知|意见|方案|细则|"
    "条例|决定|公告|通告|措施|政策|文件|规则|指引|指南|规划|计划|制度|标准|目录|解释|批复|章程|"
    "准则|纲要|法"
)
_SELF = re.compile(rf"(?:本|此)(?:{_SELF_WORDS})")
# How many closing sentences may state validity without naming the document ("有效期5年。").
_TAIL_SENTENCES = 6

_NUM = r"\d{1,3}|[一二两三四五六七八九十]{1,3}"
_YEAR = r"\d{4}|[〇○零一二三四五六七八九]{4}"
_DATE = rf"(?:{_YEAR})\s*年\s*(?:{_NUM})\s*月\s*(?:{_NUM})\s*日"

_EFFECTIVE = re.compile(
    rf"(?:自|从|于)\s*(?:(?P<day>{_DATE})|(?P<event>发布|公布|印发|颁布|下发|签发|通过|公告)之日)"
    r"\s*起?\s*(?:施行|实施|执行|生效|试行)"
)
_VALID_UNTIL = re.compile(
    rf"(?:有效期|执行期|实施期|试行期)[^。；]{{0,30}}?(?:至|到|止)\s*(?P<day>{_DATE})"
    rf"|(?:执行|实施|施行|试行)(?:至|到)\s*(?P<day2>{_DATE})"
    rf"|(?P<day3>{_DATE})\s*(?:以后|后|起)?\s*(?:自行|自动)(?:废止|失效)"
)
_VALID_FOR = re.compile(
    rf"(?:有效期|试行期|执行期|实施期)(?:限)?\s*(?:为|是)?\s*(?P<n>{_NUM})\s*(?P<unit>年|个月)"
)


def _add_months(start: date, months: int) -> date:
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    month += 1
    # 29 February plus a year: the last day of the target month.
    for day in (start.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


# A sentence, stripped: the text between sentence ends (。；;！!？? and line breaks) from its
# first to its last non-space character (``\s`` is `str.isspace`, what `str.strip` strips).
_SENTENCE = re.compile(r"[^\s。；;！!？?](?:[^。；;！!？?\n]*[^\s。；;！!？?])?")


def _sentences(text: str) -> list[tuple[int, str]]:
    """The sentences of ``text``, stripped, each with where it starts in ``text``. Found by one
    pattern: splitting and stripping in Python was half of this stage's time (issue 9)."""
    return [(match.start(), match.group()) for match in _SENTENCE.finditer(text)]


_NUMBERING = re.compile(
    r"^\s*(?:第[^条]{1,6}条|[一二三四五六七八九十]+、|[(（][^)）]{1,4}[)）]|\d+[.、])\s*"
)
_CLAUSE_BREAK = re.compile(r"[，,：:]")


def _about_itself(sentence: str, at: int, in_tail: bool) -> bool:
    """Does the statement at ``at`` speak about this document (not a licence, not 《another》)?

    Within its clause nothing but the document's own name (本办法, 此通知) may come before the
    statement (证书有效期为5年 is about a certificate); a statement opening its clause needs
    the sentence to open with that name, or to stand alone near the end of the body."""
    opening = _NUMBERING.sub("", sentence[:at], count=1)
    clause = _CLAUSE_BREAK.split(opening)[-1].strip()
    if clause:
        return bool(_SELF.fullmatch(clause))  # 根据评估，本办法有效期延长至...
    if _SELF.match(opening):
        return True
    return in_tail and not opening.strip()


@dataclass(frozen=True)
class _Statement:
    sentence: str
    effective: date | None = None  # 自...起施行
    effective_event: str | None = None  # 发布/印发 ... 之日
    until: date | None = None  # last day in force
    years: int | None = None  # 有效期X年 (in months)


# Every statement the patterns above find holds one of these words: 施行/实施/执行/生效/试行
# close 自...起施行; 有效期, 执行期, 实施期, 试行期, 执行至, 自行废止, 自动失效 hold one too.
_TRIGGER = re.compile(r"施行|实施|执行|生效|试行|有效期|废止|失效")


def _with_trigger(normal: str, sentences: list[tuple[int, str]]) -> set[int]:
    """The indexes of the sentences that hold a `_TRIGGER` word: one scan of the whole text
    instead of three patterns tried on every sentence (most of this stage's time, issue 9).
    A word holds no sentence end nor space, so it lies inside the sentence it starts in."""
    starts = [at for at, _ in sentences]
    found = set()
    for match in _TRIGGER.finditer(normal):
        index = bisect_right(starts, match.start()) - 1
        if index >= 0 and match.end() <= starts[index] + len(sentences[index][1]):
            found.add(index)
    return found


def _statements(text: str) -> list[_Statement]:
    originals = _sentences(text)
    tail_from = len(originals) - _TAIL_SENTENCES
    # Normalised once for the whole text: one character for one character, so a sentence's
    # slice of it is that sentence normalised (per sentence, the calls cost most of this
    # stage: issue 9 profile).
    normal = normalise(text)
    found: list[_Statement] = []
    for index in sorted(_with_trigger(normal, originals)):
        at, original = originals[index]
        # Matched on the normalised form (half-width digits); quoted as written.
        sentence = normal[at : at + len(original)]
        in_tail = index >= tail_from
        effective: date | None = None
        event: str | None = None
        until: date | None = None
        months: int | None = None
        match = _EFFECTIVE.search(sentence)
        if match and _about_itself(sentence, match.start(), in_tail):
            effective = parse_date(match["day"]) if match["day"] else None
            event = match["event"]
        match = _VALID_UNTIL.search(sentence)
        if match and _about_itself(sentence, match.start(), in_tail):
            day_text = match["day"] or match["day2"] or match["day3"]
            until = parse_date(day_text)
        match = _VALID_FOR.search(sentence)
        if match and until is None and _about_itself(sentence, match.start(), in_tail):
            count = chinese_number(match["n"])
            if count:
                months = count * 12 if match["unit"] == "年" else count
        if effective or event or until or months:
            found.append(_Statement(original, effective, event, until, months))
    return found


def _from_field(doc: Document) -> Validity | None:
    evidence = doc.validity.evidence or ""
    if doc.validity.status != "unknown" and evidence.startswith("field"):
        return doc.validity
    return None


def validity_from_text(doc: Document, today: date | None = None) -> Validity | None:
    """The document's validity as its own text states it, or None when the text is silent.

    - a page field wins: ``doc.validity`` is returned unchanged when its evidence is a field;
    - an end date (有效期至 ..., or 有效期X年 counted from the 施行 date in the text, else from
      date_written, else date_published) decides: past it as of ``today`` -> 失效, else 有效;
    - with ``today=None`` nothing is judged against time: an end date gives "unknown" (with the
      sentence), a 施行 statement alone gives 有效;
    - 有效期X年 with no start date known gives "unknown" with the sentence;
    - only 自...起施行 -> 有效.
    """
    given = _from_field(doc)
    if given is not None:
        return given
    statements = _statements(doc.body)
    if not statements:
        return None
    start = next((s.effective for s in statements if s.effective), None)
    if start is None and any(s.effective_event for s in statements):
        start = doc.date_published or doc.date_written
    start = start or doc.date_written or doc.date_published
    # The last statement of an end wins: closing clauses come after any quoted ones.
    for statement in reversed(statements):
        end = statement.until
        if end is None and statement.years:
            if start is None:
                return Validity(status="unknown", evidence=statement.sentence)
            end = _add_months(start, statement.years) - timedelta(days=1)
        if end is None:
            continue
        if today is None:
            return Validity(status="unknown", evidence=statement.sentence)
        return Validity(status="失效" if today > end else "有效", evidence=statement.sentence)
    effective = statements[-1]
    return Validity(status="有效", evidence=effective.sentence)
