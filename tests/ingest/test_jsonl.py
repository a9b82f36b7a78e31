"""JSONL import: field mapping, broken lines, bounded memory, and the real data files."""

from __future__ import annotations

import json
import tracemalloc
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from gongkai.document import Document
from gongkai.settings import Settings
from ingest.base import Problem
from ingest.jsonl import JsonlIngestor
from ingest.manager import read_sources


def _write(path: Path, lines: list[Any]) -> Path:
    text = "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _read(path: Path, settings: Settings) -> tuple[list[Document], list[Problem]]:
    items = list(read_sources([path], settings))
    return (
        [i for i in items if isinstance(i, Document)],
        [i for i in items if isinstance(i, Problem)],
    )


def _one(tmp_path: Path, settings: Settings, record: dict[str, Any]) -> Document:
    docs, problems = _read(_write(tmp_path / "one.jsonl", [record]), settings)
    assert problems == []
    (doc,) = docs
    return doc


# --- field mapping ------------------------------------------------------------------------


def test_text_becomes_body_and_the_id_is_kept(tmp_path: Path, settings: Settings) -> None:
    doc = _one(tmp_path, settings, {"id": "law-1", "title": "某某条例", "text": "第一条 总则"})
    assert (doc.id, doc.title, doc.body) == ("law-1", "某某条例", "第一条 总则")
    assert "text" not in doc.extra_metadata


def test_body_wins_over_text(tmp_path: Path, settings: Settings) -> None:
    doc = _one(tmp_path, settings, {"id": "a", "body": "正文", "text": "另一份文字"})
    assert doc.body == "正文"
    assert doc.extra_metadata["text"] == "另一份文字"


def test_id_from_url_then_from_content(tmp_path: Path, settings: Settings) -> None:
    records = [
        {"url": "http://www.gov.cn/a.htm", "title": "甲"},
        {"title": "乙", "text": "同样的正文", "label": "交通"},
        {"title": "乙", "text": "同样的正文", "label": "教育"},
        {"id": 42, "title": "数字编号"},
    ]
    path = _write(tmp_path / "ids.jsonl", records)
    first, _ = _read(path, settings)
    again, _ = _read(path, settings)
    assert [d.id for d in first] == [d.id for d in again]  # stable across reads
    assert first[0].id.startswith("url-")
    assert first[1].id.startswith("doc-")
    assert first[1].id != first[2].id  # same text, different records
    assert first[3].id == "42"


def test_a_title_is_derived_from_the_body_when_missing(tmp_path: Path, settings: Settings) -> None:
    doc = _one(tmp_path, settings, {"id": "q", "title": "", "text": "\n\n关于低保的咨询\n正文"})
    assert (doc.title, doc.title_derived) == ("关于低保的咨询", True)
    long_message = "领导你好，" + "我们小区门口的路灯坏了很久" * 10 + "。请尽快修理！"
    doc = _one(tmp_path, settings, {"id": "m", "text": long_message})
    assert doc.title == long_message[:80]  # no sentence end within 80 characters
    doc = _one(tmp_path, settings, {"id": "n", "text": "短句。" + "后面很长" * 30})
    assert doc.title == "短句。"  # cut at the first sentence end
    doc = _one(tmp_path, settings, {"id": "t", "title": "已有标题", "text": "正文"})
    assert not doc.title_derived


def test_topic_two_levels(tmp_path: Path, settings: Settings) -> None:
    doc = _one(
        tmp_path,
        settings,
        {"id": "a", "topic": "城乡建设、环境保护\\城市规划", "topic_top": "城乡建设、环境保护"},
    )
    assert doc.topic is not None
    assert (doc.topic.top, doc.topic.sub) == ("城乡建设、环境保护", "城市规划")
    assert "topic_top" not in doc.extra_metadata
    doc = _one(tmp_path, settings, {"id": "b", "topic": "其他"})
    assert doc.topic is not None
    assert (doc.topic.top, doc.topic.sub) == ("其他", None)
    doc = _one(tmp_path, settings, {"id": "c", "topic_top": "国防"})
    assert doc.topic is not None
    assert (doc.topic.top, doc.topic.sub) == ("国防", None)
    doc = _one(tmp_path, settings, {"id": "d", "topic": "国防/国防建设", "topic_top": "外交"})
    assert doc.topic is not None
    assert doc.topic.top == "国防"
    assert doc.extra_metadata["topic_top"] == "外交"  # disagreement kept, not resolved


def test_dates(tmp_path: Path, settings: Settings) -> None:
    doc = _one(
        tmp_path,
        settings,
        {"id": "a", "date_written": "2013年5月1日", "date_published": "2013-05-08"},
    )
    assert (doc.date_written, doc.date_published) == (date(2013, 5, 1), date(2013, 5, 8))
    doc = _one(tmp_path, settings, {"id": "b", "date_written": None, "date_published": ""})
    assert (doc.date_written, doc.date_published) == (None, None)
    assert "date_written_raw" not in doc.extra_metadata
    doc = _one(tmp_path, settings, {"id": "c", "date_written": "五月初", "date_published": 2013})
    assert (doc.date_written, doc.date_published) == (None, None)
    assert doc.extra_metadata["date_written_raw"] == "五月初"
    assert doc.extra_metadata["date_published_raw"] == 2013  # not read as a timestamp


def test_source_aliases(tmp_path: Path, settings: Settings) -> None:
    doc = _one(
        tmp_path,
        settings,
        {"id": "a", "publish_date": "2018-05-24", "crawl_time": "2019-02-17 15:35:13"},
    )
    assert doc.date_published == date(2018, 5, 24)
    assert doc.fetched_at == datetime(2019, 2, 17, 15, 35, 13)
    assert "publish_date" not in doc.extra_metadata
    doc = _one(tmp_path, settings, {"id": "b", "crawl_time": "昨天"})
    assert doc.fetched_at is None
    assert doc.extra_metadata["fetched_at_raw"] == "昨天"


def test_agency_validity_and_document_number(tmp_path: Path, settings: Settings) -> None:
    doc = _one(
        tmp_path,
        settings,
        {
            "id": "a",
            "agency": "北京市医疗保障局、首都之窗",
            "validity": "expired",
            "doc_number": "国发〔2019〕5号",
        },
    )
    assert doc.agency == ["北京市医疗保障局", "首都之窗"]
    assert doc.validity.status == "失效"
    assert doc.doc_number is not None
    assert doc.doc_number.raw == "国发〔2019〕5号"
    doc = _one(tmp_path, settings, {"id": "b", "agency": None, "validity": None})
    assert (doc.agency, doc.validity.status) == ([], "unknown")
    assert (
        _one(tmp_path, settings, {"id": "c", "validity": "in_force_per_source"}).validity.status
        == "有效"
    )


def test_attachments(tmp_path: Path, settings: Settings) -> None:
    doc = _one(
        tmp_path,
        settings,
        {
            "id": "a",
            "attachments": [
                {"mark": "附件1-名单", "link": "http://x/1.xls"},
                {"name": "附件2", "url": "http://x/2.doc"},
                "附件3-说明",
            ],
        },
    )
    assert [(a.name, a.url) for a in doc.attachments] == [
        ("附件1-名单", "http://x/1.xls"),
        ("附件2", "http://x/2.doc"),
        ("附件3-说明", None),
    ]
    doc = _one(tmp_path, settings, {"id": "b", "attachments": [{"size": 3}]})
    assert doc.attachments == []
    assert doc.extra_metadata["attachments_raw"] == [{"size": 3}]


def test_unknown_fields_are_kept_as_they_came(tmp_path: Path, settings: Settings) -> None:
    record = {
        "id": "a",
        "source_path": "DLC/上海地方法规/某条例(2018-05-24).md",  # not replaced by ours
        "label": "地方性法规/上海",
        "info": ["2012年4月19日 通过"],
        "province": None,
        "nested": {"k": [1, 2]},
    }
    extra = _one(tmp_path, settings, record).extra_metadata
    kept = ("source_path", "label", "info", "province", "nested")
    assert {k: extra[k] for k in kept} == {k: record[k] for k in kept}
    assert extra["ingested_from"] == str((tmp_path / "one.jsonl").resolve())


def test_record_with_only_html(tmp_path: Path, settings: Settings) -> None:
    html = (
        "<table><tr><td>发文字号：</td><td>国发〔2019〕5号</td></tr></table>"
        "<div id='UCAP-CONTENT'><p>第一段。</p><p>第二段。</p></div>"
    )
    doc = _one(tmp_path, settings, {"id": "a", "title": "标题", "html": html})
    assert doc.body == "第一段。\n第二段。"
    assert doc.doc_number is not None
    assert doc.doc_number.raw == "国发〔2019〕5号"


def test_exported_documents_read_back_unchanged(tmp_path: Path, settings: Settings) -> None:
    original = Document(
        id="x1",
        url="http://www.gov.cn/x1.htm",
        title="关于某事的通知",
        body="正文",
        agency=["国务院", "中央军委"],
        doc_number="国发〔2019〕5号",
        topic="国防/国防建设",
        subject_words=["国防"],
        date_written=date(2019, 1, 2),
        date_published=date(2019, 1, 3),
        validity="废止",
        attachments=[{"name": "附件", "url": "http://x/a.doc"}],
        references=[{"kind": "abolishes", "doc_number": "国发〔2001〕1号"}],
        fetched_at=datetime(2020, 1, 1, 8, 0),
        label="自定义",
    )
    path = tmp_path / "export.jsonl"
    path.write_text(original.model_dump_json() + "\n", encoding="utf-8")
    (doc,), _ = _read(path, settings)
    dumped = doc.model_dump()
    assert dumped.pop("ingested_from") == str(path.resolve())
    assert dumped == original.model_dump()


# --- broken input -------------------------------------------------------------------------


def test_broken_lines_are_reported_and_the_rest_loads(tmp_path: Path, settings: Settings) -> None:
    path = _write(
        tmp_path / "broken.jsonl",
        [
            {"id": "1", "text": "第一条"},
            "",
            '{"id": "3", "text": "没有结束的引号}',
            {"id": "4", "text": "第四行"},
            '["一个", "数组"]',
            {"id": "6", "title": ["标题不该是列表"]},
            {"id": "7", "text": "第七行"},
            {},
            {"id": True},
        ],
    )
    docs, problems = _read(path, settings)
    assert [d.id for d in docs] == ["1", "4", "7"]
    assert [(p.line, p.kind) for p in problems] == [
        (3, "BadRecord"),
        (5, "BadRecord"),
        (6, "BadRecord"),
        (8, "DropItem"),
        (9, "BadRecord"),
    ]
    assert str(problems[0]).startswith(f"{path}:3: invalid JSON")
    assert "title" in problems[2].message


def test_lone_surrogate_escapes_become_replacement_characters(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "surrogates.jsonl"
    path.write_text(
        '{"id": "1", "title": "低保\\ud800通知", "text": "正文", "tags": ["\\udc00"]}\n'
        '{"id": "2", "title": "表情\\ud83d\\ude00", "html": "<p>\\ud800正文</p>"}\n',
        encoding="utf-8",
    )
    docs, problems = _read(path, settings)
    assert problems == []
    assert docs[0].title == "低保\ufffd通知"
    assert docs[1].title == "表情\U0001f600"  # a proper pair is one character, untouched
    assert "正文" in docs[1].body
    for doc in docs:
        doc.model_dump_json().encode("utf-8")  # nothing left that cannot be encoded


def test_a_line_that_is_not_utf8(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "mixed.jsonl"
    good = json.dumps({"id": "1", "text": "正文"}, ensure_ascii=False).encode()
    bad = json.dumps({"id": "2", "text": "正文"}, ensure_ascii=False).encode("gbk")
    path.write_bytes(good + b"\n" + bad + b"\n" + good.replace(b'"1"', b'"3"') + b"\n")
    docs, problems = _read(path, settings)
    assert [d.id for d in docs] == ["1", "3"]
    assert [(p.line, p.kind) for p in problems] == [(2, "UndecodableFile")]


def test_a_gbk_file_is_one_problem_not_one_per_line(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "gbk.jsonl"
    lines = [json.dumps({"id": str(i), "text": "正文"}, ensure_ascii=False) for i in range(50)]
    path.write_bytes("\n".join(lines).encode("gbk"))
    docs, problems = _read(path, settings)
    assert docs == []
    (problem,) = problems
    assert (problem.line, problem.kind) == (None, "UndecodableFile")
    assert "UTF-8" in problem.message


def test_byte_order_mark_on_the_first_line(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "1", "text": "x"}).encode() + b"\r\n")
    docs, problems = _read(path, settings)
    assert ([d.id for d in docs], problems) == (["1"], [])


def test_a_line_over_the_cap_is_skipped_unread(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "state", max_file_bytes=1024)
    path = _write(
        tmp_path / "big.jsonl",
        [{"id": "1", "text": "短"}, {"id": "2", "text": "长" * 2000}, {"id": "3", "text": "短"}],
    )
    assert path.stat().st_size > settings.max_file_bytes  # the file itself is over the cap
    docs, problems = _read(path, settings)
    assert [d.id for d in docs] == ["1", "3"]
    assert [(p.line, p.kind) for p in problems] == [(2, "FileTooLarge")]
    assert "1.0 KB cap" in problems[0].message


def test_memory_stays_bounded_on_a_large_file(tmp_path: Path) -> None:
    # 24 records of 1 MB of Chinese text: the peak must stay near one record, not the file.
    settings = Settings(data_dir=tmp_path / "state", max_file_bytes=4 * 2**20)
    path = tmp_path / "large.jsonl"
    body = "政府信息公开" * (2**20 // 18)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(24):
            handle.write(json.dumps({"id": str(i), "text": body}, ensure_ascii=False) + "\n")
    size = path.stat().st_size
    assert size > 20 * 2**20
    tracemalloc.start()
    try:
        count = sum(isinstance(item, Document) for item in read_sources([path], settings))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 24
    assert peak < size / 3, f"peak {peak / 2**20:.1f} MB for a {size / 2**20:.1f} MB file"


def test_estimate_counts_lines(tmp_path: Path, settings: Settings) -> None:
    path = _write(tmp_path / "n.jsonl", [{"id": str(i)} for i in range(7)])
    assert JsonlIngestor(settings).estimate(path) == 7
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    assert JsonlIngestor(settings).estimate(path) == 7


# --- the real data ------------------------------------------------------------------------

REAL_FILES = [
    "lawrefbook.dev.jsonl",
    "msga_govqa.corpus.jsonl",
    "msga_govqa.dev.jsonl",
    "msga_messages.dev.jsonl",
    "govdocs_small.dev.jsonl",
    "govdoc_metadata.dev.jsonl",
]


# Record fields that become Document fields; every other field must come through unchanged.
MAPPED = {
    "id", "url", "source", "title", "text", "body", "agency", "doc_number", "index_number",
    "topic", "topic_top", "date_written", "date_published", "publish_date", "crawl_time",
    "validity", "attachments",
}  # fmt: skip


@pytest.mark.realdata
@pytest.mark.parametrize("name", REAL_FILES)
def test_real_file_loads_completely(name: str, shared_data: Path) -> None:
    path = shared_data / name
    settings = Settings(data_dir=Path("unused"))
    with path.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    docs, problems = _read(path, settings)
    assert problems == []
    assert [d.id for d in docs] == [r["id"] for r in records]
    for doc, record in zip(docs, records, strict=True):
        if record.get("title"):
            assert doc.title == record["title"]
        elif record.get("text"):
            assert doc.title_derived
            assert doc.title
        assert doc.body == (record.get("text") or "")
        for key in record.keys() - MAPPED:
            assert doc.extra_metadata[key] == record[key], key  # kept as it came


@pytest.mark.realdata
def test_real_lawrefbook_validity_and_dates(shared_data: Path) -> None:
    docs, _ = _read(shared_data / "lawrefbook.dev.jsonl", Settings(data_dir=Path("unused")))
    statuses = Counter(d.validity.status for d in docs)
    assert set(statuses) <= {"有效", "失效", "unknown"}
    assert statuses["失效"] > 0
    assert statuses["有效"] > 10 * statuses["失效"]
    assert sum(d.date_published is not None for d in docs) > 0.9 * len(docs)


@pytest.mark.realdata
def test_real_govdocs_topics_split_in_two_levels(shared_data: Path) -> None:
    docs, _ = _read(shared_data / "govdocs_small.dev.jsonl", Settings(data_dir=Path("unused")))
    with_topic = [d for d in docs if d.topic is not None]
    assert len(with_topic) >= 40
    for doc in with_topic:
        assert doc.topic is not None
        assert doc.topic.top
        assert "\\" not in doc.topic.top
        assert "topic_top" not in doc.extra_metadata  # always agrees with the topic here
    assert sum(d.fetched_at is not None for d in docs) == len(with_topic)
    assert all(d.date_published is not None for d in docs)
