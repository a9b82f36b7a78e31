"""发文字号: every printed form, joint numbers, 令 numbers, text search, and bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.docnumber import (
    canonical_doc_number,
    doc_number_key,
    find_doc_number_matches,
    find_doc_numbers,
    parse_doc_number,
    parse_doc_numbers,
)
from gongkai.document import DocNumber


@pytest.mark.parametrize(
    "raw",
    [
        "国办发〔2013〕73号",
        "国办发[2013]73号",
        "国办发(2013)73号",
        "国办发（2013）73号",
        "国办发【2013】73号",
        "国办发﹝2013﹞73号",
        "国办发〔２０１３〕７３号",  # full-width digits
        " 国办发 〔 2013 〕 73 号 ",  # odd spacing
        "国办发\u3000〔2013〕\u300073号",
        "国办发〔2013〕73",  # missing 号
        "国办发〔2013〕第73号",
        "国办发2013年73号",
        "发文字号：国办发〔2013〕73号",  # a label left in the value
        "（国办发〔2013〕73号）",
        "\u200b国办发〔2013〕73号",
    ],
)
def test_year_bracket_forms_parse_to_one_number(raw: str) -> None:
    number = parse_doc_number(raw)
    assert number.raw == raw  # kept as printed
    assert (number.issuer_code, number.year, number.serial) == ("国办发", 2013, 73)
    assert canonical_doc_number(number) == "国办发〔2013〕73号"


@pytest.mark.parametrize(
    ("raw", "issuer", "year", "serial", "canonical"),
    [
        ("渝府办发〔2016〕1号", "渝府办发", 2016, 1, "渝府办发〔2016〕1号"),
        ("瑞政办发〔2019〕108号", "瑞政办发", 2019, 108, "瑞政办发〔2019〕108号"),
        ("京政发[2017]9号", "京政发", 2017, 9, "京政发〔2017〕9号"),
        ("豫政办 〔2016〕129号", "豫政办", 2016, 129, "豫政办〔2016〕129号"),
        ("国中医药人教函〔2020〕222号", "国中医药人教函", 2020, 222, "国中医药人教函〔2020〕222号"),
        ("海关总署公告2014年第30号", "海关总署公告", 2014, 30, "海关总署公告〔2014〕30号"),
        ("国务院令第656号", "国务院令", None, 656, "国务院令第656号"),
        ("中华人民共和国国务院令第656号", "国务院令", None, 656, "国务院令第656号"),
        ("中华人民共和国主席令第五十九号", "主席令", None, 59, "主席令第59号"),
        ("沪府令25号", "沪府令", None, 25, "沪府令第25号"),
        ("第5号令", "令", None, 5, "令第5号"),
        ("北京市人民政府第12号令", "北京市人民政府令", None, 12, "北京市人民政府令第12号"),
        ("中华人民共和国商务部令2018年第2号", "商务部令", 2018, 2, "商务部令〔2018〕2号"),
        ("〔2013〕73号", None, 2013, 73, "〔2013〕73号"),
    ],
)
def test_issuer_codes_and_order_numbers(
    raw: str, issuer: str | None, year: int | None, serial: int, canonical: str
) -> None:
    number = parse_doc_number(raw)
    assert (number.issuer_code, number.year, number.serial) == (issuer, year, serial)
    assert canonical_doc_number(number) == canonical


def test_one_order_under_two_names_is_one_number() -> None:
    assert doc_number_key("国务院令第656号") == doc_number_key("中华人民共和国国务院令 第656号")
    assert doc_number_key("国办发〔2013〕73号") == doc_number_key("国办发[2013]73 号")
    assert doc_number_key("国办发〔2013〕73号") != doc_number_key("国办发〔2013〕74号")


@pytest.mark.parametrize(
    "raw",
    [
        "财税〔2007〕17号、国税发〔2007〕3号",
        "财税〔2007〕17号，国税发〔2007〕3号",
        "财税〔2007〕17号, 国税发〔2007〕3号",
        "财税〔2007〕17号 国税发〔2007〕3号",
        "财税[2007]17号；国税发[2007]3号",
    ],
)
def test_joint_issuance_gives_a_list(raw: str) -> None:
    numbers = parse_doc_numbers(raw)
    assert [canonical_doc_number(n) for n in numbers] == ["财税〔2007〕17号", "国税发〔2007〕3号"]
    # The single-number view takes the lead issuer's number and keeps the whole raw value.
    lead = parse_doc_number(raw)
    assert lead.raw == raw and lead.issuer_code == "财税"


@pytest.mark.parametrize(
    "raw",
    [
        "国发〔87〕12号",  # 2-digit year: which century is not guessed
        "国发〔2011〕25号文件",  # text around the number
        "详见国发〔2011〕25号文件",
        "国办发201373号",  # year and serial run together
        "国发〔0013〕5号",  # no such year
        "国务院令第十十号",  # not a number
        "abc",
        "号",
        "〔〕号",
    ],
)
def test_unparseable_values_keep_raw_without_parts(raw: str) -> None:
    number = parse_doc_number(raw)
    assert number == DocNumber(raw=raw)
    assert canonical_doc_number(number) is None
    assert doc_number_key(number) == raw.replace(" ", "")


def test_empty_and_blank_values() -> None:
    assert parse_doc_numbers("") == []
    assert parse_doc_numbers(" \u3000 ") == []
    assert parse_doc_number("").serial is None


def test_very_long_value_is_refused_quickly() -> None:
    raw = "国" * 200_000 + "〔2013〕73号"
    assert parse_doc_number(raw).serial is None  # an issuer code is never 200,000 characters
    assert find_doc_numbers(raw) == ["国" * 20 + "〔2013〕73号"]


def test_find_numbers_in_running_text() -> None:
    text = (
        "根据《国务院办公厅关于X的通知》（国办发〔2013〕73号）和国发〔2011〕25号文件，"
        "自治区人民政府要按照国办发〔1993〕71号执行；1994年8月29日卫生部令第36号发布；"
        "（中华人民共和国主席令第五十九号）；国中医药医政函[2012]96 号；国发〔2013〕5号。"
    )
    assert find_doc_numbers(text) == [
        "国办发〔2013〕73号",
        "国发〔2011〕25号",
        "国办发〔1993〕71号",
        "卫生部令第36号",
        "主席令第59号",
        "国中医药医政函〔2012〕96号",
        "国发〔2013〕5号",
    ]
    matches = find_doc_number_matches(text)
    # The raw text of each match is the number as printed, at its place in the text.
    assert all(text[m.start : m.end] == m.number.raw for m in matches)
    assert matches[-2].number.raw == "国中医药医政函[2012]96 号"


def test_find_needs_an_issuer_and_keeps_order() -> None:
    assert find_doc_numbers("〔2013〕73号 第5号令") == []
    assert find_doc_numbers("京政发〔2013〕1号 京政发〔2013〕1号 京政发〔2012〕9号") == [
        "京政发〔2013〕1号",
        "京政发〔2012〕9号",
    ]
    assert find_doc_numbers("") == []
    assert find_doc_numbers("本通知自2013年5月1日起施行。") == []


# --- properties ----------------------------------------------------------------------------

_ISSUER_CHARS = "国办发函府政京沪粤渝瑞字科财税教卫人社中医药省市委厅局部令公告"
issuers = st.text(alphabet=_ISSUER_CHARS, min_size=1, max_size=8)


@st.composite
def doc_numbers(draw: st.DrawFn) -> DocNumber:
    """Parsed numbers of every kind: bracket numbers with or without issuer, 令 numbers."""
    serial = draw(st.integers(min_value=1, max_value=99_999))
    if draw(st.booleans()):
        issuer: str | None = draw(issuers)
        year: int | None = draw(st.integers(min_value=1900, max_value=2100))
        if draw(st.booleans()):
            issuer = None
    else:
        issuer = draw(issuers).rstrip("令") + "令"
        year = None
    return DocNumber(raw="", issuer_code=issuer, year=year, serial=serial)


def _parts(number: DocNumber) -> tuple[str | None, int | None, int | None]:
    return number.issuer_code, number.year, number.serial


@settings(database=None)
@given(doc_numbers())
def test_canonical_form_round_trips(number: DocNumber) -> None:
    canonical = canonical_doc_number(number)
    assert canonical is not None
    parsed = parse_doc_number(canonical)
    assert _parts(parsed) == _parts(number)
    assert canonical_doc_number(parsed) == canonical


@settings(database=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes(text: str) -> None:
    for number in parse_doc_numbers(text):
        assert isinstance(number.raw, str)
        key = canonical_doc_number(number)
        if key is not None:
            assert _parts(parse_doc_number(key)) == _parts(number)
    for found in find_doc_numbers(text):
        assert found.endswith("号")


@settings(database=None)
@given(st.lists(doc_numbers(), min_size=1, max_size=4), st.sampled_from(["、", "，", " ", "；"]))
def test_joint_values_split_into_their_numbers(numbers: list[DocNumber], separator: str) -> None:
    keys = [canonical_doc_number(n) or "" for n in numbers]
    parsed = parse_doc_numbers(separator.join(keys))
    assert [canonical_doc_number(n) for n in parsed] == keys
