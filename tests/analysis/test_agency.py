"""Agencies, joint issuers, regions and document types."""

from __future__ import annotations

import pytest

from analysis.agency import (
    agencies_from_title,
    looks_like_agency,
    region_of_agency,
    region_of_issuer_code,
    split_agencies,
)
from analysis.docnumber import parse_doc_number
from analysis.doctype import doc_type_from_number, doc_type_from_title


def test_joint_issuers_are_split() -> None:
    assert split_agencies("国务院、中央军委") == ["国务院", "中央军委"]
    assert split_agencies("浙江省人民政府\u3000浙江省军区") == ["浙江省人民政府", "浙江省军区"]
    assert split_agencies("\u200b北京市中医管理局") == ["北京市中医管理局"]
    assert split_agencies("财政部，国家税务总局") == ["财政部", "国家税务总局"]
    assert split_agencies("") == []


@pytest.mark.parametrize(
    "name",
    ["国务院", "国务院办公厅", "北京市中医管理局", "中央军委", "教育部社会科学司", "市财政局",
     "中国（上海）自由贸易试验区管理委员会", "北京市人民政府"],
)  # fmt: skip
def test_agency_names(name: str) -> None:
    assert looks_like_agency(name)


@pytest.mark.parametrize(
    "text",
    ["特此通知。", "各有关单位：", "第六章", "附件", "北京中医药重点学科管理办法", "2013年5月1日",
     "局", "温家宝", "x" * 10],
)  # fmt: skip
def test_not_agency_names(text: str) -> None:
    assert not looks_like_agency(text)


@pytest.mark.parametrize(
    ("title", "agencies"),
    [
        ("国务院办公厅关于加强三级公立医院绩效考核工作的意见", ["国务院办公厅"]),
        ("国务院、中央军委关于同意武警总部后勤部机关等迁址的批复", ["国务院", "中央军委"]),
        ("市财政局、市国税局、市地税局关于转发《X》的通知", ["市财政局", "市国税局", "市地税局"]),
        ("浙江省人民政府　浙江省军区 关于表彰先进单位的通报", ["浙江省人民政府", "浙江省军区"]),
        ("市政府印发《关于创新驱动发展的若干意见》的通知", ["市政府"]),
        ("（已废止）国家外汇管理局关于X的通知", ["国家外汇管理局"]),
        ("关于公布2021年度北京市级中医药继续教育项目的通知", []),  # no issuer named
        ("进一步做好关于X的工作", []),  # what precedes 关于 is no agency
        ("北京中医药重点学科管理办法", []),
        ("", []),
    ],
)
def test_agencies_from_title(title: str, agencies: list[str]) -> None:
    assert agencies_from_title(title) == agencies


@pytest.mark.parametrize(
    ("agency", "region"),
    [
        ("国务院办公厅", "全国"),
        ("教育部社会科学司", "全国"),
        ("最高人民法院", "全国"),
        ("北京市中医管理局", "北京市"),
        ("北京市密云区人民政府", "北京市"),  # a district of a municipality stays 北京市
        ("上海", "上海市"),
        ("浙江省财政厅", "浙江省"),
        ("浙江省杭州市财政局", "浙江省杭州市"),
        ("杭州市人民政府", "杭州市"),
        ("中共海南省委办公厅", "海南省"),
        ("广东省市场监督管理局", "广东省"),  # 市场 is no city
        ("宁夏回族自治区人民政府", "宁夏回族自治区"),
        ("市财政局", None),  # which city is not said
        ("城市管理局", None),
        ("", None),
    ],
)
def test_region_of_agency(agency: str, region: str | None) -> None:
    assert region_of_agency(agency) == region


@pytest.mark.parametrize(
    ("code", "region"),
    [
        ("国办发", "全国"),
        ("京政发", "北京市"),
        ("沪府发", "上海市"),
        ("粤府办", "广东省"),
        ("渝府办发", "重庆市"),
        ("内政发", "内蒙古自治区"),
        ("黔府发", "贵州省"),
        ("瑞政办发", None),  # a county-level code: no province abbreviation
        ("财税", None),
        ("", None),
    ],
)
def test_region_of_issuer_code(code: str, region: str | None) -> None:
    assert region_of_issuer_code(code) == region


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("国务院办公厅关于印发《国家组织药品集中采购和使用试点方案》的通知", "通知"),
        ("关于印发“北京中医药重点学科管理办法”的通知", "通知"),
        ("国务院关于促进综合保税区高水平开放高质量发展的若干意见", "意见"),
        ("北京市中医药科技成果鉴定(评审)及奖励办法(试行)", "办法"),
        ("国务院关于同意组建协调委员会的批复", "批复"),
        ("国务院办公厅关于同意以深圳市名义申办运动会的复函", "函"),
        ("北京市中医管理局2020年度政府信息公开工作年度报告", "年度报告"),
        ("北京市中医管理局2020年度法治政府建设情况报告", "报告"),
        ("公共场所卫生管理条例实施细则", "细则"),
        ("上海市人民政府关于废止《X办法》的决定（沪府令28号）", "决定"),
        ("上海市市管干部提任前公示（2018年12月7日）", "公示"),
        ("中华人民共和国国务院令", "令"),
        ("国务院、中央军委关于授予李伟等5名同志武警警衔的命令", "命令"),
        ("中华人民共和国预算法", "法"),
        ("《北京市人民政府关于支持中医药振兴发展的意见》解读", None),
        ("工作方法", None),
        ("", None),
    ],
)
def test_doc_type_from_title(title: str, kind: str | None) -> None:
    assert doc_type_from_title(title) == kind


def test_doc_type_from_number() -> None:
    assert doc_type_from_number(parse_doc_number("国办函〔2004〕88号")) == "函"
    assert doc_type_from_number(parse_doc_number("国务院令第656号")) == "令"
    assert doc_type_from_number(parse_doc_number("国办发〔2013〕73号")) is None
    assert doc_type_from_number(parse_doc_number("not a number")) is None
    assert doc_type_from_number(None) is None
