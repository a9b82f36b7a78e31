"""The manager: walking folders, choosing ingestors by score, size caps, stable ids."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gongkai.document import Document
from gongkai.settings import Settings
from ingest.base import BY_EXTENSION, Ingestor, Problem
from ingest.manager import count_items, iter_files, read_sources
from ingest.support.manifest import ManifestEntry
from ingest.text_file import TextFileIngestor

NOTICE = "北京市人民政府关于做好春节期间工作的通知\n各区人民政府：\n现将有关事项通知如下。\n"


def _split(items: Iterator[Document | Problem]) -> tuple[list[Document], list[Problem]]:
    collected = list(items)
    return (
        [i for i in collected if isinstance(i, Document)],
        [i for i in collected if isinstance(i, Problem)],
    )


def _tree(root: Path) -> Path:
    (root / "b").mkdir(parents=True)
    (root / "a" / "deeper").mkdir(parents=True)
    (root / ".hidden").mkdir()
    (root / "z.txt").write_text(NOTICE, encoding="utf-8")
    (root / "b" / "page.html").write_text(
        "<html><head><title>某某通知_北京市人民政府</title></head>"
        "<body><div class='article'><p>正文第一段。</p></div></body></html>",
        encoding="utf-8",
    )
    (root / "a" / "deeper" / "records.jsonl").write_text(
        json.dumps({"id": "r1", "title": "记录一"}, ensure_ascii=False)
        + "\n"
        + json.dumps({"id": "r2", "title": "记录二"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    (root / "a" / "notes.txt").write_text("第二个文本\n内容", encoding="utf-8")
    (root / ".secret.txt").write_text("隐藏文件", encoding="utf-8")
    (root / ".hidden" / "x.txt").write_text("隐藏目录", encoding="utf-8")
    return root


def test_folders_are_walked_sorted_and_hidden_names_skipped(
    tmp_path: Path, settings: Settings
) -> None:
    root = _tree(tmp_path / "src")
    docs, problems = _split(read_sources([root], settings))
    assert problems == []
    assert [d.title for d in docs] == [
        "记录一",  # a/deeper/records.jsonl
        "记录二",
        "第二个文本",  # a/notes.txt
        "某某通知",  # b/page.html
        "北京市人民政府关于做好春节期间工作的通知",  # z.txt
    ]
    files = [p for p in iter_files([root]) if isinstance(p, Path)]
    assert [p.relative_to(root).as_posix() for p in files] == [
        "a/deeper/records.jsonl",
        "a/notes.txt",
        "b/page.html",
        "z.txt",
    ]


def test_a_hidden_file_named_explicitly_is_read(tmp_path: Path, settings: Settings) -> None:
    root = _tree(tmp_path / "src")
    docs, _ = _split(read_sources([root / ".secret.txt"], settings))
    assert [d.body for d in docs] == ["隐藏文件"]


def test_text_file_title_is_its_first_non_empty_line(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "notice.txt"
    path.write_bytes(("\r\n  \r\n" + NOTICE.replace("\n", "\r\n")).encode("utf-8"))
    (doc,) = read_sources([path], settings)
    assert isinstance(doc, Document)
    assert doc.title == "北京市人民政府关于做好春节期间工作的通知"
    assert doc.title_derived
    assert doc.body == NOTICE.strip()
    assert doc.source == "file"


def test_unknown_extension_and_empty_file_are_problems(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "scan.pdf").write_bytes(b"%PDF-1.4 ...")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_text(" \n\u3000\n")
    (tmp_path / "README").write_text("no extension, not HTML")
    docs, problems = _split(read_sources([tmp_path], settings))
    assert docs == []
    assert [(Path(p.path).name, p.kind) for p in problems] == [
        ("README", "UnknownFileType"),
        ("blank.txt", "DropItem"),
        ("empty.txt", "EmptyFile"),
        ("scan.pdf", "UnknownFileType"),
    ]
    assert "scan.pdf" in problems[3].message
    assert "'.pdf'" in problems[3].message
    assert str(problems[2]) == f"{tmp_path / 'empty.txt'}: empty file"


def test_missing_path_is_a_problem(tmp_path: Path, settings: Settings) -> None:
    (problem,) = read_sources([tmp_path / "nowhere"], settings)
    assert isinstance(problem, Problem)
    assert problem.kind == "NotFound"


def _fifty_megabytes(path: Path) -> Path:
    line = ("第一条 为了规范政府信息公开工作，制定本办法。" * 4 + "\n").encode("utf-8")
    with path.open("wb") as handle:
        handle.write(NOTICE.encode("utf-8"))
        for _ in range(50 * 2**20 // len(line)):
            handle.write(line)
    return path


def test_a_50_mb_text_file_over_the_cap_is_refused_unread(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _fifty_megabytes(tmp_path / "huge.txt")

    def must_not_read(self: Ingestor, path: Path, hint: ManifestEntry | None = None) -> None:
        raise AssertionError("a file over the cap was read")

    monkeypatch.setattr(TextFileIngestor, "ingest", must_not_read)
    (problem,) = read_sources([path], settings)  # settings cap: 10 MB
    assert isinstance(problem, Problem)
    assert problem.kind == "FileTooLarge"
    assert problem.message == "file too large (50.0 MB > 10.0 MB cap)"
    assert count_items([path], settings) == 0


def test_a_50_mb_text_file_under_a_larger_cap_is_read(tmp_path: Path) -> None:
    path = _fifty_megabytes(tmp_path / "huge.txt")
    settings = Settings(data_dir=tmp_path / "state", max_file_bytes=64 * 2**20)
    started = time.perf_counter()
    (doc,) = read_sources([path], settings)
    assert isinstance(doc, Document)
    assert doc.title == "北京市人民政府关于做好春节期间工作的通知"
    assert len(doc.body.encode("utf-8")) > 49 * 2**20
    assert time.perf_counter() - started < 60


def test_jsonl_is_capped_per_record_not_per_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "state", max_file_bytes=4096)
    path = tmp_path / "many.jsonl"
    path.write_text(
        "".join(json.dumps({"id": str(i), "text": "正文" * 100}) + "\n" for i in range(100)),
        encoding="utf-8",
    )
    assert path.stat().st_size > 10 * settings.max_file_bytes
    docs, problems = _split(read_sources([path], settings))
    assert (len(docs), problems) == (100, [])
    assert count_items([path], settings) == 100


def test_binary_renamed_html_is_rejected(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "report.html").write_bytes(b"PK\x03\x04" + os.urandom(2048))
    (problem,) = read_sources([tmp_path], settings)
    assert isinstance(problem, Problem)
    assert problem.kind == "UndecodableFile"
    assert "ZIP" in problem.message


def test_rereading_gives_the_same_ids(tmp_path: Path, settings: Settings) -> None:
    root = _tree(tmp_path / "src")
    (root / "no-ids.jsonl").write_text(
        '{"title": "无编号", "text": "正文"}\n{"url": "http://a/b"}\n'
    )
    first, _ = _split(read_sources([root], settings))
    again, _ = _split(read_sources([root], settings))
    assert [d.id for d in first] == [d.id for d in again]
    assert len({d.id for d in first}) == len(first)
    # The id follows the file, not its text: an edited file replaces its earlier version.
    (root / "z.txt").write_text(NOTICE + "补充一句。\n", encoding="utf-8")
    edited, _ = _split(read_sources([root / "z.txt"], settings))
    before = next(d for d in first if d.title.startswith("北京市人民政府"))
    assert edited[0].id == before.id
    assert edited[0].content_hash != before.content_hash
    # ... and the same path given relatively gives the same id.
    cwd = Path.cwd()
    os.chdir(root)
    try:
        relative, _ = _split(read_sources([Path("z.txt")], settings))
    finally:
        os.chdir(cwd)
    assert relative[0].id == before.id


def test_a_crawler_manifest_gives_url_title_and_id(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "index.tsv").write_text(
        "file\tsource_url\ttitle\tdoc_id\tsite\n"
        "a.html\thttp://zyj.beijing.gov.cn/a.html\t关于开展评选工作的通知\tbjtcm-1\tzyj\n"
        "b.html\thttp://zyj.beijing.gov.cn/b.html\t\t\tzyj\n",
        encoding="utf-8",
    )
    fragment = "<div class='TRS_UEDITOR'><p>各有关单位：</p><p>现将有关事项通知如下。</p></div>"
    (tmp_path / "a.html").write_text(fragment, encoding="utf-8")
    (tmp_path / "b.html").write_text(fragment, encoding="utf-8")
    (tmp_path / "c.html").write_text(fragment, encoding="utf-8")
    docs, problems = _split(read_sources([tmp_path], settings))
    assert problems == []  # index.tsv itself is not a document
    a, b, c = docs
    assert (a.id, a.url, a.title, a.title_derived) == (
        "bjtcm-1",
        "http://zyj.beijing.gov.cn/a.html",
        "关于开展评选工作的通知",
        False,
    )
    assert a.extra_metadata["manifest_site"] == "zyj"
    assert b.id.startswith("url-")
    assert (b.title, b.title_derived) == ("各有关单位：", True)
    assert c.url is None
    assert (read_sources([tmp_path / "a.html"], settings).__next__()).id == "bjtcm-1"


def test_html_without_extension_is_recognised_by_its_first_bytes(
    tmp_path: Path, settings: Settings
) -> None:
    (tmp_path / "content_5365945").write_text(
        "<!DOCTYPE html><html><body><div id='zoom'><p>正文内容在这里。</p></div></body></html>",
        encoding="utf-8",
    )
    (doc,) = read_sources([tmp_path], settings)
    assert isinstance(doc, Document)
    assert doc.body == "正文内容在这里。"


class _ShoutingText(Ingestor):
    """Bids higher than the text ingestor for .txt files."""

    name = "shouting"
    extensions = frozenset({".txt"})

    @classmethod
    def match(cls, path: Path, head: bytes) -> int:
        return BY_EXTENSION + 1 if path.suffix == ".txt" else 0

    def ingest(self, path: Path, hint: ManifestEntry | None = None) -> Iterator[Document]:
        yield Document(id="shout", title=path.read_text(encoding="utf-8").upper())


def test_the_highest_bid_wins(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "a.txt").write_text("quiet", encoding="utf-8")
    (doc,) = read_sources([tmp_path], settings, ingestors=[TextFileIngestor, _ShoutingText])
    assert isinstance(doc, Document)
    assert doc.title == "QUIET"
    (doc,) = read_sources([tmp_path], settings)
    assert isinstance(doc, Document)
    assert doc.title == "quiet"


def test_count_items(tmp_path: Path, settings: Settings) -> None:
    root = _tree(tmp_path / "src")
    (root / "unknown.xyz").write_text("?")
    assert count_items([root], settings) == 5
    docs, _ = _split(read_sources([root], settings))
    assert len(docs) == 5


@pytest.mark.realdata
def test_the_whole_shared_data_folder(shared_data: Path) -> None:
    settings = Settings(data_dir=Path("unused"))
    lines = 0
    for path in shared_data.glob("*.jsonl"):
        with path.open(encoding="utf-8") as handle:
            lines += sum(1 for line in handle if line.strip())
    docs, problems = _split(read_sources([shared_data], settings))
    assert len(docs) == lines + 30  # every record, and the 30 HTML fragments
    # Only the two files that are not documents; html/index.tsv is read as a manifest.
    assert sorted((Path(p.path).name, p.kind) for p in problems) == [
        ("README.md", "UnknownFileType"),
        ("stats.json", "UnknownFileType"),
    ]
    assert count_items([shared_data], settings) == len(docs)
