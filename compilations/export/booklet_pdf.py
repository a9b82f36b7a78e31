"""The booklet as PDF (reportlab, built-in CID font STSong-Light: no font file to ship).

Bounded memory by rendering in chunks and a two-pass table of contents:

1. the documents are laid out a chunk at a time (`booklet.chunks`) into temporary PDFs; body
   pages are numbered from 1 across chunks, and each document's and section's page is noted
   as its heading is placed (``afterFlowable``), so the page numbers are the real ones;
2. the cover and the table of contents are laid out last, when every page number is known,
   and go in front unnumbered (their pages are labelled i, ii, ... in the PDF viewer);
3. `pdfjoin.PdfJoiner` streams front matter and chunks into the output one part at a time
   (pypdf reads each part) and adds an outline (bookmarks) and page labels.

Memory then holds one chunk's flowables or one part's objects, plus a few numbers per page
and the contents entries (measured in bench/export.py), never all documents at once.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from compilations.export.booklet import (
    HEADING_CHARS,
    TOC_CHARS,
    chunks,
    cut,
    header_lines,
    paragraphs,
)
from compilations.export.pdfjoin import Bookmark, PdfJoiner
from compilations.export.records import (
    WARNING_BANNER,
    WARNING_VALIDITY,
    ExportItem,
    ExportMeta,
    xml_safe,
)

FONT = "STSong-Light"
RED = colors.HexColor("#C00000")
MARGIN = 2.2 * cm


def _font() -> str:
    # reportlab keeps fonts in a process-wide registry; registering twice is harmless but slow.
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


@dataclass(frozen=True)
class _Styles:
    body: ParagraphStyle
    title: ParagraphStyle
    section: ParagraphStyle
    cell: ParagraphStyle
    label: ParagraphStyle
    note: ParagraphStyle
    badge: ParagraphStyle
    cover_title: ParagraphStyle
    cover_text: ParagraphStyle
    toc: ParagraphStyle
    toc_section: ParagraphStyle


def _styles() -> _Styles:
    font = _font()
    # wordWrap="CJK" breaks lines between any two Han characters (Chinese has no spaces).
    base = ParagraphStyle("base", fontName=font, fontSize=10.5, leading=17, wordWrap="CJK")
    return _Styles(
        body=ParagraphStyle("body", parent=base, firstLineIndent=21, spaceAfter=3),
        title=ParagraphStyle(
            "title", parent=base, fontSize=16, leading=24, alignment=TA_CENTER, spaceAfter=8
        ),
        section=ParagraphStyle(
            "section", parent=base, fontSize=20, leading=30, alignment=TA_CENTER
        ),
        cell=ParagraphStyle("cell", parent=base, fontSize=9.5, leading=14),
        label=ParagraphStyle("label", parent=base, fontSize=9.5, leading=14, textColor="#444444"),
        note=ParagraphStyle(
            "note",
            parent=base,
            fontSize=9.5,
            leading=15,
            backColor="#FFF6DA",
            borderColor="#E0C060",
            borderWidth=0.5,
            borderPadding=5,
            spaceBefore=6,
            spaceAfter=10,
        ),
        badge=ParagraphStyle("badge", parent=base, fontSize=14, leading=22, alignment=TA_CENTER),
        cover_title=ParagraphStyle(
            "cover_title", parent=base, fontSize=26, leading=38, alignment=TA_CENTER
        ),
        cover_text=ParagraphStyle(
            "cover_text", parent=base, fontSize=12, leading=20, alignment=TA_CENTER
        ),
        toc=ParagraphStyle("toc", parent=base, fontSize=10, leading=15, leftIndent=14),
        toc_section=ParagraphStyle("toc_section", parent=base, fontSize=11.5, leading=19),
    )


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text: escaped, so a document's ``<script>`` is printed, not parsed."""
    return Paragraph(escape(xml_safe(text)), style)


def validity_badge(text: str, style: ParagraphStyle, align: str = "CENTER") -> Table:
    """A validity warning: white on a red box, in 【】 (so it still reads as a warning in
    black-and-white print and in extracted text). A one-cell table, because reportlab does not
    paint inline background colours behind CJK-wrapped text."""
    label = f"【{text}】"
    white = ParagraphStyle("badge-text", parent=style, textColor=colors.white, alignment=TA_CENTER)
    width = pdfmetrics.stringWidth(label, style.fontName, style.fontSize) + 8
    box = Table([[_p(label, white)]], colWidths=[width], hAlign=align)
    box.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), RED),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return box


class _TocMark(Flowable):  # type: ignore[misc]  # reportlab has no type hints
    """Takes no space; tells the template that a heading for the contents starts here."""

    def __init__(self, level: int, text: str) -> None:
        super().__init__()
        self.level = level
        self.text = text

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return (0, 0)

    def draw(self) -> None:
        return None


@dataclass(frozen=True)
class TocEntry:
    level: int  # 0: section, 1: document
    text: str
    page: int  # printed body page number, 1-based


class _BodyTemplate(BaseDocTemplate):  # type: ignore[misc]
    """Body pages of one chunk, numbered from ``first_page``; notes where headings land."""

    def __init__(self, path: Path, first_page: int, running_title: str) -> None:
        super().__init__(
            str(path),
            pagesize=A4,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN,
            title=running_title,
        )
        self.first_page = first_page
        self.running_title = running_title
        self.entries: list[TocEntry] = []
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body")
        self.addPageTemplates([PageTemplate(id="body", frames=[frame], onPage=self._decorate)])

    def _decorate(self, canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8.5)
        canvas.setFillColor(colors.grey)
        width, height = A4
        canvas.drawCentredString(width / 2, height - MARGIN + 14, cut(self.running_title, 60))
        canvas.drawCentredString(width / 2, MARGIN - 24, f"— {self.first_page + doc.page - 1} —")
        canvas.restoreState()

    def afterFlowable(self, flowable: Any) -> None:  # noqa: N802  # reportlab's hook name
        if isinstance(flowable, _TocMark):
            page = self.first_page + self.page - 1
            self.entries.append(TocEntry(flowable.level, flowable.text, page))


def _document_story(item: ExportItem, styles: _Styles) -> list[Any]:
    title = cut(item.title, HEADING_CHARS)
    story: list[Any] = [_TocMark(1, cut(item.title, TOC_CHARS)), _p(title, styles.title)]
    doc = item.document
    status = doc.validity.status if doc is not None else ""
    if status in WARNING_VALIDITY:
        story += [validity_badge(WARNING_BANNER[status], styles.badge), Spacer(1, 6)]
    if doc is None:
        story += [validity_badge("文件缺失", styles.badge), Spacer(1, 6)]
    rows = []
    for line in header_lines(item):
        value = (
            validity_badge(line.value, styles.cell, align="LEFT")
            if line.label == "有效性" and line.value in WARNING_VALIDITY
            else _p(line.value, styles.cell)
        )
        rows.append([_p(line.label, styles.label), value])
    table = Table(rows, colWidths=[2.2 * cm, None], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEABOVE", (0, 0), (-1, 0), 0.6, colors.grey),
                ("LINEBELOW", (0, -1), (-1, -1), 0.6, colors.grey),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    story += [table, Spacer(1, 8)]
    if item.note.strip():
        story.append(_p(f"编者按：{item.note.strip()}", styles.note))
    if doc is not None:
        story += [_p(text, styles.body) for text in paragraphs(doc.body)]
        if doc.attachments:
            names = "；".join(a.name for a in doc.attachments)
            story.append(_p(f"附件：{names}", styles.body))
    story.append(PageBreak())
    return story


def _render_body(
    items: Iterable[ExportItem], meta: ExportMeta, workdir: Path
) -> tuple[list[Path], list[TocEntry], int]:
    """Lay the documents out chunk by chunk; returns chunk files, contents entries, pages."""
    styles = _styles()
    paths: list[Path] = []
    entries: list[TocEntry] = []
    pages = 0
    section: str | None = None
    for number, group in enumerate(chunks(items)):
        story: list[Any] = []
        for item in group:
            if item.section and item.section != section:
                section = item.section
                story += [_TocMark(0, cut(section, TOC_CHARS)), Spacer(1, 6 * cm)]
                story.append(_p(section, styles.section))
                story.append(PageBreak())
            story += _document_story(item, styles)
        path = workdir / f"chunk-{number:05d}.pdf"
        template = _BodyTemplate(path, pages + 1, meta.title)
        template.build(story)
        pages += template.page
        entries += template.entries
        paths.append(path)
    return paths, entries, pages


class _TocLine(Flowable):  # type: ignore[misc]
    """One line of the contents: the title wrapped on the left, the page number on the right."""

    NUMBER_WIDTH = 1.4 * cm

    def __init__(self, entry: TocEntry, style: ParagraphStyle) -> None:
        super().__init__()
        self.entry = entry
        self.paragraph = _p(entry.text, style)
        self.style = style

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        _, height = self.paragraph.wrap(avail_width - self.NUMBER_WIDTH, avail_height)
        self.height = height
        return (avail_width, height)

    def draw(self) -> None:
        self.paragraph.drawOn(self.canv, 0, 0)
        self.canv.setFont(self.style.fontName, self.style.fontSize)
        # Baseline of the paragraph's last line: one descent above the bottom.
        self.canv.drawRightString(self.width, self.style.leading * 0.3, str(self.entry.page))


def _render_front(meta: ExportMeta, entries: list[TocEntry], count: int, path: Path) -> int:
    """Cover and contents; returns their number of pages."""
    styles = _styles()
    story: list[Any] = [Spacer(1, 5 * cm), _p(meta.title, styles.cover_title), Spacer(1, 1 * cm)]
    if meta.description:
        story += [_p(line, styles.cover_text) for line in paragraphs(meta.description)]
    story += [
        Spacer(1, 2 * cm),
        _p(f"编制日期：{meta.created.isoformat()}", styles.cover_text),
        _p(f"收录文件：{count} 件", styles.cover_text),
    ]
    if meta.query:
        story.append(_p(f"检索条件：{meta.query}", styles.cover_text))
    story += [PageBreak(), _p("目　录", styles.title), Spacer(1, 6)]
    story += [_TocLine(e, styles.toc_section if e.level == 0 else styles.toc) for e in entries]
    if not entries:
        story.append(_p("（无文件）", styles.cover_text))
    template = BaseDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=meta.title,
    )
    frame = Frame(MARGIN, MARGIN, template.width, template.height, id="front")
    template.addPageTemplates([PageTemplate(id="front", frames=[frame])])
    template.build(story)
    return int(template.page)


def write_pdf(items: Iterable[ExportItem], meta: ExportMeta, out: IO[bytes], workdir: Path) -> None:
    """The booklet as one PDF written to ``out``; chunk files live in ``workdir`` meanwhile."""
    with tempfile.TemporaryDirectory(dir=workdir, prefix=".booklet-") as tmp:
        folder = Path(tmp)
        counted: list[int] = [0]

        def counting(source: Iterable[ExportItem]) -> Iterable[ExportItem]:
            for item in source:
                counted[0] += 1
                yield item

        chunk_paths, entries, _ = _render_body(counting(items), meta, folder)
        front_path = folder / "front.pdf"
        front_pages = _render_front(meta, entries, counted[0], front_path)
        joiner = PdfJoiner(out)
        joiner.add(front_path)
        for path in chunk_paths:
            joiner.add(path)
            path.unlink()  # the disk holds the output and at most one chunk more
        bookmarks = [Bookmark(e.level, e.text, front_pages + e.page - 1) for e in entries]
        joiner.finish(bookmarks, front_pages, xml_safe(meta.title))
