"""The PDF booklet read back with pypdf: cover, contents with the real page numbers, headers,
validity badges, notes and text, also when it is laid out in several chunks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from compilations.export import booklet
from compilations.export.writer import FORMATS, export_to_file
from tests.compilations.export.documents import ABOLISHED, BARE, FULL, HOSTILE, MANY, items, meta


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(params=[100, 2], ids=["one-chunk", "chunks-of-2"])
def pdf(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> PdfReader:
    monkeypatch.setattr(booklet, "CHUNK_DOCUMENTS", request.param)
    path = export_to_file(items(), meta(total=6), FORMATS["pdf"], tmp_path / "booklet.pdf")
    return PdfReader(path)


def page_of(reader: PdfReader, number: int) -> str:
    """Text of the page printed with ``number`` (body pages are labelled 1, 2, ...)."""
    return squeeze(reader.pages[reader.page_labels.index(str(number))].extract_text())


def test_cover_says_title_date_and_count(pdf: PdfReader) -> None:
    cover = squeeze(pdf.pages[0].extract_text())
    for text in (
        "最低生活保障专题汇编",
        "收录低保相关文件。",
        "编制日期：2026-11-26",
        "收录文件：6件",
    ):
        assert text in cover


def test_contents_list_sections_and_titles_in_order_with_real_page_numbers(pdf: PdfReader) -> None:
    front = [i for i, label in enumerate(pdf.page_labels) if not label.isdigit()]
    assert front[0] == 0 and len(front) >= 2
    contents = "".join(squeeze(pdf.pages[i].extract_text()) for i in front[1:])
    assert contents.startswith("目录")
    expected = [
        "一、国家文件",
        FULL.title,
        MANY.title,
        "二、地方文件",
        ABOLISHED.title,
        squeeze(HOSTILE.title.replace("\x01", "")),
        BARE.title[: booklet.TOC_CHARS - 1] + "…",
        "已删除的通知",
    ]
    position, pages = 0, []
    for title in expected:
        found = re.compile(re.escape(title) + r"(\d+)").search(contents, position)
        assert found is not None, title
        position = found.end()
        pages.append(int(found.group(1)))
    assert pages == sorted(pages) and len(set(pages)) == len(pages)
    for title, number in zip(expected, pages, strict=True):
        page = page_of(pdf, number)
        assert title[:40] in page, (title, number)
        assert f"—{number}—" in page  # the printed page number is the one in the contents


def test_document_header_shows_catalogue_fields(pdf: PdfReader) -> None:
    pages = [squeeze(p.extract_text()) for p in pdf.pages]
    first = next(t for t in pages if FULL.title in t and "发文字号" in t)
    for value in (
        "发文字号国办发〔2013〕73号",
        "发布机构国务院办公厅",
        "成文日期2013-07-20",
        "发布日期2013-07-28",
        "有效性有效",
        "编者按：低保工作的总纲。",
        "一、提高认识。",
        "附件：附件1.doc",
    ):
        assert value in first, value


def test_validity_badges_and_missing_documents_are_marked(pdf: PdfReader) -> None:
    labels = pdf.page_labels
    body = {label: squeeze(pdf.pages[i].extract_text()) for i, label in enumerate(labels)}
    abolished = next(t for t in body.values() if ABOLISHED.title in t and "发文字号" in t)
    assert "【本文件已废止】" in abolished and "有效性【废止】" in abolished
    assert "编者按：已被2015年办法替代。" in abolished
    assert "<script>alert(1)</script>" in abolished  # printed as text, not lost
    expired = next(t for t in body.values() if MANY.title in t and "发文字号" in t)
    assert "【本文件已失效】" in expired
    amended = next(t for t in body.values() if "【本文件已修改】" in t)
    assert "正文带控制字符" in amended
    gone = next(t for t in body.values() if "已删除的通知" in t and "文件标识" in t)
    assert "【文件缺失】" in gone and "gone-1" in gone
    valid = next(t for t in body.values() if FULL.title in t and "发文字号" in t)
    assert "【本文件" not in valid


def test_outline_has_sections_with_their_documents(pdf: PdfReader) -> None:
    outline = pdf.outline
    assert [o.title for o in outline if not isinstance(o, list)] == ["一、国家文件", "二、地方文件"]
    assert [o.title for o in outline[1]] == [FULL.title, MANY.title]
    assert len(outline[3]) == 4


def test_empty_booklet_still_has_cover_and_contents(tmp_path: Path) -> None:
    path = export_to_file([], meta(total=0), FORMATS["pdf"], tmp_path / "empty.pdf")
    reader = PdfReader(path)
    text = squeeze("".join(p.extract_text() for p in reader.pages))
    assert "收录文件：0件" in text and "（无文件）" in text
