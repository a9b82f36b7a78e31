"""Hand-written documents for the export tests: full metadata, abolished, hostile text,
nothing but an id, many agencies and LaTeX's special characters."""

from __future__ import annotations

from datetime import date

from compilations.export.records import ExportItem, ExportMeta
from gongkai.document import Attachment, Document

FULL = Document(
    id="gov-2013-73",
    url="http://www.gov.cn/zwgk/2013-07/28/content_0001.htm",
    source="govcn",
    title="关于加强城乡最低生活保障工作的通知",
    body="各省、自治区、直辖市人民政府：\n\n一、提高认识。最低生活保障事关困难群众衣食冷暖。\n二、规范管理。",
    agency="国务院办公厅",
    doc_number={"raw": "国办发〔2013〕73号", "issuer_code": "国办发", "year": 2013, "serial": 73},
    index_number="000014349/2013-00101",
    topic="民政、扶贫、救灾/社会救助",
    doc_type="通知",
    subject_words=["低保", "社会救助"],
    date_written=date(2013, 7, 20),
    date_published=date(2013, 7, 28),
    validity="有效",
    region="全国",
    attachments=[Attachment(name="附件1.doc", url="http://www.gov.cn/a1.doc")],
    source_category="政策文件",  # a source field the model has no slot for
)
ABOLISHED = Document(
    id="city-2010-5",
    url="http://www.example.gov.cn/2010/5.html",
    title="示例市城乡低保实施办法",
    body=(
        "第一条 为规范低保工作<script>alert(1)</script>，制定本办法。\x0b\n"
        "第二条 本办法自发布之日起施行。"
    ),
    agency="示例市民政局、示例市财政局",
    doc_number="示民发〔2010〕5号",
    date_published=date(2010, 3, 1),
    validity="废止",
)
HOSTILE = Document(
    id="hostile",
    title='=HYPERLINK("http://evil")最低生活保障\x01',
    body="\x00正文\x1f带控制字符",
    validity="已修改",
    date_written=date(2015, 1, 5),
)
BARE = Document(id="bare", title="很长的标题" * 1000, body="")
MANY = Document(
    id="many/agencies 1",
    url="http://www.mca.gov.cn/{a}_b",
    title="关于100%落实&资金_使用{试行}的#意见~^\\",
    agency=["民政部", "财政部", "人力资源社会保障部", "国家卫生健康委"],
    doc_number="民发〔2012〕9号",
    date_published=date(2012, 5, 2),
    validity="失效",
)
DOCS = [FULL, ABOLISHED, HOSTILE, BARE, MANY]
ACCESSED = date(2026, 11, 26)


def meta(total: int | None = None) -> ExportMeta:
    return ExportMeta(
        title="最低生活保障专题汇编",
        description="收录低保相关文件。",
        created=ACCESSED,
        total=total,
    )


def items() -> list[ExportItem]:
    """The documents in two sections, a note on one, and one document that went missing."""
    return [
        ExportItem(FULL.id, FULL, section="一、国家文件", note="低保工作的总纲。"),
        ExportItem(MANY.id, MANY, section="一、国家文件"),
        ExportItem(ABOLISHED.id, ABOLISHED, section="二、地方文件", note="已被2015年办法替代。"),
        ExportItem(HOSTILE.id, HOSTILE, section="二、地方文件"),
        ExportItem(BARE.id, BARE, section="二、地方文件"),
        ExportItem("gone-1", None, section="二、地方文件", known_title="已删除的通知"),
    ]
