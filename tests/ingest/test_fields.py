"""Source values -> Document values: dates, 主题分类, 主题词, labels, derived titles."""

from __future__ import annotations

from datetime import date

import pytest

from ingest.support.fields import (
    derive_title,
    normalize_label,
    parse_date,
    parse_topic,
    split_subject_words,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2013-05-01", date(2013, 5, 1)),
        ("2013-5-1", date(2013, 5, 1)),
        ("2013/05/01", date(2013, 5, 1)),
        ("2013.05.01", date(2013, 5, 1)),
        ("2019-02-17 15:35:13", date(2019, 2, 17)),
        ("2019-02-17T15:35:13+08:00", date(2019, 2, 17)),
        ("2013年5月1日", date(2013, 5, 1)),
        ("2019年01月27日", date(2019, 1, 27)),
        (" 2019 年 1 月 27 日 ", date(2019, 1, 27)),
        ("二〇〇五年七月十四日", date(2005, 7, 14)),
        ("一九九六年十一月五日", date(1996, 11, 5)),
        ("二〇一八年十二月二十九日", date(2018, 12, 29)),
        ("2013-02-30", None),  # impossible: kept raw by callers, never "corrected"
        ("20130501", None),
        ("2013年5月", None),
        ("五月初", None),
        ("", None),
        (None, None),
        (1367366400, None),  # a number is not read as a timestamp
    ],
)
def test_parse_date(text: object, expected: date | None) -> None:
    assert parse_date(text) == expected


def test_parse_topic() -> None:
    assert parse_topic("城乡建设、环境保护\\城市规划") == {
        "top": "城乡建设、环境保护",
        "sub": "城市规划",
    }
    assert parse_topic("国防/国防建设") == {"top": "国防", "sub": "国防建设"}
    assert parse_topic("其他") == {"top": "其他", "sub": None}
    assert parse_topic("  ") is None


def test_labels_and_subject_words() -> None:
    assert normalize_label("索 引 号：") == "索引号"
    assert normalize_label("标\u3000\u3000题:") == "标题"
    assert split_subject_words("体育\u3000运动会\u3000机场 批复") == [
        "体育",
        "运动会",
        "机场",
        "批复",
    ]
    assert split_subject_words(["气象", " ", "广东"]) == ["气象", "广东"]


def test_derive_title() -> None:
    assert derive_title("\n\n　　关于低保的通知\n正文") == "关于低保的通知"
    assert derive_title("您好。" + "很长" * 100) == "您好。"
    assert derive_title("字" * 200) == "字" * 80
    assert derive_title(" \n ") == ""
