"""Dates in every printed form, the signing date at the end of a body, and bad input."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.dates import find_dates, parse_date, signature, signing_date
from analysis.numerals import chinese_number, digit_by_digit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2013年5月1日", date(2013, 5, 1)),
        ("2013年05月01日", date(2013, 5, 1)),
        (" 2013 年 5 月 1 日 ", date(2013, 5, 1)),
        ("2013-05-01", date(2013, 5, 1)),
        ("2013/5/1", date(2013, 5, 1)),
        ("2013.05.01", date(2013, 5, 1)),
        ("２０１３年５月１日", date(2013, 5, 1)),  # full-width digits
        ("２０１３－０５－０１", date(2013, 5, 1)),
        ("二〇一三年五月一日", date(2013, 5, 1)),
        ("二○一三年五月十一日", date(2013, 5, 11)),
        ("二零一三年十二月三十一日", date(2013, 12, 31)),
        ("二ＯＯ七年二月六日", date(2007, 2, 6)),  # full-width letter O for zero
        ("二OO一年四月十八日", date(2001, 4, 18)),
        ("二ОО六年六月八日", date(2006, 6, 8)),  # Cyrillic О
        ("一九九六年十一月五日", date(1996, 11, 5)),
        ("2013年5月1号", date(2013, 5, 1)),
        ("2019-02-17 15:35:13", date(2019, 2, 17)),
        ("2019-02-17T15:35:13+08:00", date(2019, 2, 17)),
        (datetime(2019, 2, 17, 15, 35), date(2019, 2, 17)),
        (date(2019, 2, 17), date(2019, 2, 17)),
    ],
)
def test_printed_forms(text: object, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2013年13月1日",  # no 13th month: not "corrected"
        "2013年13月",
        "2013年5月",  # incomplete: the day is not guessed
        "2013-02-30",
        "2013-05/01",  # mixed separators
        "20130501",
        "二〇一三年十三月一日",
        "二〇一三年二月三十日",
        "二〇一三年五月三十二日",
        "二〇一三年五月十十日",
        "2013年5月1日起施行",  # a sentence, not a date value
        "五月初",
        "",
        "   ",
        "x" * 100_000,
    ],
)
def test_bad_values_give_none(text: str) -> None:
    assert parse_date(text) is None


def test_non_strings_give_none() -> None:
    assert parse_date(None) is None
    assert parse_date(1367366400) is None  # a number is not read as a timestamp


def test_find_dates_in_running_text() -> None:
    text = (
        "本办法自２０１３年５月１日起施行，有效期至二〇一八年十二月三十一日。"
        "2013年13月1日不是日期；编号12013-05-01也不是。"
    )
    found = find_dates(text)
    assert [f.value for f in found] == [date(2013, 5, 1), date(2018, 12, 31)]
    assert text[found[0].start : found[0].end] == found[0].text == "２０１３年５月１日"


def test_numerals() -> None:
    assert chinese_number("五十九") == 59
    assert chinese_number("十一") == 11
    assert chinese_number("一百零五") == 105
    assert chinese_number("一千二百三十四") == 1234
    assert chinese_number("２５") == 25
    assert chinese_number("二〇一三") == 2013
    for bad in ("十十", "二三十", "百五", "一百五", "", "五x", "零五十"):
        assert chinese_number(bad) is None, bad
    assert digit_by_digit("二ＯＯ七") == 2007
    assert digit_by_digit("二十") is None


# --- the signing date -------------------------------------------------------------------

GOV_NOTICE = """国务院办公厅关于同意以哈尔滨市名义
申办2009年第二十四届世界
大学生冬季运动会的复函
国办函〔2004〕36号
黑龙江省人民政府，教育部、外交部、财政部、体育总局：
你们的请示收悉。经国务院领导同志批准，现函复如下：
同意以哈尔滨市名义申办2009年第二十四届世界大学生冬季运动会。
国务院办公厅
二〇〇四年四月二十七日
"""

FORWARDED = """沪财法[2007]9号
各区县财政局、税务局，各财税分局：
现将《财政部 国家税务总局关于广播电视村村通税收政策的通知》转发给你们，请按照执行。
上海市财政局
上海市国家税务局
上海市地方税务局
二ＯＯ七年二月六日
关于广播电视村村通税收政策的通知
财税[2007]17号
四、本通知的执行时间为2007年1月1日至2009年12月31日。
财政部
国家税务总局
二○○七年一月十八日
"""


def test_signature_under_the_issuing_agency() -> None:
    found = signature(GOV_NOTICE)
    assert found is not None
    assert found.day == date(2004, 4, 27)
    assert found.agencies == ("国务院办公厅",) and found.signed


def test_first_signature_wins_over_a_forwarded_documents() -> None:
    found = signature(FORWARDED)
    assert found is not None
    assert found.day == date(2007, 2, 6)
    assert found.agencies == ("上海市财政局", "上海市国家税务局", "上海市地方税务局")


def test_signer_line_and_agency_on_the_date_line() -> None:
    order = (
        "中华人民共和国商务部令\n2018 年 第 2 号\n《规则》已经审议通过，现予发布。\n"
        "部　长　　钟　山\n2018年4月4日\n规则正文"
    )
    assert signing_date(order) == date(2018, 4, 4)
    same_line = "正文。\n特此通知。\n北京市中医管理局　2020年10月13日\n"
    found = signature(same_line)
    assert found is not None and found.agencies == ("北京市中医管理局",)


@pytest.mark.parametrize(
    ("line", "day"),
    [
        ("2020年10月13日", date(2020, 10, 13)),
        ("二〇二〇年十月十三号", date(2020, 10, 13)),  # 号 closes it
        ("2020-10-13", date(2020, 10, 13)),  # a digit closes the ISO forms
        ("２０２０．１０．１３", date(2020, 10, 13)),  # full-width, read as ASCII digits
        ("北京市中医管理局　2020/10/3", date(2020, 10, 3)),
    ],
)
def test_every_form_of_a_signed_date_line(line: str, day: date) -> None:
    found = signature(f"正文。\n特此通知。\n北京市中医管理局\n{line}\n")
    assert found is not None and found.day == day and found.signed


def test_unsigned_date_line_at_the_end_counts_when_nothing_is_signed() -> None:
    body = (
        "各单位：\n现将有关事项通知如下。\n一、总体要求。\n"
        "2021年6月17日\n（此件主动公开）\n打印 关闭"
    )
    found = signature(body)
    assert found is not None and found.day == date(2021, 6, 17) and not found.signed


def test_no_signing_date_is_invented() -> None:
    assert signing_date("") is None
    assert signing_date("正文一句。\n正文二句。") is None
    # Incomplete or impossible dates under the agency are not signing dates.
    assert signing_date("正文。\n北京市中医管理局\n二OO一年四月\n") is None
    assert signing_date("正文。\n国务院\n2013年13月1日\n") is None
    # A date in a sentence, or in brackets under a title, is no signature.
    assert signing_date("本办法自2013年5月1日起施行。\n") is None
    assert signing_date("某某条例\n（2013年5月1日国务院第10次常务会议通过）\n第一条 正文。") is None
    assert signing_date("关于X的公示\n（2018年12月7日）\n正文。") is None


def test_html_entities_left_in_the_signature_line() -> None:
    body = "正文。\n国务院办公厅         &sp;\n一九九六年七月十七日\n"
    found = signature(body)
    assert found is not None and found.agencies == ("国务院办公厅",)
    # Written in full-width digits, as metadata's head reads it too.
    wide = signature("正文。\n国务院办公厅 &#１２２８８;\n一九九六年七月十七日\n")
    assert wide is not None and wide.agencies == ("国务院办公厅",)


def test_very_long_body() -> None:
    body = "正文" * 200_000 + "\n国务院\n2013年5月1日\n"
    assert signing_date(body) == date(2013, 5, 1)
    assert signing_date("2013年5月1日" * 20_000) is None


# --- properties ----------------------------------------------------------------------------

days = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
_CN_DIGITS = "〇一二三四五六七八九"


def _chinese(day: date) -> str:
    """二〇一三年五月十一日, as documents print their signing dates."""

    def count(n: int) -> str:  # 5 -> 五, 10 -> 十, 11 -> 十一, 20 -> 二十, 31 -> 三十一
        tens, units = divmod(n, 10)
        text = (_CN_DIGITS[tens] if tens > 1 else "") + ("十" if tens else "")
        return text + (_CN_DIGITS[units] if units else "")

    year = "".join(_CN_DIGITS[int(c)] for c in str(day.year))
    return f"{year}年{count(day.month)}月{count(day.day)}日"


@settings(database=None, deadline=None)
@given(days)
def test_every_form_round_trips(day: date) -> None:
    assert parse_date(day.isoformat()) == day
    assert parse_date(f"{day.year}年{day.month}月{day.day}日") == day
    assert parse_date(f"{day.year}/{day.month}/{day.day}") == day
    assert parse_date(_chinese(day)) == day
    assert [f.value for f in find_dates(f"于{_chinese(day)}印发")] == [day]


@settings(database=None, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes(text: str) -> None:
    value = parse_date(text)
    assert value is None or isinstance(value, date)
    for found in find_dates(text):
        assert found.value.year in range(1900, 2101)
    signing_date(text)
