"""CSV, JSONL and XLSX parsed back and compared with the documents they came from."""

from __future__ import annotations

import csv
import io
import json
from contextlib import closing
from pathlib import Path

from openpyxl import load_workbook

from compilations.export.datasets import XLSX_CELL_LIMIT, csv_chunks, jsonl_chunks, write_xlsx
from compilations.export.records import COLUMNS, ExportItem, flat_record
from gongkai.document import Document
from tests.compilations.export.documents import ABOLISHED, BARE, FULL, HOSTILE, items, meta


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_every_document_field_has_a_column() -> None:
    fields = set(Document.model_fields) - {"topic", "doc_number", "validity"}
    assert fields <= set(COLUMNS)
    assert {"topic_top", "topic_sub", "doc_number", "doc_number_year", "validity"} <= set(COLUMNS)


def test_csv_starts_with_bom_and_parses_back_in_order() -> None:
    data = b"".join(csv_chunks(items(), meta()))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = csv_rows(data)
    assert [r["id"] for r in rows] == [i.doc_id for i in items()]
    first = rows[0]
    assert first["title"] == FULL.title
    assert first["agency"] == "国务院办公厅"
    assert first["doc_number"] == "国办发〔2013〕73号"
    assert (first["doc_number_issuer_code"], first["doc_number_year"]) == ("国办发", "2013")
    assert (first["topic_top"], first["topic_sub"]) == ("民政、扶贫、救灾", "社会救助")
    assert first["subject_words"] == "低保; 社会救助"
    assert (first["date_written"], first["date_published"]) == ("2013-07-20", "2013-07-28")
    assert first["index_number"] == "000014349/2013-00101"
    assert json.loads(first["attachments"])[0]["name"] == "附件1.doc"
    assert json.loads(first["extra"]) == {"source_category": "政策文件"}
    assert first["section"] == "一、国家文件" and first["note"] == "低保工作的总纲。"
    assert first["body"] == FULL.body
    assert rows[2]["agency"] == "示例市民政局; 示例市财政局"
    assert rows[2]["validity"] == "废止"


def test_csv_neutralises_formulas_and_drops_control_characters() -> None:
    rows = csv_rows(b"".join(csv_chunks(items(), meta())))
    hostile = next(r for r in rows if r["id"] == HOSTILE.id)
    assert hostile["title"] == "'" + '=HYPERLINK("http://evil")最低生活保障'
    assert hostile["body"] == "正文带控制字符"


def test_csv_lists_missing_documents_with_their_known_title() -> None:
    rows = csv_rows(b"".join(csv_chunks(items(), meta())))
    gone = rows[-1]
    assert (gone["id"], gone["title"], gone["missing"]) == ("gone-1", "已删除的通知", "true")
    assert gone["doc_number"] == "" and gone["body"] == ""


def test_csv_streams_in_several_chunks() -> None:
    many = [ExportItem(f"d{i}", FULL.model_copy(update={"id": f"d{i}"})) for i in range(120)]
    chunks = list(csv_chunks(many, meta()))
    assert len(chunks) >= 3
    assert len(csv_rows(b"".join(chunks))) == 120


def test_jsonl_keeps_whole_documents_and_source_fields() -> None:
    lines = b"".join(jsonl_chunks(items(), meta())).decode().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == [i.doc_id for i in items()]
    assert records[0]["source_category"] == "政策文件"
    assert records[0]["doc_number"]["serial"] == 73
    assert Document.model_validate(records[2]).validity.status == ABOLISHED.validity.status
    assert "<script>alert(1)</script>" in records[2]["body"]
    assert records[4]["title"] == BARE.title
    assert records[5] == {
        "id": "gone-1",
        "title": "已删除的通知",
        "section": "二、地方文件",
        "note": "",
        "missing": True,
    }


def test_xlsx_rows_match_the_flat_records(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    with path.open("wb") as out:
        write_xlsx(items(), meta(), out)
    # read_only workbooks keep the file open until closed.
    with closing(load_workbook(path, read_only=True)) as book:
        sheet = book["documents"]
        rows = [
            [c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)
        ]
        cells = next(iter(sheet.iter_rows(min_row=5, max_row=5)))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == 1 + len(items())
    for row, it in zip(rows[1:], items(), strict=True):
        expected = flat_record(it)
        assert row[COLUMNS.index("id")] == expected["id"]
        assert row[COLUMNS.index("doc_number")] == expected["doc_number"]
        assert row[COLUMNS.index("validity")] == expected["validity"]
    hostile = rows[1 + 3]
    # A title that looks like a formula stays text, and control characters are gone.
    assert hostile[COLUMNS.index("title")] == '=HYPERLINK("http://evil")最低生活保障'
    assert hostile[COLUMNS.index("body")] == "正文带控制字符"
    assert rows[1 + 4][COLUMNS.index("title")] == BARE.title  # 5,000 characters, whole
    assert cells[COLUMNS.index("title")].data_type == "s"  # not "f" (a formula)


def test_xlsx_cuts_cells_at_excels_limit(tmp_path: Path) -> None:
    huge = FULL.model_copy(update={"body": "字" * (XLSX_CELL_LIMIT + 10)})
    path = tmp_path / "big.xlsx"
    with path.open("wb") as out:
        write_xlsx([ExportItem(huge.id, huge)], meta(), out)
    with closing(load_workbook(path, read_only=True)) as book:
        row = next(iter(book["documents"].iter_rows(min_row=2, values_only=True)))
    assert len(row[COLUMNS.index("body")]) == XLSX_CELL_LIMIT
