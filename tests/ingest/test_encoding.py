"""Decoding: the encodings Chinese government files come in, lying declarations, binary files."""

from __future__ import annotations

import codecs
import random
from pathlib import Path

import pytest

from gongkai.document import Document
from gongkai.settings import Settings
from ingest.base import UndecodableFile
from ingest.manager import read_sources
from ingest.support.encoding import decode_bytes

SIMPLIFIED = (
    "国务院办公厅关于加强三级公立医院绩效考核工作的意见\n"
    "各省、自治区、直辖市人民政府，国务院各部委、各直属机构：\n"
    "为进一步深化公立医院改革，推进现代医院管理制度建设，经国务院同意，现提出以下意见。\n"
)
TRADITIONAL = (
    "國務院辦公廳關於加強三級公立醫院績效考核工作的意見\n"
    "各省、自治區、直轄市人民政府，國務院各部委、各直屬機構：\n"
    "為進一步深化公立醫院改革，推進現代醫院管理制度建設，經國務院同意，現提出以下意見。\n"
)


def test_plain_utf8() -> None:
    decoded = decode_bytes(SIMPLIFIED.encode("utf-8"))
    assert (decoded.text, decoded.encoding, decoded.how) == (SIMPLIFIED, "utf-8", "utf-8")


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (b"\x84\x31\x95\x33", "gb18030"),
    ],
)
def test_byte_order_mark_decides(bom: bytes, codec: str) -> None:
    decoded = decode_bytes(bom + SIMPLIFIED.encode(codec))
    assert decoded.text == SIMPLIFIED
    assert decoded.how == "bom"


def test_gbk_file_is_detected() -> None:
    decoded = decode_bytes(SIMPLIFIED.encode("gbk"))
    assert decoded.text == SIMPLIFIED
    assert decoded.encoding == "gb18030"  # GB18030 reads everything GBK wrote
    assert decoded.how == "detected"


def test_gb18030_only_characters() -> None:
    # 㐀 (U+3400) and 䶮 exist in GB18030 but not in GBK.
    text = SIMPLIFIED + "人名用字：㐀、䶮。\n"
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    assert decode_bytes(text.encode("gb18030")).text == text


def test_big5_file_is_detected() -> None:
    decoded = decode_bytes(TRADITIONAL.encode("big5"))
    assert decoded.text == TRADITIONAL
    assert decoded.encoding == "big5"


def test_short_ambiguous_text_prefers_gb18030() -> None:
    # "关于印发通知" in GBK is also valid Big5 (as other characters); GB is far more likely.
    assert decode_bytes("关于印发通知".encode("gbk")).text == "关于印发通知"


def test_utf16_without_bom() -> None:
    text = "Index 2019 国务院 document list\n" * 5
    assert decode_bytes(text.encode("utf-16-le")).text == text


def test_declared_charset_is_used() -> None:
    page = '<html><head><meta charset="gb2312"></head><body><p>' + SIMPLIFIED + "</p>"
    decoded = decode_bytes(page.encode("gb18030"), markup=True)
    assert decoded.text == page
    assert (decoded.encoding, decoded.how) == ("gb18030", "declared")


def test_http_equiv_and_xml_declarations() -> None:
    http_equiv = '<meta http-equiv="Content-Type" content="text/html; charset=GBK"><p>' + SIMPLIFIED
    assert decode_bytes(http_equiv.encode("gbk"), markup=True).how == "declared"
    xml = '<?xml version="1.0" encoding="big5"?><html><p>' + TRADITIONAL
    decoded = decode_bytes(xml.encode("big5"), markup=True)
    assert (decoded.text, decoded.how) == (xml, "declared")


def test_declared_gb2312_but_actually_utf8() -> None:
    page = '<meta charset="gb2312"><p>' + SIMPLIFIED
    decoded = decode_bytes(page.encode("utf-8"), markup=True)
    assert decoded.text == page  # not the GB18030 mojibake the declaration would give
    assert decoded.encoding == "utf-8"


def test_declared_utf8_but_actually_gbk() -> None:
    page = '<meta charset="utf-8"><p>' + SIMPLIFIED
    decoded = decode_bytes(page.encode("gbk"), markup=True)
    assert decoded.text == page
    assert (decoded.encoding, decoded.how) == ("gb18030", "detected")


def test_declaration_ignored_outside_markup() -> None:
    # A .txt that happens to contain a meta tag is not a web page.
    text = '<meta charset="big5">' + SIMPLIFIED
    assert decode_bytes(text.encode("utf-8")).text == text


def test_latin1_declaration_is_not_trusted() -> None:
    # Old Chinese sites often declare iso-8859-1; latin-1 would "decode" anything as mojibake.
    page = '<meta charset="iso-8859-1"><p>' + SIMPLIFIED
    assert decode_bytes(page.encode("gbk"), markup=True).text == page


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "OLE"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG"),
    ],
)
def test_binary_signatures_are_rejected(data: bytes, what: str) -> None:
    with pytest.raises(UndecodableFile, match=what):
        decode_bytes(data + bytes(range(256)) * 4, markup=True)


def test_nul_bytes_mean_binary() -> None:
    rng = random.Random(7)
    data = bytes(rng.randrange(256) for _ in range(4096))
    with pytest.raises(UndecodableFile, match="NUL"):
        decode_bytes(data)


def test_random_high_bytes_are_rejected_not_garbled() -> None:
    rng = random.Random(11)
    data = bytes(rng.randrange(1, 256) for _ in range(20_000))
    with pytest.raises(UndecodableFile):
        decode_bytes(data)


def test_latin1_text_is_rejected_not_garbled() -> None:
    with pytest.raises(UndecodableFile, match="convert the file to UTF-8"):
        decode_bytes("Il était une fois à Paris, déjà été.".encode("latin-1"))


def test_mostly_control_characters_is_rejected() -> None:
    # Valid UTF-8, but not text.
    with pytest.raises(UndecodableFile, match="control"):
        decode_bytes(b"\x01\x02\x03\x04\x05\x06ab" * 100)


def test_a_few_replacement_characters_are_tolerated() -> None:
    # Crawlers leave the odd U+FFFD in real pages; the text is still worth indexing.
    text = SIMPLIFIED + "\ufffd"
    assert decode_bytes(text.encode("utf-8")).text == text


@pytest.mark.parametrize("codec", ["gbk", "gb18030", "big5"])
def test_legacy_files_read_through_the_manager(
    codec: str, tmp_path: Path, settings: Settings
) -> None:
    text = TRADITIONAL if codec == "big5" else SIMPLIFIED
    (tmp_path / "doc.txt").write_bytes(text.encode(codec))
    paragraphs = "".join(f"<p>{line}</p>" for line in text.splitlines())
    (tmp_path / "page.html").write_bytes(f"<html><body>{paragraphs}</body></html>".encode(codec))
    items = list(read_sources([tmp_path], settings))
    docs = [i for i in items if isinstance(i, Document)]
    assert len(docs) == len(items) == 2
    first_line = text.splitlines()[0]
    assert [d.title for d in docs] == [first_line, first_line]
    assert all(d.body.startswith(first_line) for d in docs)
    assert {d.extra_metadata["source_encoding"] for d in docs} == {
        "big5" if codec == "big5" else "gb18030"
    }
