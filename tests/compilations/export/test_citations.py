"""Citations written by hand from the standards (GB/T 7714-2015 4.8, the RIS specification,
BibTeX's escaping rules), compared whole."""

from __future__ import annotations

import re

from compilations.export.citations import (
    bibtex_key,
    bibtex_record,
    gbt7714_chunks,
    gbt7714_record,
    ris_chunks,
    ris_record,
)
from compilations.export.records import ExportItem
from gongkai.document import Document
from tests.compilations.export.documents import (
    ABOLISHED,
    ACCESSED,
    BARE,
    FULL,
    HOSTILE,
    MANY,
    items,
    meta,
)


def item(doc: Document) -> ExportItem:
    return ExportItem(doc.id, doc)


def test_gbt7714_electronic_resource_with_doc_number_as_other_title_information() -> None:
    assert gbt7714_record(item(FULL), ACCESSED) == (
        "国务院办公厅. 关于加强城乡最低生活保障工作的通知: 国办发〔2013〕73号[EB/OL]. "
        "(2013-07-28)[2026-11-26]. http://www.gov.cn/zwgk/2013-07/28/content_0001.htm."
    )


def test_gbt7714_joint_issuers_and_more_than_three() -> None:
    assert gbt7714_record(item(ABOLISHED), ACCESSED) == (
        "示例市民政局, 示例市财政局. 示例市城乡低保实施办法: 示民发〔2010〕5号[EB/OL]. "
        "(2010-03-01)[2026-11-26]. http://www.example.gov.cn/2010/5.html."
    )
    assert gbt7714_record(item(MANY), ACCESSED) == (
        "民政部, 财政部, 人力资源社会保障部, 等. 关于100%落实&资金_使用{试行}的#意见~^\\: "
        "民发〔2012〕9号[EB/OL]. (2012-05-02)[2026-11-26]. http://www.mca.gov.cn/{a}_b."
    )


def test_gbt7714_without_agency_date_or_url() -> None:
    # No responsible party: 佚名; no date: only the citation date; no URL: nothing after it.
    assert gbt7714_record(item(HOSTILE), ACCESSED) == (
        '佚名. =HYPERLINK("http://evil")最低生活保障[EB/OL]. (2015-01-05)[2026-11-26].'
    )
    assert gbt7714_record(
        ExportItem("x", BARE.model_copy(update={"title": "无日期"})), ACCESSED
    ) == ("佚名. 无日期[EB/OL]. [2026-11-26].")


def test_gbt7714_list_is_numbered_in_order_and_lists_missing_documents() -> None:
    lines = b"".join(gbt7714_chunks(items(), meta())).decode().splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == [f"[{n}]" for n in range(1, 7)]
    assert lines[0].startswith("[1] 国务院办公厅. 关于加强城乡最低生活保障工作的通知")
    assert lines[5].startswith("[6] 佚名. 已删除的通知[EB/OL]. [2026-11-26].")
    assert "文件缺失" in lines[5]


def test_ris_record_has_the_tags_in_crlf_lines() -> None:
    assert ris_record(item(FULL), ACCESSED) == (
        "TY  - GOVDOC\r\n"
        "TI  - 关于加强城乡最低生活保障工作的通知\r\n"
        "AU  - 国务院办公厅\r\n"
        "PY  - 2013\r\n"
        "DA  - 2013/07/28\r\n"
        "M1  - 国办发〔2013〕73号\r\n"
        "M3  - 通知\r\n"
        "UR  - http://www.gov.cn/zwgk/2013-07/28/content_0001.htm\r\n"
        "KW  - 低保\r\n"
        "KW  - 社会救助\r\n"
        "LA  - zh\r\n"
        "Y2  - 2026/11/26\r\n"
        "N1  - 有效性：有效\r\n"
        "AN  - gov-2013-73\r\n"
        "ER  - \r\n"
    )


def test_ris_one_author_line_per_agency_and_validity_note() -> None:
    record = ris_record(ExportItem(ABOLISHED.id, ABOLISHED, note="已被替代"), ACCESSED)
    assert "AU  - 示例市民政局\r\nAU  - 示例市财政局\r\n" in record
    assert "N1  - 有效性：废止\r\nN1  - 已被替代\r\n" in record


def test_ris_file_records_follow_each_other_without_blank_lines() -> None:
    text = b"".join(ris_chunks(items(), meta())).decode()
    records = text.split("ER  - \r\n")
    assert records[-1] == ""
    assert len(records) - 1 == 6
    assert all(r.startswith("TY  - GOVDOC\r\n") for r in records[:-1])
    # Control characters never reach the file; the title stays one line.
    assert "\x01" not in text
    assert 'TI  - =HYPERLINK("http://evil")最低生活保障\r\n' in text


def test_bibtex_escapes_latex_specials_and_braces_corporate_authors() -> None:
    assert bibtex_record(item(MANY), ACCESSED) == (
        "@misc{gongkai:many_agencies_1-" + bibtex_key(MANY.id).rsplit("-", 1)[1] + ",\n"
        "  title = {关于100\\%落实\\&资金\\_使用\\{试行\\}的\\#意见"
        "\\textasciitilde{}\\textasciicircum{}\\textbackslash{}},\n"
        "  author = {{民政部} and {财政部} and {人力资源社会保障部} and {国家卫生健康委}},\n"
        "  year = {2012},\n"
        "  date = {2012-05-02},\n"
        "  number = {民发〔2012〕9号},\n"
        "  url = {http://www.mca.gov.cn/%7Ba%7D_b},\n"
        "  urldate = {2026-11-26},\n"
        "  language = {zh},\n"
        "  note = {有效性：失效}\n"
        "}\n"
    )


def test_bibtex_keys_are_stable_ascii_and_distinct() -> None:
    assert bibtex_key("gov-2013-73") == "gongkai:gov-2013-73"
    assert bibtex_key("many/agencies 1") == bibtex_key("many/agencies 1")
    assert bibtex_key("a/b") != bibtex_key("a b")
    assert re.fullmatch(r"gongkai:[A-Za-z0-9_.:-]+", bibtex_key("文件/一"))


def test_bibtex_braces_stay_balanced_for_every_document() -> None:
    for it in items():
        record = bibtex_record(it, ACCESSED)
        unescaped = re.sub(r"\\[{}]", "", record)
        assert unescaped.count("{") == unescaped.count("}"), record
