"""`evaluate_metadata`: the measurement of issue 4, on small fixtures and on the real dev sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluation.metadata import FIELDS, MetadataFileError, evaluate_metadata

PAGE = """<div class="wrap"><table>
<tr><td>发文机关：</td><td>国务院</td><td>成文日期：</td><td>2019年01月12日</td></tr>
<tr><td>标 题：</td><td>国务院关于促进综合保税区发展的若干意见</td></tr>
<tr><td>发文字号：</td><td>国发〔2019〕3号</td><td>发布日期：</td><td>2019年01月25日</td></tr>
<tr><td>主题分类：</td><td>商贸、海关、旅游\\海关</td></tr></table>
<div id="UCAP-CONTENT"><p>各省、自治区、直辖市人民政府：</p><p>综合保税区是重要平台。</p>
<p>国务院</p><p>2019年1月12日</p></div></div>"""

RECORDS: list[dict[str, Any]] = [
    {  # a page: everything is in its table, the title too
        "id": "a",
        "title": "国务院关于促进综合保税区发展的若干意见",
        "text": "各省、自治区、直辖市人民政府：\n综合保税区是重要平台。\n国务院\n2019年1月12日",
        "html": PAGE,
        "agency": "国务院",
        "doc_number": "国发〔2019〕3号",
        "date_written": "2019-01-12",
        "date_published": "2019-01-25",
        "topic": "商贸、海关、旅游\\海关",
        "topic_top": "商贸、海关、旅游",
    },
    {  # title only: the gold number is nowhere in it, so nothing can be found
        "id": "b",
        "title": "广东省人民政府关于印发教育发展规划的通知",
        "doc_number": "粤府〔2021〕63号",
        "date_written": None,
        "date_published": "2021-11-01",
    },
    {  # gold says no number, but the text prints one: a false extraction by definition
        "id": "c",
        "title": "关于X的通知",
        "text": "京政发〔2017〕9号\n各区人民政府：\n正文。\n北京市人民政府\n2017年3月1日",
        "doc_number": None,
        "date_written": "2017-03-01",
        "date_published": "2017-03-02",
    },
]


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    return path


def test_shape_and_counts(tmp_path: Path) -> None:
    result = evaluate_metadata(write(tmp_path / "gold.jsonl", RECORDS))
    assert set(result) == {"fields", "baseline"}
    for side in result.values():
        assert set(side) == set(FIELDS)
        for scores in side.values():
            assert set(scores) == {"accuracy", "n", "false_extractions"}
    ours = result["fields"]
    assert ours["doc_number"] == {"accuracy": 0.5, "n": 2, "false_extractions": 1}
    assert ours["date_written"] == {"accuracy": 1.0, "n": 2, "false_extractions": 0}
    # Only the page states a publication date; it is never copied from the signing date.
    assert ours["date_published"] == {"accuracy": round(1 / 3, 4), "n": 3, "false_extractions": 0}
    assert ours["agency"] == {"accuracy": 1.0, "n": 1, "false_extractions": 2}
    assert ours["topic"] == {"accuracy": 1.0, "n": 1, "false_extractions": 0}
    # The title is measured only where the page is there to take it from.
    assert ours["title"] == {"accuracy": 1.0, "n": 1, "false_extractions": 0}
    base = result["baseline"]
    assert base["topic"]["accuracy"] == 0.0
    assert base["title"] == {"accuracy": 0.0, "n": 1, "false_extractions": 0}


def test_fields_a_file_lacks_are_not_counted(tmp_path: Path) -> None:
    records = [{"id": "x", "title": "沪府令第5号", "date_published": "2020-01-01"}]
    result = evaluate_metadata(write(tmp_path / "gold.jsonl", records))
    assert result["fields"]["agency"] == {"accuracy": None, "n": 0, "false_extractions": 0}
    assert result["fields"]["doc_number"] == {"accuracy": None, "n": 0, "false_extractions": 0}


def test_broken_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(RECORDS[1], ensure_ascii=False) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(MetadataFileError, match=r"gold.jsonl:2"):
        evaluate_metadata(path)
    path.write_text("[1, 2]\n", encoding="utf-8")
    with pytest.raises(MetadataFileError, match=r"gold.jsonl:1"):
        evaluate_metadata(path)


def test_progress_callback(tmp_path: Path) -> None:
    seen: list[int] = []
    evaluate_metadata(write(tmp_path / "g.jsonl", RECORDS), on_record=lambda: seen.append(1))
    assert len(seen) == len(RECORDS)


@pytest.mark.realdata
def test_beats_the_baseline_on_govdocs_small(shared_data: Path) -> None:
    result = evaluate_metadata(shared_data / "govdocs_small.dev.jsonl")
    ours, base = result["fields"], result["baseline"]
    for name in ("doc_number", "date_written", "date_published"):
        assert ours[name]["n"] > 0
        assert ours[name]["accuracy"] > base[name]["accuracy"], (name, ours[name], base[name])
    # The page's own table is read exactly on gov.cn pages.
    assert ours["doc_number"]["accuracy"] >= 0.95
    assert ours["topic"]["accuracy"] >= 0.95


@pytest.mark.realdata
def test_title_only_file_stays_honest(shared_data: Path) -> None:
    # Titles carry almost no numbers or dates: most values must come out empty, not guessed.
    result = evaluate_metadata(shared_data / "govdoc_metadata.dev.jsonl")
    ours = result["fields"]
    assert ours["doc_number"]["n"] > 5000
    assert ours["agency"]["n"] == 0 and ours["title"]["n"] == 0
    for name in ("doc_number", "date_written", "date_published"):
        assert ours[name]["false_extractions"] < 0.01 * ours[name]["n"]
