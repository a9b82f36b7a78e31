"""HTML extraction on the 30 real fragments and on hostile pages written here."""

from __future__ import annotations

import json
import re
import time
from datetime import date
from pathlib import Path

import pytest

from gongkai.document import Document
from gongkai.settings import Settings
from ingest.base import Problem
from ingest.manager import read_sources
from ingest.support.html import extract_page

_SPACE = re.compile(r"\s+")


def _documents(paths: list[Path], settings: Settings) -> list[Document]:
    items = list(read_sources(paths, settings))
    assert not [i for i in items if isinstance(i, Problem)], items
    return [i for i in items if isinstance(i, Document)]


# --- the real fragments ------------------------------------------------------------------


@pytest.mark.realdata
def test_real_fragments_titles_match_index(
    html_fragments: Path, html_index: list[dict[str, str]], settings: Settings
) -> None:
    docs = {
        Path(d.extra_metadata["ingested_from"]).name: d
        for d in _documents([html_fragments], settings)
    }
    assert len(docs) == len(html_index) == 30
    for row in html_index:
        doc = docs[row["file"]]
        assert doc.title == row["title"], row["file"]
        assert doc.url == row["source_url"]
        assert doc.id == row["doc_id"]  # the crawler's id, as given by its manifest
        assert not doc.title_derived


@pytest.mark.realdata
def test_govcn_fragments_carry_their_title_in_the_metadata_table(
    html_fragments: Path, html_index: list[dict[str, str]]
) -> None:
    # Without any manifest: the page's own 标题 row.
    for row in html_index:
        page = extract_page((html_fragments / row["file"]).read_text(encoding="utf-8"))
        if row["site"] == "gov.cn":
            assert (page.title, page.title_source) == (row["title"], "table")
        else:
            # zyj.beijing.gov.cn fragments are the article div only: no title inside at all,
            # which is why the manifest's title is used for them.
            assert page.title is None


@pytest.mark.realdata
def test_govcn_metadata_table_fills_document_fields(
    shared_data: Path, html_fragments: Path, html_index: list[dict[str, str]], settings: Settings
) -> None:
    # govdocs_small holds the same pages with the metadata its crawler read: compare field by
    # field with what the extractor found in the raw HTML.
    expected = {}
    with (shared_data / "govdocs_small.dev.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            expected[record["id"]] = record
    docs = {d.id: d for d in _documents([html_fragments], settings)}
    govcn = [row for row in html_index if row["site"] == "gov.cn"]
    assert len(govcn) == 15
    for row in govcn:
        doc, record = docs[row["doc_id"]], expected[row["doc_id"]]
        assert doc.index_number == record["index_number"]
        assert doc.topic is not None
        top, _, sub = record["topic"].partition("\\")
        assert (doc.topic.top, doc.topic.sub) == (top, sub or None)
        assert doc.agency == [a for a in re.split("[、，]", record["agency"]) if a]
        assert doc.doc_number is not None
        assert doc.doc_number.raw == record["doc_number"]
        assert doc.date_written == date.fromisoformat(record["date_written"])
        assert doc.date_published == date.fromisoformat(record["date_published"])


@pytest.mark.realdata
def test_real_fragment_bodies_match_the_crawled_text(
    shared_data: Path, html_fragments: Path, html_index: list[dict[str, str]]
) -> None:
    texts = {}
    with (shared_data / "govdocs_small.dev.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            texts[record["id"]] = record["text"]
    for row in html_index:
        body = extract_page((html_fragments / row["file"]).read_text(encoding="utf-8")).body
        assert _SPACE.sub("", body) == _SPACE.sub("", texts[row["doc_id"]]), row["file"]
        assert "扫一扫" not in body
        assert "\n\n" not in body


# --- pages written here ------------------------------------------------------------------

GOVCN_PAGE = """<!DOCTYPE html>
<html><head>
<meta charset="utf-8">
<title>国务院办公厅关于印发某某方案的通知_政府信息公开专栏</title>
<meta name="ArticleTitle" content="国务院办公厅关于印发某某方案的通知">
<meta name="PubDate" content="2019-01-21 17:30">
<meta name="ContentSource" content="中国政府网">
<meta name="ColumnName" content="国务院文件">
<meta name="Keywords" content="方案,试点；通知">
<script>var title = "不是正文";</script>
<style>p { color: red }</style>
</head><body>
<div class="header"><a href="/">首页</a> | <a href="/zhengce">政策</a></div>
<nav><a href="/a">导航一</a><a href="/b">导航二</a></nav>
<table class="bd1"><tbody>
<tr><td><b>索 引 号：</b></td><td>000014349/2018-00230</td>
    <td><b>主题分类：</b></td><td>城乡建设、环境保护\\城市规划</td></tr>
<tr><td><b>发文机关：</b></td><td>国务院办公厅</td>
    <td><b>成文日期：</b></td><td>2018年12月29日</td></tr>
<tr><td><b>发文字号：</b></td><td>国办发〔2018〕128号</td>
    <td><b>发布日期：</b></td><td>2019年01月21日</td></tr>
<tr><td><b>有 效 性：</b></td><td>有效</td>
    <td><b>主 题 词：</b></td><td>城市　规划　通知</td></tr>
</tbody></table>
<div class="pages_content" id="UCAP-CONTENT">
<p>各省、自治区、直辖市人民政府：</p>
<p>　　现将《某某方案》印发给你们，<span>请认真</span>贯彻执行。<script>alert("x")</script></p>
<div class="share">分享到：微信 微博</div>
<p>字号：大 中 小</p>
<p>【打印】【关闭】</p>
<p>国务院办公厅<br>2018年12月29日</p>
</div>
<div class="footer">版权所有：中国政府网</div>
</body></html>"""


def test_whole_govcn_style_page() -> None:
    page = extract_page(GOVCN_PAGE)
    assert (page.title, page.title_source) == ("国务院办公厅关于印发某某方案的通知", "meta")
    assert page.body == (
        "各省、自治区、直辖市人民政府：\n"
        "现将《某某方案》印发给你们，请认真贯彻执行。\n"
        "国务院办公厅\n"
        "2018年12月29日"
    )
    assert page.fields == {
        "date_published": date(2019, 1, 21),  # the meta PubDate, not the table's own
        "index_number": "000014349/2018-00230",
        "topic": {"top": "城乡建设、环境保护", "sub": "城市规划"},
        "agency": "国务院办公厅",
        "date_written": date(2018, 12, 29),
        "doc_number": "国办发〔2018〕128号",
        "validity": "有效",
        "subject_words": ["城市", "规划", "通知"],
    }
    assert page.extra == {
        "content_source": "中国政府网",  # the website, not the issuing agency
        "column_name": "国务院文件",
        "keywords": ["方案", "试点", "通知"],
    }


def test_page_fields_become_document_fields(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "page.html").write_text(GOVCN_PAGE, encoding="utf-8")
    (doc,) = _documents([tmp_path], settings)
    assert doc.agency == ["国务院办公厅"]
    assert doc.validity.status == "有效"
    assert doc.doc_number is not None
    assert doc.doc_number.raw == "国办发〔2018〕128号"
    assert doc.topic is not None
    assert doc.topic.sub == "城市规划"
    assert doc.extra_metadata["column_name"] == "国务院文件"


def test_unparseable_dates_are_kept_raw_not_guessed() -> None:
    page = extract_page(
        "<table><tr><td>成文日期：</td><td>2018年13月45日</td></tr>"
        "<tr><td>发布日期：</td><td>二〇一八年十二月二十九日</td></tr></table>"
        "<div id='zoom'><p>正文内容在这里，足够长的一段。</p></div>"
    )
    assert "date_written" not in page.fields
    assert page.extra["date_written_raw"] == "2018年13月45日"
    assert page.fields["date_published"] == date(2018, 12, 29)


def test_label_and_value_in_one_cell() -> None:
    page = extract_page(
        "<table><tr><td>发文字号：京政发〔2020〕1号</td><td>发布机构：北京市人民政府</td></tr>"
        "</table><article><p>北京市人民政府关于某事项的通知正文。</p></article>"
    )
    assert page.fields["doc_number"] == "京政发〔2020〕1号"
    assert page.fields["agency"] == "北京市人民政府"


def test_labels_quoted_inside_the_text_do_not_override_the_page_table() -> None:
    page = extract_page(
        "<table><tr><td>发文字号：</td><td>国发〔2019〕5号</td></tr></table>"
        "<div id='UCAP-CONTENT'><p>附件中的表格：</p>"
        "<table><tr><td>发文字号：</td><td>另一个文号〔2001〕1号</td></tr></table></div>"
    )
    assert page.fields["doc_number"] == "国发〔2019〕5号"


def test_title_falls_back_to_title_tag_then_h1() -> None:
    page = extract_page("<title>关于开展某项工作的通知 - 北京市人民政府</title><p>正文</p>")
    assert (page.title, page.title_source) == ("关于开展某项工作的通知", "title")
    page = extract_page("<title>首页 | 关于开展某项工作的通知</title><p>正文</p>")
    assert page.title == "关于开展某项工作的通知"
    page = extract_page("<body><h1>关于开展某项工作的通知</h1><p>正文内容</p></body>")
    assert (page.title, page.title_source) == ("关于开展某项工作的通知", "h1")


def test_densest_block_wins_without_a_known_container() -> None:
    links = "".join(f"<li><a href='/{i}'>栏目链接第{i}项目录</a></li>" for i in range(40))
    page = extract_page(
        f"<body><div class='menu-ish'><ul>{links}</ul></div>"
        "<div class='x'><p>这是正文第一段，讲的是政府信息公开的具体办法。</p>"
        "<p>这是正文第二段。</p></div>"
        "<div>短的边栏</div></body>"
    )
    assert page.body == "这是正文第一段，讲的是政府信息公开的具体办法。\n这是正文第二段。"


def test_table_rows_keep_their_cells_on_one_line() -> None:
    page = extract_page(
        "<div class='article'><p>附表：</p><table><tr><th>地区</th><th>人数</th></tr>"
        "<tr><td>北京</td><td>90</td></tr></table></div>"
    )
    assert page.body == "附表：\n地区 人数\n北京 90"


# --- hostile and broken input -------------------------------------------------------------


def test_unclosed_and_truncated_markup() -> None:
    page = extract_page(
        "<html><body><div id='zoom'><p>第一段没有结束<p>第二段<b>加粗没有结束<div>第三块"
        "<table><tr><td>单元格<td>又一格</table><p>最后一段被截断在标签中间<spa"
    )
    assert page.body.splitlines()[:3] == ["第一段没有结束", "第二段加粗没有结束", "第三块"]
    assert "最后一段被截断在标签中间" in page.body


def test_script_and_style_in_body_are_not_text() -> None:
    page = extract_page(
        "<body><div class='TRS_UEDITOR'><p>正文开始。</p>"
        "<script>document.write('<p>脚本写的字</p>');</script>"
        "<style>.a{}</style><noscript>请启用脚本</noscript>"
        "<!-- 注释里的字 --><iframe src='x'>框架</iframe><form><input value='表单'></form>"
        "<p>正文结束。</p></div></body>"
    )
    assert page.body == "正文开始。\n正文结束。"


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("<html><body>", "</body></html>", "深处的正文内容"),
        ("<div id='zoom'><p>开头的一段话</p>", "</div>", "开头的一段话\n深处的正文内容"),
    ],
    ids=["no-known-container", "inside-a-known-container"],
)
def test_two_megabytes_of_nested_divs(before: str, after: str, expected: str) -> None:
    depth = 2 * 2**20 // len("<div>")
    html = before + "<div>" * depth + "深处的正文内容" + "</div>" * depth + after
    started = time.perf_counter()
    page = extract_page(html)  # must not hit the recursion limit
    assert time.perf_counter() - started < 60
    assert page.body == expected


def test_huge_flat_page_of_paragraphs() -> None:
    html = "<div id='zoom'>" + "<p>第一条 本办法适用于全市。</p>" * 50_000 + "</div>"
    page = extract_page(html)
    assert page.body.count("\n") == 49_999


def test_text_without_markup_needs_no_parser() -> None:
    # bs4 would warn that "index.html" looks like a file name (filterwarnings=error).
    assert extract_page("index.html").body == "index.html"
    assert extract_page("  国务院公报\n\n第一期  ").body == "国务院公报\n第一期"


def test_xhtml_with_xml_declaration() -> None:
    page = extract_page(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x">'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>标题文字测试</title></head>'
        "<body><p>正文。</p></body></html>"
    )
    assert (page.title, page.body) == ("标题文字测试", "正文。")


def test_xml_fragment_is_parsed_as_html_without_warning() -> None:
    page = extract_page('<?xml version="1.0"?><div class="article"><p>片段正文内容。</p></div>')
    assert page.body == "片段正文内容。"


def test_empty_page() -> None:
    page = extract_page("<html><body><script>x()</script></body></html>")
    assert (page.title, page.body) == (None, "")


def test_page_without_text_is_reported(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "blank.html").write_text("<html><body><div></div></body></html>")
    (problem,) = read_sources([tmp_path], settings)
    assert isinstance(problem, Problem)
    assert problem.kind == "DropItem"
    assert "no text" in problem.message


def test_binary_renamed_html_is_rejected(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "notice.html").write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 100)
    (tmp_path / "photo.htm").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 100)
    (tmp_path / "blob.html").write_bytes(bytes(range(256)) * 100)
    problems = list(read_sources([tmp_path], settings))
    assert [(type(p), Path(p.path).name, p.kind) for p in problems] == [
        (Problem, "blob.html", "UndecodableFile"),
        (Problem, "notice.html", "UndecodableFile"),
        (Problem, "photo.htm", "UndecodableFile"),
    ]
    assert "PDF" in str(problems[1])
    assert "PNG" in str(problems[2])
