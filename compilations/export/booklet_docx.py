"""The booklet as DOCX (python-docx), with bounded memory.

python-docx keeps a whole document as one XML tree in memory, and its objects cost about a
millisecond a paragraph. To stay bounded (and fast), each document's title, header and note are
made with python-docx in a throwaway document, serialised to a temporary body file and
dropped; the text paragraphs, most of a booklet, are written to that file directly as XML. The
cover and contents come from a small skeleton document built afterwards, and the final zip is
written by copying the skeleton's parts and streaming the title list and the body file into
``word/document.xml`` where the skeleton holds a placeholder paragraph. Memory holds one
document's paragraphs plus the list of titles (cut to `booklet.TOC_CHARS`).

Contents: page numbers exist only once a word processor lays the pages out, which python-docx
cannot do. So the booklet has a real Word TOC field over the Heading 1/2 styles (Word fills it
with page numbers; the document asks to update fields when opened) and, below it, a plain
numbered list of the titles, which every reader and text extractor shows as is.

Chinese: Word picks the font for Han characters from ``w:eastAsia`` of ``w:rFonts``, not from
the Latin font name, and the default template's heading styles point at theme fonts that win
over it; so every style used gets SimSun (宋体) as its East Asian font and loses the theme
attributes.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor
from docx.text.paragraph import Paragraph
from lxml import etree

from compilations.export.booklet import (
    HEADING_CHARS,
    TOC_CHARS,
    chunks,
    cut,
    header_lines,
    paragraphs,
)
from compilations.export.records import (
    WARNING_BANNER,
    WARNING_VALIDITY,
    ExportItem,
    ExportMeta,
    xml_safe,
)

EAST_ASIAN_FONT = "SimSun"
RED = RGBColor(0xC0, 0x00, 0x00)
_STYLES = ("Normal", "Title", "Heading 1", "Heading 2", "List Number", "Quote")
_THEME_ATTRS = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")
_PLACEHOLDER = "GONGKAI-BOOKLET-BODY-PLACEHOLDER"
_DOCUMENT_PART = "word/document.xml"
_NAMESPACE_DECLARATION = re.compile(rb' xmlns:[A-Za-z0-9]+="[^"]*"')
# Elements CT_Settings (ECMA-376) puts after w:updateFields.
_AFTER_UPDATE_FIELDS = tuple(
    f"w:{name}"
    for name in (
        "hdrShapeDefaults", "footnotePr", "endnotePr", "compat", "docVars", "rsids",
        "attachedSchema", "themeFontLang", "clrSchemeMapping", "doNotIncludeSubdocsInStats",
        "doNotAutoCompressPictures", "forceUpgrade", "captions", "readModeInkLockDown",
        "smartTagType", "shapeDefaults", "doNotEmbedSmartTags", "decimalSymbol", "listSeparator",
    )
)  # fmt: skip


def _use_east_asian_font(document: Any) -> None:
    for name in _STYLES:
        style = document.styles[name]
        style.font.name = EAST_ASIAN_FONT
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)
        for attr in _THEME_ATTRS:
            fonts.attrib.pop(qn(attr), None)


def _paragraph(document: Any, text: str = "", style: str | None = None) -> Any:
    """A new last paragraph with style id ``style``. python-docx's own ``add_paragraph`` looks
    for the section properties among all body children on every call (quadratic in a long
    booklet), and its style-by-name lookup scans the style list; the section properties are the
    last child, so the paragraph goes right before it, and the style id is set directly."""
    body = document.element.body
    element = OxmlElement("w:p")
    try:
        last = body[-1]
    except IndexError:
        last = None
    if last is not None and last.tag == qn("w:sectPr"):
        last.addprevious(element)
    else:
        body.append(element)
    if style is not None:
        element.style = style
    paragraph = Paragraph(element, document._body)
    if text:
        paragraph.add_run(text)
    return paragraph


def _badge(paragraph: Any, text: str, size: float | None = None) -> None:
    """A validity warning: bold red text in 【】, so it shows even in black-and-white print."""
    run = paragraph.add_run(f"【{text}】")
    run.bold = True
    run.font.color.rgb = RED
    if size:
        run.font.size = Pt(size)


def _add_document(document: Any, item: ExportItem) -> None:
    heading = _paragraph(document, cut(item.title, HEADING_CHARS), "Heading2")
    heading.paragraph_format.page_break_before = True
    doc = item.document
    status = doc.validity.status if doc is not None else ""
    if status in WARNING_VALIDITY or doc is None:
        badge = _paragraph(document)
        badge.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _badge(badge, WARNING_BANNER[status] if doc is not None else "文件缺失", size=14)
    for line in header_lines(item):
        paragraph = _paragraph(document)
        label = paragraph.add_run(f"{line.label}：")
        label.bold = True
        if line.label == "有效性" and line.value in WARNING_VALIDITY:
            _badge(paragraph, line.value)
        else:
            paragraph.add_run(line.value)
        paragraph.paragraph_format.space_after = Pt(0)
    if item.note.strip():
        note = _paragraph(document, style="Quote")
        note.add_run("编者按：").bold = True
        note.add_run(xml_safe(item.note.strip()))


def text_xml(item: ExportItem) -> bytes:
    """The document's text as WordprocessingML paragraphs (first line indented two
    characters), written directly: it is most of a booklet, and python-docx's objects cost
    about a millisecond a paragraph. ``w`` is declared on the root of document.xml."""
    doc = item.document
    if doc is None:
        return b""
    texts = paragraphs(doc.body)
    if doc.attachments:
        texts.append("附件：" + "；".join(xml_safe(a.name) for a in doc.attachments))
    return "".join(
        '<w:p><w:pPr><w:ind w:firstLine="420"/></w:pPr>'
        f'<w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'
        for text in texts
    ).encode("utf-8")


def _write_body(
    items: Iterable[ExportItem], body: IO[bytes]
) -> tuple[list[tuple[int, str, str]], int]:
    """Serialise the documents' paragraphs to ``body``; returns the contents lines
    (level, title, 发文字号) and the number of documents."""
    contents: list[tuple[int, str, str]] = []
    count = 0
    section: str | None = None
    for group in chunks(items):
        work = docx.Document()
        for item in group:
            if item.section and item.section != section:
                section = item.section
                heading = _paragraph(work, xml_safe(section), "Heading1")
                heading.paragraph_format.page_break_before = True
                contents.append((1, cut(section, TOC_CHARS), ""))
            _add_document(work, item)
            number = item.document.doc_number if item.document is not None else None
            contents.append((2, cut(item.title, TOC_CHARS), number.raw if number else ""))
            count += 1
            _move_paragraphs(work, body)
            body.write(text_xml(item))
    return contents, count


def _move_paragraphs(work: Any, body: IO[bytes]) -> None:
    """Serialise ``work``'s paragraphs to ``body`` and drop them from ``work``."""
    element = work.element.body
    for child in list(element.iterchildren()):
        if child.tag != qn("w:sectPr"):
            xml = etree.tostring(child, encoding="utf-8")
            # lxml repeats every namespace of the template's root on each fragment (~1.5 KB);
            # the booklet's root declares the same ones, so they are dropped from its start tag.
            start_tag_end = xml.index(b">")
            body.write(_NAMESPACE_DECLARATION.sub(b"", xml[:start_tag_end]) + xml[start_tag_end:])
            element.remove(child)


def _toc_field(paragraph: Any) -> None:
    """A Word TOC field over Heading 1-2, marked dirty so Word fills in page numbers."""

    def run_with(element: Any) -> None:
        run = OxmlElement("w:r")
        run.append(element)
        paragraph._p.append(run)

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    begin.set(qn("w:dirty"), "true")
    run_with(begin)
    instruction = OxmlElement("w:instrText")
    instruction.set(qn("xml:space"), "preserve")
    instruction.text = ' TOC \\o "1-2" \\h \\z \\u '
    run_with(instruction)
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    run_with(separate)
    hint = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "（打开文件时选择更新域，即生成带页码的目录）"
    hint.append(text)
    paragraph._p.append(hint)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def _skeleton(meta: ExportMeta, count: int) -> bytes:
    document = docx.Document()
    _use_east_asian_font(document)
    document.core_properties.title = xml_safe(meta.title)
    document.core_properties.author = "Gongkai"
    for _ in range(6):
        _paragraph(document)
    title = _paragraph(document, xml_safe(meta.title), style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for line in paragraphs(meta.description):
        _paragraph(document, line).alignment = WD_ALIGN_PARAGRAPH.CENTER
    facts = [f"编制日期：{meta.created.isoformat()}", f"收录文件：{count} 件"]
    if meta.query:
        facts.append(f"检索条件：{xml_safe(meta.query)}")
    for fact in facts:
        _paragraph(document, fact).alignment = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph(document).add_run().add_break(WD_BREAK.PAGE)
    heading = _paragraph(document, "目　录", style="Title")
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _toc_field(_paragraph(document))
    _paragraph(document).add_run("文件列表").bold = True
    _paragraph(document, _PLACEHOLDER)
    # Ask Word to refresh fields (the TOC) when the file is opened.
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    # The schema fixes the order of settings; Word refuses a file with them out of order.
    document.settings.element.insert_element_before(update, *_AFTER_UPDATE_FIELDS)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _title_list(contents: list[tuple[int, str, str]]) -> Iterator[bytes]:
    """The plain numbered list of titles (sections in bold), as paragraphs written directly."""
    number = 0
    for level, text, doc_number in contents:
        if level == 1:
            line = f"<w:r><w:rPr><w:b/></w:rPr><w:t>{escape(text)}</w:t></w:r>"
        else:
            number += 1
            suffix = f"（{xml_safe(doc_number)}）" if doc_number else ""
            line = f'<w:r><w:t xml:space="preserve">{number}. {escape(text + suffix)}</w:t></w:r>'
        yield f"<w:p>{line}</w:p>".encode()
    if not contents:
        yield "<w:p><w:r><w:t>（无文件）</w:t></w:r></w:p>".encode()


def _split_at_placeholder(xml: bytes) -> tuple[bytes, bytes]:
    """``word/document.xml`` before and after the placeholder paragraph."""
    marker = xml.index(_PLACEHOLDER.encode())
    start = max(xml.rfind(b"<w:p>", 0, marker), xml.rfind(b"<w:p ", 0, marker))
    end = xml.index(b"</w:p>", marker) + len(b"</w:p>")
    return xml[:start], xml[end:]


def write_docx(
    items: Iterable[ExportItem], meta: ExportMeta, out: IO[bytes], workdir: Path
) -> None:
    """The booklet as one DOCX written to ``out``; the body is spooled in ``workdir``."""
    with tempfile.TemporaryFile(dir=workdir, prefix=".booklet-body-") as body:
        contents, count = _write_body(items, body)
        skeleton = _skeleton(meta, count)
        body.seek(0)
        with (
            zipfile.ZipFile(io.BytesIO(skeleton)) as source,
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
        ):
            for info in source.infolist():
                if info.filename != _DOCUMENT_PART:
                    target.writestr(info, source.read(info.filename))
                    continue
                before, after = _split_at_placeholder(source.read(info.filename))
                with target.open(_DOCUMENT_PART, "w", force_zip64=True) as part:
                    part.write(before)
                    for line in _title_list(contents):
                        part.write(line)
                    shutil.copyfileobj(body, part)
                    part.write(after)
