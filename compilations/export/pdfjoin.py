"""Join PDF files into one, streaming: each part's pages and the objects they use are copied to
the output as they are read, so memory holds one part, never the whole joined document
(pypdf's ``PdfWriter`` keeps every page object until it writes; for a 10,000-document
booklet that was most of the export's memory, see bench/export.py).

The output gets a flat page tree, an outline (bookmarks) of sections and documents, and page
labels. Parts are expected to be simple (as reportlab writes them): no outlines, links or
forms of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    EncodedStreamObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
    StreamObject,
    TextStringObject,
)

_CATALOG, _PAGES = 1, 2


@dataclass(frozen=True)
class Bookmark:
    level: int  # 0: top level (a section), 1: under the last level-0 bookmark
    title: str
    page_index: int  # 0-based index in the joined document


def _ref(number: int) -> IndirectObject:
    return IndirectObject(number, 0, None)  # no reader: these are only written, never resolved


class PdfJoiner:
    """Append parts with `add`, then `finish` writes outline, page tree and cross-references."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.offsets: dict[int, int] = {}
        self.last_number = _PAGES
        self.page_numbers: list[int] = []
        self.start = out.tell()
        out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    def _allocate(self) -> int:
        self.last_number += 1
        return self.last_number

    def _write(self, number: int, obj: PdfObject) -> None:
        self.offsets[number] = self.out.tell() - self.start
        self.out.write(f"{number} 0 obj\n".encode())
        obj.write_to_stream(self.out)
        self.out.write(b"\nendobj\n")

    def add(self, path: Path) -> int:
        """Copy every page of ``path``; returns how many pages it had."""
        reader = PdfReader(path)
        renumbered: dict[int, int] = {}
        pending: list[IndirectObject] = []

        def copy(obj: Any) -> Any:
            if isinstance(obj, IndirectObject):
                if obj.idnum not in renumbered:
                    renumbered[obj.idnum] = self._allocate()
                    pending.append(obj)
                return _ref(renumbered[obj.idnum])
            if isinstance(obj, StreamObject):
                # The encoded bytes are copied as they are (no decompress/recompress).
                stream = (
                    EncodedStreamObject()
                    if isinstance(obj, EncodedStreamObject)
                    else DecodedStreamObject()
                )
                stream._data = obj._data
                for key, value in obj.items():
                    if key != "/Length":
                        stream[NameObject(key)] = copy(value)
                return stream
            if isinstance(obj, DictionaryObject):
                copied = DictionaryObject()
                for key, value in obj.items():
                    copied[NameObject(key)] = copy(value)
                return copied
            if isinstance(obj, ArrayObject):
                return ArrayObject(copy(value) for value in obj)
            return obj

        pages = list(reader.pages)
        for page in pages:
            if page.indirect_reference is not None:
                renumbered[page.indirect_reference.idnum] = self._allocate()
        for page in pages:
            assert page.indirect_reference is not None
            number = renumbered[page.indirect_reference.idnum]
            copied = DictionaryObject()
            for key, value in page.items():
                if key != "/Parent":
                    copied[NameObject(key)] = copy(value)
            copied[NameObject("/Parent")] = _ref(_PAGES)
            self._write(number, copied)
            self.page_numbers.append(number)
            while pending:
                reference = pending.pop()
                self._write(renumbered[reference.idnum], copy(reference.get_object()))
        return len(pages)

    def _outline(self, bookmarks: Sequence[Bookmark]) -> int | None:
        if not bookmarks:
            return None
        root = self._allocate()
        # (object number, bookmark, children's object numbers)
        tree: list[tuple[int, Bookmark, list[int]]] = []
        section: list[int] | None = None  # children of the last top-level bookmark
        for bookmark in bookmarks:
            number = self._allocate()
            kids: list[int] = []
            if bookmark.level == 0:
                section = kids
            elif section is not None:
                section.append(number)
            tree.append((number, bookmark, kids))
        children = {c for _, _, kids in tree for c in kids}
        top = [n for n, _, _ in tree if n not in children]
        parents = {c: n for n, _, kids in tree for c in kids}
        siblings = {n: kids for n, _, kids in tree}
        siblings[root] = top
        for number, bookmark, kids in tree:
            parent = parents.get(number, root)
            group = siblings[parent]
            at = _position(group, number)
            entry = DictionaryObject(
                {
                    NameObject("/Title"): TextStringObject(bookmark.title),
                    NameObject("/Parent"): _ref(parent),
                    NameObject("/Dest"): ArrayObject(
                        [
                            _ref(self.page_numbers[bookmark.page_index]),
                            NameObject("/Fit"),
                        ]
                    ),
                }
            )
            if at > 0:
                entry[NameObject("/Prev")] = _ref(group[at - 1])
            if at + 1 < len(group):
                entry[NameObject("/Next")] = _ref(group[at + 1])
            if kids:
                entry[NameObject("/First")] = _ref(kids[0])
                entry[NameObject("/Last")] = _ref(kids[-1])
                entry[NameObject("/Count")] = NumberObject(len(kids))
            self._write(number, entry)
        self._write(
            root,
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Outlines"),
                    NameObject("/First"): _ref(top[0]),
                    NameObject("/Last"): _ref(top[-1]),
                    NameObject("/Count"): NumberObject(len(top)),
                }
            ),
        )
        return root

    def finish(self, bookmarks: Sequence[Bookmark], front_pages: int, title: str) -> None:
        """Write outline, page tree, page labels (front matter i, ii, ...; body 1, 2, ...),
        document information and the cross-reference table."""
        outline = self._outline(bookmarks)
        self._write(
            _PAGES,
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Pages"),
                    NameObject("/Kids"): ArrayObject(_ref(n) for n in self.page_numbers),
                    NameObject("/Count"): NumberObject(len(self.page_numbers)),
                }
            ),
        )
        labels = ArrayObject(
            [NumberObject(0), DictionaryObject({NameObject("/S"): NameObject("/r")})]
        )
        if len(self.page_numbers) > front_pages:
            labels += [
                NumberObject(front_pages),
                DictionaryObject(
                    {NameObject("/S"): NameObject("/D"), NameObject("/St"): NumberObject(1)}
                ),
            ]
        catalog = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Catalog"),
                NameObject("/Pages"): _ref(_PAGES),
                NameObject("/PageLabels"): DictionaryObject({NameObject("/Nums"): labels}),
            }
        )
        if outline is not None:
            catalog[NameObject("/Outlines")] = _ref(outline)
            catalog[NameObject("/PageMode")] = NameObject("/UseOutlines")
        self._write(_CATALOG, catalog)
        info = self._allocate()
        self._write(
            info,
            DictionaryObject(
                {
                    NameObject("/Title"): TextStringObject(title),
                    NameObject("/Creator"): TextStringObject("Gongkai"),
                    NameObject("/Producer"): TextStringObject("Gongkai (reportlab, pypdf)"),
                }
            ),
        )
        xref = self.out.tell() - self.start
        size = self.last_number + 1
        lines = [f"xref\n0 {size}\n", "0000000000 65535 f \n"]
        lines += [f"{self.offsets[n]:010d} 00000 n \n" for n in range(1, size)]
        self.out.write("".join(lines).encode("ascii"))
        self.out.write(b"trailer\n")
        DictionaryObject(
            {
                NameObject("/Size"): NumberObject(size),
                NameObject("/Root"): _ref(_CATALOG),
                NameObject("/Info"): _ref(info),
            }
        ).write_to_stream(self.out)
        self.out.write(f"\nstartxref\n{xref}\n%%EOF\n".encode("ascii"))


def _position(group: list[int], number: int) -> int:
    # Sibling lists are in increasing object number order: binary search, not list.index.
    low, high = 0, len(group)
    while low < high:
        middle = (low + high) // 2
        if group[middle] < number:
            low = middle + 1
        else:
            high = middle
    return low
