"""MetadataExtractor: fills what the source left empty, says how, and never guesses."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.metadata import EVIDENCE_FIELD, MetadataExtractor
from gongkai.document import DocNumber, Document, Topic

GOV_PAGE = """<div class="wrap"><table><tbody>
<tr><td><b>索 引 号：</b></td><td>000014349/2019-00003</td>
    <td><b>主题分类：</b></td><td>商贸、海关、旅游\\海关</td></tr>
<tr><td><b>发文机关：</b></td><td>国务院</td><td><b>成文日期：</b></td><td>2019年01月12日</td></tr>
<tr><td><b>标 题：</b></td>
    <td colspan="3">国务院关于促进综合保税区高水平开放高质量发展的若干意见</td></tr>
<tr><td><b>发文字号：</b></td><td>国发〔2019〕3号</td><td><b>发布日期：</b></td><td>2019年01月25日</td></tr>
<tr><td><b>主 题 词：</b></td><td>海关 保税区</td></tr>
</tbody></table>
<table><tr><td id="UCAP-CONTENT">
<p>国务院关于促进综合保税区</p><p>高水平开放高质量发展的若干意见</p>
<p>国发〔2019〕3号</p><p>各省、自治区、直辖市人民政府：</p><p>综合保税区是开放型经济的重要平台。</p>
<p>国务院</p><p>2019年1月12日</p></td></tr></table></div>"""

TRS_PAGE = """<html><head>
<meta name="ArticleTitle" content="北京市中医管理局关于开展评选工作的通知">
<meta name="PubDate" content="2021-04-20 09:30"></head><body>
<div class="TRS_UEDITOR"><p>京中医科字〔2021〕41号</p><p>各有关单位：</p>
<p>现将有关事项通知如下。</p>
<p>北京市中医管理局</p><p>2021年4月19日</p></div></body></html>"""

BODY = """上海市人民政府关于郑杨同志任职的通知
字号：   大   中   小
沪府发〔2018〕42号
各区人民政府，市政府各委、办、局：
市人民政府决定：任命郑杨为上海市金融工作局局长。
特此通知。
上海市人民政府
2018年11月21日
"""


def extract(doc: Document) -> Document:
    return MetadataExtractor().extract(doc)


def page(**fields: Any) -> Document:
    """A document with extra fields (``html``), as the JSONL ingestor builds one."""
    return Document.model_validate(fields)


def test_gov_cn_table_fills_every_field() -> None:
    doc = extract(page(id="d", html=GOV_PAGE))
    assert doc.title == "国务院关于促进综合保税区高水平开放高质量发展的若干意见"
    assert not doc.title_derived
    assert doc.doc_number == DocNumber(
        raw="国发〔2019〕3号", issuer_code="国发", year=2019, serial=3
    )
    assert doc.agency == ["国务院"]
    assert doc.date_written == date(2019, 1, 12)
    assert doc.date_published == date(2019, 1, 25)
    assert doc.topic == Topic(top="商贸、海关、旅游", sub="海关")
    assert doc.index_number == "000014349/2019-00003"
    assert doc.subject_words == ["海关", "保税区"]
    assert doc.doc_type == "意见"
    assert doc.region == "全国"
    assert doc.extra_metadata[EVIDENCE_FIELD] == {
        "title": "table",
        "doc_number": "table",
        "agency": "table",
        "date_written": "table",
        "date_published": "table",
        "topic": "table",
        "index_number": "table",
        "subject_words": "table",
        "doc_type": "title",
        "region": "agency",
    }


def test_meta_tags_and_body() -> None:
    doc = extract(page(id="d", body="", html=TRS_PAGE))
    evidence = doc.extra_metadata[EVIDENCE_FIELD]
    assert doc.title == "北京市中医管理局关于开展评选工作的通知" and evidence["title"] == "meta"
    assert doc.date_published == date(2021, 4, 20) and evidence["date_published"] == "meta"
    assert doc.doc_number is not None and doc.doc_number.serial == 41
    assert evidence["doc_number"] == "body"
    assert doc.date_written == date(2021, 4, 19) and evidence["date_written"] == "signature"
    assert doc.agency == ["北京市中医管理局"] and evidence["agency"] == "signature"
    assert doc.region == "北京市"


def test_plain_body_head_and_signature() -> None:
    doc = extract(Document(id="d", body=BODY, title="", title_derived=True))
    evidence = doc.extra_metadata[EVIDENCE_FIELD]
    assert doc.title == "上海市人民政府关于郑杨同志任职的通知" and evidence["title"] == "body"
    assert doc.title_derived  # it repeats the body's text
    assert doc.doc_number is not None and doc.doc_number.raw == "沪府发〔2018〕42号"
    assert doc.date_written == date(2018, 11, 21)
    assert doc.date_published is None  # nothing states it: not copied from the signing date
    assert doc.agency == ["上海市人民政府"] and evidence["agency"] == "signature"
    assert doc.doc_type == "通知" and doc.region == "上海市"
    assert doc.topic is None  # a topic is never invented


def test_entities_a_page_left_unresolved_are_spaces_in_the_head() -> None:
    # The same pattern as the signature's (`analysis.dates.UNRESOLVED_ENTITY`): a line of
    # entities is an empty line.
    body = "&nbsp;&ensp;\n&#12288;\n" + BODY.replace("沪府发", "&nbsp;沪府发", 1)
    doc = extract(Document(id="d", body=body, title="", title_derived=True))
    assert doc.title == "上海市人民政府关于郑杨同志任职的通知"
    assert doc.doc_number is not None and doc.doc_number.raw == "沪府发〔2018〕42号"
    assert doc.agency == ["上海市人民政府"]

    # A page converted to full-width characters: still an entity, as for the signature.
    wide = extract(Document(id="d", body="&#１２２８８;\n" + BODY, title="", title_derived=True))
    assert wide.title == "上海市人民政府关于郑杨同志任职的通知"
    # Not an entity: text, the head's first line.
    text = extract(Document(id="d", body="&#x;\n" + BODY, title="", title_derived=True))
    assert text.title.startswith("&#x;")


def test_title_alone() -> None:
    doc = extract(
        Document(
            id="d", title="上海市人民政府关于废止《上海市危险废物污染防治办法》的决定（沪府令28号）"
        )
    )
    evidence = doc.extra_metadata[EVIDENCE_FIELD]
    assert doc.doc_number is not None and doc.doc_number.issuer_code == "沪府令"
    assert evidence["doc_number"] == "title"
    assert doc.agency == ["上海市人民政府"] and evidence["agency"] == "title"
    assert doc.doc_type == "决定" and doc.region == "上海市"
    assert doc.date_written is None and doc.date_published is None

    dated = extract(Document(id="d", title="上海市市管干部提任前公示（2018年12月7日）"))
    assert dated.date_written == date(2018, 12, 7)
    assert dated.extra_metadata[EVIDENCE_FIELD]["date_written"] == "title"

    # A number cited inside a title is not the document's own.
    cited = extract(Document(id="d", title="河南省人民政府关于贯彻国发〔2011〕25号文件精神的意见"))
    assert cited.doc_number is None and cited.agency == ["河南省人民政府"]


def test_order_names_its_issuer() -> None:
    body = (
        "中华人民共和国国务院令\n第 499 号\n《条例》已经国务院常务会议通过，现予公布。\n"
        "总 理 温家宝\n二〇〇七年五月二十九日\n"
    )
    doc = extract(Document(id="d", title="中华人民共和国行政复议法实施条例", body=body))
    assert doc.doc_number is not None and doc.doc_number.issuer_code == "国务院令"
    assert doc.doc_number.serial == 499
    assert doc.agency == ["国务院"] and doc.extra_metadata[EVIDENCE_FIELD]["agency"] == "doc_number"
    assert doc.date_written == date(2007, 5, 29)
    assert doc.doc_type == "条例"  # the title's type wins over the number's 令


def test_values_from_the_source_are_never_overwritten() -> None:
    given_doc = page(
        id="d",
        title="给定标题",
        body=BODY,
        agency=["某某局"],
        doc_number="沪府发〔2018〕1号",
        date_written=date(2000, 1, 1),
        doc_type="意见",
        region="浙江省",
        html=GOV_PAGE,
    )
    doc = extract(given_doc)
    assert doc.title == "给定标题"
    assert doc.agency == ["某某局"]
    assert doc.date_written == date(2000, 1, 1)
    assert doc.doc_type == "意见" and doc.region == "浙江省"
    # The source's raw number is kept; only its parts are added.
    assert doc.doc_number == DocNumber(
        raw="沪府发〔2018〕1号", issuer_code="沪府发", year=2018, serial=1
    )
    evidence = doc.extra_metadata[EVIDENCE_FIELD]
    assert not {"title", "agency", "date_written", "doc_type", "region", "doc_number"} & set(
        evidence
    )
    assert evidence["date_published"] == "table"  # the one field the source left empty
    assert (
        given_doc.doc_number is not None and given_doc.doc_number.serial is None
    )  # input untouched


def test_joint_numbers_in_a_table_are_all_kept() -> None:
    joint = GOV_PAGE.replace("国发〔2019〕3号", "财税〔2007〕17号、国税发〔2007〕3号")
    doc = extract(page(id="d", html=joint))
    assert doc.doc_number is not None and doc.doc_number.issuer_code == "财税"
    assert [n["issuer_code"] for n in doc.extra_metadata["doc_numbers"]] == ["财税", "国税发"]


def test_text_label_lines_in_the_head() -> None:
    body = (
        "索引号： 000014349/2004-711188 主题分类：\n"
        "发布机构： 省政府办公厅 成文日期： 2004-02-02\n"
        "文号： 浙政发〔2004〕4号\n"
        "各市、县人民政府：\n"
        "正文。文号：沪科〔2007〕第533号\n"
    )
    doc = extract(Document(id="d", body=body))
    evidence = doc.extra_metadata[EVIDENCE_FIELD]
    assert doc.doc_number is not None and doc.doc_number.raw == "浙政发〔2004〕4号"
    assert evidence["doc_number"] == "text_label"
    assert doc.date_written == date(2004, 2, 2) and doc.agency == ["省政府办公厅"]
    assert doc.index_number == "000014349/2004-711188"
    assert doc.topic is None  # an empty label is no topic
    assert doc.region == "浙江省" and evidence["region"] == "doc_number"


def test_a_document_without_metadata_gets_nothing() -> None:
    for doc in (
        Document(id="d"),
        Document(id="d", title="您好", body="我想咨询一下低保怎么申请？谢谢。"),
        page(id="d", body="正文第一句。\n正文第二句。", html="<p>正文第一句。</p>"),
        Document(id="d", body="一句话的标题式消息的通知"),  # one line is no title over a body
    ):
        assert extract(doc) == doc
        assert EVIDENCE_FIELD not in extract(doc).extra_metadata


def test_bad_values_stay_empty() -> None:
    body = "关于X的通知\n国发〔87〕12号\n各单位：\n正文。\n国务院\n2013年13月1日\n"
    doc = extract(Document(id="d", body=body))
    assert doc.doc_number is None  # a 2-digit year is not read
    assert doc.date_written is None  # no 13th month
    assert doc.agency == []  # the signature block is not a signature without a date


def test_a_cell_saying_none_is_no_value() -> None:
    none_page = GOV_PAGE.replace("国发〔2019〕3号", "无").replace("<p>国发〔2019〕3号</p>", "")
    doc = extract(page(id="d", html=none_page))
    assert doc.doc_number is None
    assert "doc_number" not in doc.extra_metadata[EVIDENCE_FIELD]


def test_html_without_text_and_broken_html() -> None:
    assert extract(page(id="d", html="")).extra_metadata == {"html": ""}
    broken = extract(page(id="d", html="<div><td>发文字号：<td>国发〔2019〕5号</div"))
    assert broken.doc_number is not None and broken.doc_number.serial == 5


def test_very_long_document() -> None:
    body = "国务院办公厅关于X的通知\n国办发〔2013〕73号\n各部门：\n" + "正文。" * 100_000
    body += "\n国务院办公厅\n2013年5月1日\n"
    doc = extract(Document(id="d", body=body))
    assert doc.doc_number is not None and doc.doc_number.serial == 73
    assert doc.date_written == date(2013, 5, 1)


def test_evidence_of_an_earlier_run_is_kept() -> None:
    first = extract(page(id="d", body=BODY, html=TRS_PAGE))
    again = extract(first)
    assert again == first
    assert MetadataExtractor().process(first) == first  # the pipeline-stage name


@settings(database=None, deadline=None)
@given(st.text(max_size=200), st.text(max_size=400))
def test_arbitrary_documents_never_crash(title: str, body: str) -> None:
    doc = extract(Document(id="d", title=title, body=body))
    assert doc.title == title  # a given title is kept
    evidence = doc.extra_metadata.get(EVIDENCE_FIELD, {})
    assert set(evidence) <= {
        "doc_number", "date_written", "agency", "doc_type", "region", "title",
        "date_published", "topic", "index_number", "subject_words",
    }  # fmt: skip
