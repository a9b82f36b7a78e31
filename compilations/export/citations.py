"""Citations of exported documents: RIS, BibTeX and GB/T 7714-2015, one record a document.

GB/T 7714-2015 4.8 (电子资源) prescribes::

    主要责任者. 题名: 其他题名信息[文献类型标识/文献载体标识]. 出版地: 出版者, 出版年: 引文页码
    (更新或修改日期)[引用日期]. 获取和访问路径. 数字对象唯一标识符.

A government document online is an 电子公告 on a network carrier, ``[EB/OL]``; its 主要责任者
is the issuing agency (up to three, then ``, 等``, 8.1.2), its 发文字号 is the 其他题名信息, the
publication date the 更新或修改日期 and the export day the 引用日期. The standard's
punctuation is the Western one followed by a space (``. ``, ``: ``, ``, ``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from datetime import date

from compilations.export.records import ExportItem, ExportMeta, primary_date, xml_safe

# GB/T 7714-2015 8.1.2: at most three responsible parties, then "等".
GBT_MAX_CREATORS = 3
# GB/T 7714-2015 8.1.3: a document without a known responsible party names "佚名".
GBT_ANONYMOUS = "佚名"
# RIS lines end with CR LF (the RIS specification); records follow each other directly.
RIS_EOL = "\r\n"

_BIBTEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_BIBTEX_SPECIAL_RE = re.compile("|".join(re.escape(c) for c in _BIBTEX_SPECIALS))
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")


def _one_line(text: str) -> str:
    """Fields of RIS and BibTeX are single lines; titles copied from pages sometimes are not."""
    return _NEWLINES.sub(" ", xml_safe(text)).strip()


def _validity_note(item: ExportItem) -> str:
    if item.document is None:
        return "文件缺失：该文件已不在检索库中"
    status = item.document.validity.status
    return f"有效性：{status}" if status != "unknown" else ""


# --- RIS ---------------------------------------------------------------------------------


def ris_record(item: ExportItem, accessed: date) -> str:
    """One RIS record (type GOVDOC) ending with its ``ER`` line."""
    doc = item.document
    lines = [("TY", "GOVDOC"), ("TI", _one_line(item.title))]
    if doc is not None:
        lines += [("AU", agency) for agency in doc.agency]
        day = primary_date(doc)
        if day is not None:
            lines += [("PY", f"{day.year:04d}"), ("DA", day.strftime("%Y/%m/%d"))]
        if doc.doc_number is not None:
            lines.append(("M1", doc.doc_number.raw))
        if doc.doc_type:
            lines.append(("M3", doc.doc_type))
        if doc.url:
            lines.append(("UR", doc.url))
        lines += [("KW", word) for word in doc.subject_words]
        lines.append(("LA", doc.language))
    lines.append(("Y2", accessed.strftime("%Y/%m/%d")))
    notes = [n for n in (_validity_note(item), _one_line(item.note)) if n]
    lines += [("N1", note) for note in notes]
    lines.append(("AN", item.doc_id))
    lines.append(("ER", ""))
    return "".join(f"{tag}  - {_one_line(value)}{RIS_EOL}" for tag, value in lines)


# --- BibTeX ------------------------------------------------------------------------------


def bibtex_escape(text: str) -> str:
    """``text`` safe inside a braced BibTeX field (LaTeX's special characters escaped)."""
    return _BIBTEX_SPECIAL_RE.sub(lambda m: _BIBTEX_SPECIALS[m.group(0)], _one_line(text))


def bibtex_key(doc_id: str) -> str:
    """A citation key that is the same on every export of the document: its id, with a short
    hash added when characters BibTeX keys cannot hold had to be replaced."""
    safe = _KEY_UNSAFE.sub("_", doc_id)
    if safe != doc_id:
        safe += "-" + hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[:8]
    return f"gongkai:{safe}"


def _bibtex_url(url: str) -> str:
    # The url field is read verbatim by the url package; only unbalanced braces would break
    # the entry, so they are percent-encoded as in any URL.
    return url.replace("{", "%7B").replace("}", "%7D").replace("\\", "%5C")


def bibtex_record(item: ExportItem, accessed: date) -> str:
    """One ``@misc`` entry; agencies are braced so BibTeX keeps them whole as names."""
    doc = item.document
    fields: list[tuple[str, str]] = [("title", bibtex_escape(item.title))]
    if doc is not None:
        if doc.agency:
            fields.append(
                ("author", " and ".join("{" + bibtex_escape(a) + "}" for a in doc.agency))
            )
        day = primary_date(doc)
        if day is not None:
            fields += [("year", f"{day.year:04d}"), ("date", day.isoformat())]
        if doc.doc_number is not None:
            fields.append(("number", bibtex_escape(doc.doc_number.raw)))
        if doc.doc_type:
            fields.append(("type", bibtex_escape(doc.doc_type)))
        if doc.url:
            fields += [("url", _bibtex_url(_one_line(doc.url))), ("urldate", accessed.isoformat())]
        if doc.subject_words:
            fields.append(("keywords", bibtex_escape(", ".join(doc.subject_words))))
        fields.append(("language", bibtex_escape(doc.language)))
    notes = [n for n in (_validity_note(item), _one_line(item.note)) if n]
    if notes:
        fields.append(("note", bibtex_escape("; ".join(notes))))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{bibtex_key(item.doc_id)},\n{body}\n}}\n"


# --- GB/T 7714-2015 ----------------------------------------------------------------------


def _gbt_creators(agencies: list[str]) -> str:
    if not agencies:
        return GBT_ANONYMOUS
    names = ", ".join(_one_line(a) for a in agencies[:GBT_MAX_CREATORS])
    return names + (", 等" if len(agencies) > GBT_MAX_CREATORS else "")


def gbt7714_record(item: ExportItem, accessed: date) -> str:
    """One reference in GB/T 7714-2015's 电子资源 form (without the ``[n]`` list number)."""
    doc = item.document
    title = _one_line(item.title)
    if doc is None:
        return (
            f"{GBT_ANONYMOUS}. {title}[EB/OL]. [{accessed.isoformat()}]. ({_validity_note(item)})"
        )
    text = f"{_gbt_creators(doc.agency)}. {title}"
    if doc.doc_number is not None:
        text += f": {_one_line(doc.doc_number.raw)}"
    text += "[EB/OL]. "
    day = primary_date(doc)
    if day is not None:
        text += f"({day.isoformat()})"
    text += f"[{accessed.isoformat()}]."
    if doc.url:
        text += f" {_one_line(doc.url)}."
    return text


# --- streams -----------------------------------------------------------------------------


def ris_chunks(items: Iterable[ExportItem], meta: ExportMeta) -> Iterator[bytes]:
    for item in items:
        yield ris_record(item, meta.created).encode("utf-8")


def bibtex_chunks(items: Iterable[ExportItem], meta: ExportMeta) -> Iterator[bytes]:
    yield f"% {bibtex_escape(meta.title)} ({meta.created.isoformat()}), Gongkai\n\n".encode()
    for item in items:
        yield (bibtex_record(item, meta.created) + "\n").encode("utf-8")


def gbt7714_chunks(items: Iterable[ExportItem], meta: ExportMeta) -> Iterator[bytes]:
    """A numbered reference list (顺序编码制: ``[1] ...``), one reference a line."""
    for number, item in enumerate(items, start=1):
        yield f"[{number}] {gbt7714_record(item, meta.created)}\n".encode()
