"""The DOCX booklet read back with python-docx: cover, TOC field and title list, headings in
order, red validity badges, notes, text and the East Asian font, in one chunk or several."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn
from docx.shared import RGBColor

from compilations.export import booklet
from compilations.export.booklet_docx import EAST_ASIAN_FONT
from compilations.export.writer import FORMATS, export_to_file
from tests.compilations.export.documents import ABOLISHED, BARE, FULL, HOSTILE, MANY, items, meta

RED = RGBColor(0xC0, 0x00, 0x00)


@pytest.fixture(params=[100, 2], ids=["one-chunk", "chunks-of-2"])
def docx_path(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setattr(booklet, "CHUNK_DOCUMENTS", request.param)
    return export_to_file(items(), meta(total=6), FORMATS["docx"], tmp_path / "booklet.docx")


@pytest.fixture
def document(docx_path: Path) -> Any:
    return docx.Document(str(docx_path))


def texts(document: Any, style: str) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name == style]


def test_headings_are_sections_and_titles_in_order(document: Any) -> None:
    assert texts(document, "Heading 1") == ["一、国家文件", "二、地方文件"]
    titles = texts(document, "Heading 2")
    assert titles[:4] == [
        FULL.title,
        MANY.title,
        ABOLISHED.title,
        HOSTILE.title.replace("\x01", ""),
    ]
    assert titles[4].startswith(BARE.title[:50]) and titles[4].endswith("…")
    assert len(titles[4]) == booklet.HEADING_CHARS
    assert titles[5] == "已删除的通知"


def test_cover_toc_field_and_plain_title_list(document: Any, docx_path: Path) -> None:
    body = [p.text for p in document.paragraphs]
    assert "最低生活保障专题汇编" in texts(document, "Title")
    assert "收录文件：6 件" in body and "编制日期：2026-11-26" in body
    listed = [t for t in body if t[:2] in {f"{n}." for n in range(1, 7)}]
    assert listed[0] == f"1. {FULL.title}（国办发〔2013〕73号）"
    assert listed[2] == f"3. {ABOLISHED.title}（示民发〔2010〕5号）"
    assert listed[5] == "6. 已删除的通知"
    # The list comes before the first document.
    assert body.index(listed[5]) < body.index(FULL.title)
    with zipfile.ZipFile(docx_path) as package:
        xml = package.read("word/document.xml").decode()
        settings = package.read("word/settings.xml").decode()
    assert 'TOC \\o "1-2"' in xml
    assert xml.index("TOC \\o") < xml.index(FULL.title)
    assert "updateFields" in settings


def badge_runs(document: Any) -> list[tuple[str, Any]]:
    return [
        (run.text, run) for p in document.paragraphs for run in p.runs if run.text.startswith("【")
    ]


def test_validity_is_a_bold_red_badge(document: Any) -> None:
    badges = badge_runs(document)
    assert [t for t, _ in badges] == [
        "【本文件已失效】",
        "【失效】",
        "【本文件已废止】",
        "【废止】",
        "【本文件已修改】",
        "【已修改】",
        "【文件缺失】",
    ]
    for _, run in badges:
        assert run.bold is True
        assert run.font.color.rgb == RED


def test_header_note_and_text(document: Any) -> None:
    body = [p.text for p in document.paragraphs]
    start = body.index(ABOLISHED.title)
    section = body[start : start + 12]
    assert "发文字号：示民发〔2010〕5号" in section
    assert "发布机构：示例市民政局、示例市财政局" in section
    assert "编者按：已被2015年办法替代。" in section
    # Paragraphs kept; the document's markup is text; the vertical tab is gone.
    assert "第一条 为规范低保工作<script>alert(1)</script>，制定本办法。" in section
    assert "第二条 本办法自发布之日起施行。" in section
    assert "编者按：已被2015年办法替代。" in texts(document, "Quote")
    assert "正文带控制字符" in body


def test_styles_use_an_east_asian_font(document: Any) -> None:
    for name in ("Normal", "Heading 1", "Heading 2", "Title"):
        fonts = document.styles[name].element.rPr.rFonts
        assert fonts.get(qn("w:eastAsia")) == EAST_ASIAN_FONT
        assert fonts.get(qn("w:eastAsiaTheme")) is None


def test_each_document_starts_a_new_page(document: Any) -> None:
    headings = [p for p in document.paragraphs if p.style.name == "Heading 2"]
    assert all(p.paragraph_format.page_break_before for p in headings)


def test_empty_booklet_still_has_cover_and_list(tmp_path: Path) -> None:
    path = export_to_file([], meta(total=0), FORMATS["docx"], tmp_path / "empty.docx")
    body = [p.text for p in docx.Document(str(path)).paragraphs]
    assert "收录文件：0 件" in body and "（无文件）" in body
