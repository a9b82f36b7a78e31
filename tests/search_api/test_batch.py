from __future__ import annotations

import csv
import io
from pathlib import Path

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from engines.tantivy_backend import TantivyBackend
from gongkai.document import Document
from gongkai.pipeline import IngestPipeline
from search_api.batch import COLUMNS, read_queries, write_hits
from search_api.service import SearchService


def test_queries_from_text_and_csv(tmp_path: Path) -> None:
    text = tmp_path / "q.txt"
    text.write_text("低保\n\n 医保 \n", encoding="utf-8")
    assert list(read_queries(text)) == ["低保", "医保"]
    with_header = tmp_path / "q.csv"
    with_header.write_text("id,query\n1,低保\n2,\n3,公积金\n", encoding="utf-8")
    assert list(read_queries(with_header)) == ["低保", "公积金"]
    bare = tmp_path / "bare.csv"
    bare.write_text("低保\n医保\n", encoding="utf-8")
    assert list(read_queries(bare)) == ["低保", "医保"]


def test_hits_written_as_csv(tmp_path: Path, tokenizer: GovTokenizer) -> None:
    backend = TantivyBackend(tmp_path)
    docs = [
        Document(id="a", title="最低生活保障办法", body="低保, 含逗号", agency="民政局、财政局"),
        Document(id="b", title="公积金", body="住房公积金"),
    ]
    IngestPipeline(DocumentAnalyzer(tokenizer), backend).run(docs)
    out = io.StringIO()
    rows = write_hits(SearchService(backend, tokenizer), iter(["低保", "公积金", "无此词"]), out)
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows == 2 == len(table)
    assert tuple(table[0]) == COLUMNS
    assert (table[0]["query"], table[0]["id"], table[0]["agency"]) == (
        "低保",
        "a",
        "民政局、财政局",
    )
    assert table[1]["id"] == "b"
