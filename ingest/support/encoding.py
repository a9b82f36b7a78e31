"""Bytes -> text for files whose encoding nobody wrote down reliably (cf. ingest-file's
``support/encoding.py``).

Order: binary signatures and NUL bytes (rejected), byte-order mark, the page's own declaration
(HTML only), strict UTF-8, then charset-normalizer limited to the encodings Chinese government
files actually use. Every decode is strict and the result must look like text: a file we cannot
decode cleanly raises `UndecodableFile` rather than entering the index garbled.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Literal

from charset_normalizer import from_bytes

from ingest.base import UndecodableFile

How = Literal["bom", "declared", "utf-8", "utf-16", "detected"]

# Python codec names charset-normalizer may choose from, in the order a tie is broken: mainland
# pages are GB far more often than Big5, and short GB text often also decodes as Big5.
DETECTABLE = ("utf_8", "gb18030", "big5", "utf_16")

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (b"\x84\x31\x95\x33", "gb18030"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# First bytes of formats that are never text, whatever the file is called.
_BINARY_SIGNATURES = {
    b"%PDF-": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (or DOCX/XLSX)",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "an OLE document (DOC/XLS)",
    b"\x89PNG\r\n\x1a\n": "a PNG image",
    b"GIF87a": "a GIF image",
    b"GIF89a": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "gzip data",
    b"7z\xbc\xaf\x27\x1c": "a 7z archive",
    b"Rar!\x1a\x07": "a RAR archive",
    b"\x7fELF": "an executable",
    b"SQLite format 3\x00": "an SQLite database",
}

# Declared names -> the codec that decodes everything written under that name. GB2312 and GBK
# pages routinely contain characters only their superset GB18030 has.
_DECLARED = {
    **dict.fromkeys(
        (
            "gb2312",
            "gbk",
            "gb18030",
            "x-gbk",
            "cp936",
            "ms936",
            "windows-936",
            "gb_2312-80",
            "gb_2312",
            "csgb2312",
            "euc-cn",
            "chinese",
        ),
        "gb18030",
    ),
    **dict.fromkeys(("big5", "big-5", "cn-big5", "csbig5", "x-x-big5", "cp950"), "big5"),
    "big5-hkscs": "big5hkscs",
    **dict.fromkeys(("utf-8", "utf8", "unicode-1-1-utf-8"), "utf-8"),
    **dict.fromkeys(("utf-16", "utf-16le", "utf-16be"), "utf-16"),
}
# Anything else declared (iso-8859-1, windows-1252 ...) is ignored: on Chinese sites such a
# declaration is almost always a server default that lies, and latin-1 decodes any bytes.

_DECLARATION = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)"""
    rb"""|<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""",
    re.IGNORECASE,
)
_SNIFF_BYTES = 8192

# Replacement characters, C0/C1 controls (not whitespace) and the private use area: what
# binary data or a wrong legacy codec leaves behind.
_NOT_TEXT = re.compile("[\ufffd\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ue000-\uf8ff]")
MAX_NOT_TEXT_RATIO = 0.1


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    how: How


def decode_bytes(data: bytes, *, markup: bool = False, declared: str | None = None) -> Decoded:
    """Decode ``data`` or raise `UndecodableFile`; ``markup`` honours <meta charset> and <?xml>.

    ``declared`` is a charset from outside the bytes (an HTTP ``Content-Type`` header); like a
    browser, it outranks the page's own <meta> declaration, and it is checked the same way.
    """
    _reject_binary_signature(data)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _strict(data[len(bom) :], encoding, "bom")
    if b"\x00" in data:
        return _decode_utf16_without_bom(data)

    utf8 = _try(data, "utf-8")
    codec = codec_for(declared) if declared else None
    if codec in (None, "utf-8") and markup:
        # A header's "utf-8" is often a server default: the page's own legacy declaration
        # still counts when the bytes are not UTF-8.
        codec = _declared_encoding(data[:_SNIFF_BYTES]) or codec
    if codec and codec != "utf-8":
        # Valid UTF-8 with non-ASCII bytes is practically never legacy CJK text by accident,
        # whereas a page saved as UTF-8 that keeps its old "gb2312" declaration is common.
        if utf8 is not None and not data.isascii():
            return _checked(utf8, "utf-8", "utf-8")
        text = _try(data, codec)
        if text is not None and _looks_like_text(text):
            return Decoded(text, codec, "declared")
    if utf8 is not None:
        return _checked(utf8, "utf-8", "utf-8")
    return _detect(data)


def _reject_binary_signature(data: bytes) -> None:
    for signature, what in _BINARY_SIGNATURES.items():
        if data.startswith(signature):
            raise UndecodableFile(f"not a text file: looks like {what}")


def codec_for(name: str) -> str | None:
    """The codec to use for a declared charset name (``'GB2312'`` -> ``'gb18030'``), or None
    for names that are ignored (see `_DECLARED`)."""
    return _DECLARED.get(name.strip().strip("\"'").lower())


def _declared_encoding(head: bytes) -> str | None:
    for match in _DECLARATION.finditer(head):
        name = (match.group(1) or match.group(2)).decode("ascii").lower()
        if name in _DECLARED:
            return _DECLARED[name]
    return None


def _decode_utf16_without_bom(data: bytes) -> Decoded:
    # UTF-16 text with Latin characters has NULs on one side of each pair; binary data has
    # them anywhere.
    sample = data[:_SNIFF_BYTES]
    even = sum(1 for i in range(0, len(sample), 2) if sample[i] == 0)
    odd = sum(1 for i in range(1, len(sample), 2) if sample[i] == 0)
    if odd > 10 * even and len(data) % 2 == 0:
        return _strict(data, "utf-16-le", "utf-16")
    if even > 10 * odd and len(data) % 2 == 0:
        return _strict(data, "utf-16-be", "utf-16")
    raise UndecodableFile("not a text file: contains NUL bytes")


def _detect(data: bytes) -> Decoded:
    matches = list(from_bytes(data, cp_isolation=list(DETECTABLE)))
    # Short texts get equal chaos/coherence under GB18030 and Big5: break ties by prior.
    matches.sort(key=lambda m: (round(m.chaos, 2), -round(m.coherence, 2), _prior(m.encoding)))
    for match in matches:
        text = _try(data, match.encoding)
        if text is not None and _looks_like_text(text):
            return Decoded(text, match.encoding.replace("_", "-"), "detected")
    raise UndecodableFile(
        "cannot tell the text encoding (not UTF-8, GB18030, Big5 or UTF-16); "
        "convert the file to UTF-8"
    )


def _prior(encoding: str) -> int:
    return DETECTABLE.index(encoding) if encoding in DETECTABLE else len(DETECTABLE)


def _try(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _strict(data: bytes, encoding: str, how: How) -> Decoded:
    text = _try(data, encoding)
    if text is None:
        raise UndecodableFile(f"the bytes are not valid {encoding} (as its {how} says)")
    return _checked(text, encoding, how)


def _checked(text: str, encoding: str, how: How) -> Decoded:
    if not _looks_like_text(text):
        raise UndecodableFile(
            f"decodes as {encoding} but is mostly control or replacement characters"
        )
    return Decoded(text, encoding, how)


def _looks_like_text(text: str) -> bool:
    if not text:
        return True
    return len(_NOT_TEXT.findall(text)) <= MAX_NOT_TEXT_RATIO * len(text)


class EncodingMixin:
    """For ingestors that read text files: `decode` with the rules above."""

    def decode(self, data: bytes, *, markup: bool = False, declared: str | None = None) -> Decoded:
        return decode_bytes(data, markup=markup, declared=declared)
