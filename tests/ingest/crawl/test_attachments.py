"""Attachment text: real DOCX files built here, and hostile archives that must be refused
without inflating them (the document keeps its other content)."""

from __future__ import annotations

import io
import zipfile

import docx

from ingest.crawl.attachments import check_archive_size, extract_text


def _docx_bytes(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _bomb(unpacked_bytes: int) -> bytes:
    """A DOCX-shaped zip whose document part is zeros: tiny on the wire, huge unpacked."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            chunk = b"\0" * 2**20
            for _ in range(unpacked_bytes // len(chunk)):
                part.write(chunk)
    return buffer.getvalue()


def test_docx_text_is_read() -> None:
    result = extract_text("https://example.gov.cn/a.docx", "", _docx_bytes("附件一：申请表"))
    assert result.kind == "docx"
    assert result.text == "附件一：申请表"
    assert result.error is None


def test_a_zip_bomb_is_refused_with_a_clear_error() -> None:
    data = _bomb(300 * 2**20)
    assert len(data) < 2 * 2**20
    result = extract_text("https://example.gov.cn/bomb.docx", "", data)
    assert result.kind == "docx"
    assert result.text is None
    assert result.error is not None and "ZipBombError" in result.error


def test_a_high_ratio_archive_under_the_size_cap_is_refused() -> None:
    data = _bomb(64 * 2**20)
    assert check_archive_size(data, max_unpacked=2**30, max_ratio=1e9) is None
    result = extract_text("https://example.gov.cn/ratio.docx", "", data)
    assert result.error is not None and "expand" in result.error


def test_a_broken_archive_is_an_error_not_an_exception() -> None:
    result = extract_text("https://example.gov.cn/x.docx", "", b"PK\x03\x04" + b"\x00" * 100)
    assert result.text is None
