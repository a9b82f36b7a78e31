"""The user query language, parsed by the project (never handed to an engine as syntax).

    低保 标准                 free text, ranked by BM25 (any word may match)
    "最低生活保障标准"         an exact phrase (required; ASCII quotes only)
    低保 AND 农村             both required;  医保 OR 医疗保险: either required
    NOT 废止 / -废止          excluded;  +农村: required
    title:征收 agency:示例市民政局 docno:国办发〔2013〕73号     field prefixes
                              (also 标题: 机关: 文号:)

Anything the grammar does not expect (unbalanced quotes, a lone AND, an unknown prefix such
as foo:bar) degrades to plain text: parsing never fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

FieldName = Literal["title", "agency", "docno"]

FIELD_PREFIXES: dict[str, FieldName] = {
    "title": "title",
    "标题": "title",
    "agency": "agency",
    "机关": "agency",
    "docno": "docno",
    "文号": "docno",
}
OPERATORS = {"AND", "OR", "NOT", "&&", "||"}

# A quoted phrase or a run of non-space. Only ASCII quotes make a phrase: Chinese quotes “”
# are ordinary punctuation in questions (如何办理“一证通办”), not a demand for exactness.
# An unclosed quote is dropped and what follows it is read as plain words.
_LEXEME = re.compile(r'(?P<q>")(?P<phrase>[^"]*)(?P<end>"|$)|(?P<word>[^\s"]+)')


@dataclass(frozen=True)
class Item:
    """One searched thing: a word or phrase, maybe limited to a field."""

    text: str
    field: FieldName | None = None
    phrase: bool = False


@dataclass
class ParsedQuery:
    free: list[Item] = field(default_factory=list)
    required: list[list[Item]] = field(default_factory=list)  # each: any one of its items
    excluded: list[Item] = field(default_factory=list)

    @property
    def positive_items(self) -> list[Item]:
        return [*self.free, *(item for group in self.required for item in group)]


@dataclass
class _Unit:
    item: Item
    sign: Literal["", "+", "-"]


def _lex(text: str) -> list[str | Item]:
    """Operators as strings, everything else as items."""
    out: list[str | Item] = []
    for m in _LEXEME.finditer(text):
        if m.group("q"):
            phrase = m.group("phrase").strip()
            if not m.group("end"):
                out.extend(phrase.split())
            elif phrase:
                out.append(Item(phrase, phrase=True))
            continue
        word = m.group("word")
        if word in OPERATORS:
            out.append({"&&": "AND", "||": "OR"}.get(word, word))
        else:
            out.append(word)
    return out


def _unit(word: str, sign: Literal["", "+", "-"]) -> _Unit | None:
    prefix, colon, rest = word.partition(":")
    if not colon:
        prefix, colon, rest = word.partition("：")  # full-width colon
    if colon and prefix.lower() in FIELD_PREFIXES and rest:
        return _Unit(Item(rest, FIELD_PREFIXES[prefix.lower()]), sign or "+")
    return _Unit(Item(word), sign) if word else None


def parse_query(text: str) -> ParsedQuery:
    """Parse ``text``; never raises."""
    lexemes = _lex(text)
    units: list[_Unit | str] = []
    pending_not = False
    for lexeme in lexemes:
        if isinstance(lexeme, Item):
            units.append(_Unit(lexeme, "-" if pending_not else "+"))
            pending_not = False
        elif lexeme == "NOT":
            pending_not = True
        elif lexeme in ("AND", "OR"):
            units.append(lexeme)
        else:
            sign: Literal["", "+", "-"] = "-" if pending_not else ""
            word = lexeme
            if len(word) > 1 and word[0] in "+-":
                sign, word = ("-" if word[0] == "-" else "+"), word[1:]
            # A prefixed item nested after a sign: -title:x
            unit = _unit(word, sign)
            pending_not = False
            if unit:
                units.append(unit)
    strict = any(isinstance(u, str) or u.sign for u in units)
    return _assemble(units, strict)


def _assemble(units: list[_Unit | str], strict: bool) -> ParsedQuery:
    parsed = ParsedQuery()
    previous: _Unit | None = None
    join_next = False
    for unit in units:
        if unit == "OR":
            join_next = previous is not None and previous.sign != "-"
            continue
        if unit == "AND" or isinstance(unit, str):
            join_next = False
            continue
        if unit.sign == "-":
            parsed.excluded.append(unit.item)
            join_next = False
        elif join_next and parsed.required:
            parsed.required[-1].append(unit.item)
            join_next = False
        elif strict and (unit.sign == "+" or unit.item.field or not _is_free(units)):
            parsed.required.append([unit.item])
        else:
            parsed.free.append(unit.item)
        previous = unit
    return parsed


def _is_free(units: list[_Unit | str]) -> bool:
    """Bare words stay free text unless the query uses AND/OR (then every word counts)."""
    return not any(u in ("AND", "OR") for u in units if isinstance(u, str))
