"""Tests for ``analysis.references``: references to other documents and their kind."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.references import (
    _DOC_NUMBER,
    _doc_numbers,
    extract_references,
    find_titles,
    header_doc_number,
    normalise_doc_number,
    normalise_title,
)
from gongkai.document import Document, Reference


def _refs(
    body: str, title: str = "某某办法", **fields: object
) -> list[tuple[str, str | None, str | None]]:
    doc = Document(id="d", title=title, body=body, **fields)  # type: ignore[arg-type]
    return [(r.kind, r.title, r.doc_number) for r in extract_references(doc)]


def test_cited_with_number_kept_raw() -> None:
    body = "根据《国务院办公厅关于加强X工作的通知》（国办发〔2013〕73号）精神，制定本办法。"
    assert _refs(body) == [("cites", "国务院办公厅关于加强X工作的通知", "国办发〔2013〕73号")]


def test_citation_verbs_and_implementation() -> None:
    body = (
        "依据《中华人民共和国行政处罚法》，依照《X条例》，按照《Y规定》，"
        "为贯彻落实《国务院关于Z的意见》，制定本办法。"
    )
    assert _refs(body) == [
        ("cites", "中华人民共和国行政处罚法", None),
        ("cites", "X条例", None),
        ("cites", "Y规定", None),
        ("implements", "国务院关于Z的意见", None),
    ]


def test_abolition_decision_in_title_and_body() -> None:
    assert _refs("国务院决定废止《A条例》。", title="国务院关于废止《A条例》的决定") == [
        ("abolishes", "A条例", None)
    ]


def test_abolished_at_the_same_time_with_numbers_and_lists() -> None:
    body = (
        "第三十条 本办法自2013年1月1日起施行，1990年3月2日财政部令第6号发布的《旧B办法》、"
        "《C规定》（法释〔2000〕30号）同时废止。"
    )
    assert _refs(body) == [
        ("abolishes", "旧B办法", "财政部令第6号"),
        ("abolishes", "C规定", "法释〔2000〕30号"),
    ]


def test_abolition_does_not_reach_back_to_a_cited_act() -> None:
    body = "根据《A法》的规定，制定本办法。本办法施行后，《B办法》同时废止。"
    assert _refs(body) == [("cites", "A法", None), ("abolishes", "B办法", None)]
    one_sentence = "依据《A法》制定的《B办法》同时废止。"
    assert _refs(one_sentence)[0] == ("cites", "A法", None)


def test_amendment_forms() -> None:
    assert _refs(
        "国务院决定对《D条例》作如下修改：\n一、将第三条修改为：……", "关于修改《D条例》的决定"
    ) == [("amends", "D条例", None)]
    assert _refs("将《E办法》第五条修改为：“……”")[0] == ("amends", "E办法", None)
    # Inside the new wording, a citation stays a citation.
    body = "将第三条修改为：\n“依照《中华人民共和国民事诉讼法》第一百一十九条的规定审查。”"
    assert _refs(body) == [("cites", "中华人民共和国民事诉讼法", None)]


def test_decision_with_numbered_lists() -> None:
    body = (
        "国务院决定：\n一、废止下列行政法规：\n1.《E条例》\n2.《F办法》（1990年发布）\n"
        "二、对下列行政法规的部分条款予以修改：\n1.《G条例》\n2.《H规定》\n"
        "本决定自公布之日起施行。依据《I法》。"
    )
    assert _refs(body, title="国务院关于废止和修改部分行政法规的决定") == [
        ("abolishes", "E条例", None),
        ("abolishes", "F办法", None),
        ("amends", "G条例", None),
        ("amends", "H规定", None),
        ("cites", "I法", None),
    ]


def test_titles_that_implement_an_act() -> None:
    assert _refs("", title="北京市实施《中华人民共和国文物保护法》办法") == [
        ("implements", "中华人民共和国文物保护法", None)
    ]
    assert _refs("", title="中华人民共和国计量法实施细则") == [
        ("implements", "中华人民共和国计量法", None)
    ]
    # Not an act: 合同实施细则 does not implement a document called 合同.
    assert _refs("", title="铁路货物运输合同实施细则") == []


def test_nested_quotes_and_short_names() -> None:
    body = (
        "根据《横琴粤澳深度合作区建设总体方案》（以下简称《总体方案》）和"
        "《北京市实施〈中华人民共和国水法〉办法》，落实《总体方案》要求，执行《规定》。"
    )
    assert _refs(body) == [
        ("cites", "横琴粤澳深度合作区建设总体方案", None),
        ("cites", "北京市实施《中华人民共和国水法》办法", None),
    ]


def test_one_reference_per_target_strongest_kind_kept() -> None:
    body = "根据《A条例》（国发〔2001〕1号），……。《A条例》同时废止。"
    assert _refs(body) == [("abolishes", "A条例", "国发〔2001〕1号")]


def test_bare_numbers_and_own_number() -> None:
    body = "某某规定\n\n法释〔2022〕18号\n\n按照国办发〔2014〕5号文件和京政办发[2015]12 号要求。"
    assert _refs(body) == [
        ("cites", None, "国办发〔2014〕5号"),
        ("cites", None, "京政办发[2015]12号"),
    ]
    assert header_doc_number(body) == "法释〔2022〕18号"
    # The document's own number from its field is not a citation either.
    numbered = "各区：\n按照国办发〔2014〕5号文件要求。"
    assert _refs(numbered, doc_number="国办发〔2014〕5号") == []


def test_a_document_naming_itself_is_not_a_citation() -> None:
    assert _refs("《某某办法》适用于本市。", title="某某办法") == []
    # ... but repealing an earlier version of its own title is kept (lineage decides).
    assert _refs("1987年发布的《某某办法》同时废止。", title="某某办法") == [
        ("abolishes", "某某办法", None)
    ]


@pytest.mark.parametrize(
    "body",
    ["", "没有任何引用。", "《", "》《", "《未闭合的书名\n下一行》", "《" + "长" * 200 + "》"],
)
def test_bad_input_gives_no_references(body: str) -> None:
    assert _refs(body) == []


def test_find_titles_spans() -> None:
    text = "见《A〈B〉C》和《D》"
    spans = list(find_titles(text))
    assert [s.title for s in spans] == ["A《B》C", "D"]
    assert text[spans[0].start : spans[0].end] == "《A〈B〉C》"
    assert [s.title for s in find_titles("《〈X条例〉罚款处罚办法》")] == ["《X条例》罚款处罚办法"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("中华人民共和国农药管理条例", "农药管理条例"),
        ("农药管理条例（2017年修订）", "农药管理条例"),
        ("农药管理条例(2017修订)", "《农药管理条例》"),
        ("北京市实施〈中华人民共和国水法〉办法", "北京市实施《中华人民共和国水法》办法"),
        ("关于 加强X的 通知", "关于加强X的通知"),
    ],
)
def test_title_keys_match(a: str, b: str) -> None:
    assert normalise_title(a) == normalise_title(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("解释（二）", "解释（一）"), ("规则（试行）", "规则"), ("A条例", "B条例")],
)
def test_title_keys_keep_what_tells_acts_apart(a: str, b: str) -> None:
    assert normalise_title(a) != normalise_title(b)


@pytest.mark.parametrize(
    "raw",
    ["国办发〔2013〕73号", "国办发[2013]73号", "国办发（2013）73号", "国办发【2013】 73 号",
     "国办发﹝２０１３﹞７３号", "国办发(2013)73号"],
)  # fmt: skip
def test_number_keys_match(raw: str) -> None:
    assert normalise_doc_number(raw) == "国办发〔2013〕73号"


def test_number_keys_drop_state_and_former_prefixes() -> None:
    assert normalise_doc_number("中华人民共和国国务院令第656号") == "国务院令第656号"
    assert normalise_doc_number("原国家工商行政管理总局令第56号") == normalise_doc_number(
        "国家工商行政管理总局令第56号"
    )


def test_references_are_document_references() -> None:
    doc = Document(id="d", title="t", body="根据《A法》。")
    assert extract_references(doc) == [Reference(kind="cites", title="A法")]


_CJK = st.text(alphabet="国务院办公厅发令关于中华人民共和省", min_size=0, max_size=24)
_SPACE = st.sampled_from(["", "", " ", "\u3000", "\n"])
# 发文字号 (and near misses) built from their parts, among pieces of other text.
_NUMBERS = st.tuples(
    _CJK,
    _SPACE,
    st.sampled_from([*"〔[［【(（﹝", "令", "令第", "令2013年第", "x"]),
    _SPACE,
    st.sampled_from(["2013", "２０１３", "201", ""]),
    st.sampled_from([*"〕]］】)）﹞", "", "年"]),
    st.sampled_from(["第", "", " "]),
    st.sampled_from(["73", "7", "123456", ""]),
    _SPACE,
    st.sampled_from(["号", "号", ""]),
).map("".join)
_NUMBER_TEXT = st.lists(
    st.one_of(_NUMBERS, st.sampled_from([*"，。号第年0 ", "关于", "通知"])), max_size=8
).map("".join)


@settings(max_examples=1500)
@given(_NUMBER_TEXT, st.integers(0, 200), st.integers(0, 200))
def test_anchored_number_scan_finds_what_the_pattern_finds(text: str, start: int, end: int) -> None:
    expected = [m.span() for m in _DOC_NUMBER.finditer(text, start, end)]
    assert [m.span() for m in _doc_numbers(text, start, end)] == expected
    assert [m.span() for m in _doc_numbers(text)] == [m.span() for m in _DOC_NUMBER.finditer(text)]


# --- real data ----------------------------------------------------------------------------


@pytest.mark.realdata
def test_anchored_number_scan_on_real_texts(lawrefbook: list[Document]) -> None:
    found = 0
    for doc in lawrefbook:
        expected = [m.group() for m in _DOC_NUMBER.finditer(doc.body)]
        assert [m.group() for m in _doc_numbers(doc.body)] == expected, doc.id
        found += len(expected)
    assert found > 50  # the real texts do hold numbers (95 in the dev set)


@pytest.mark.realdata
def test_real_lawrefbook_references(lawrefbook: list[Document]) -> None:
    started = time.perf_counter()
    refs = {doc.id: extract_references(doc) for doc in lawrefbook}
    assert time.perf_counter() - started < 30  # ~2 s here
    kinds = Counter(r.kind for rs in refs.values() for r in rs)
    assert kinds["cites"] > 2000
    assert kinds["abolishes"] > 250
    assert kinds["amends"] > 50
    assert kinds["implements"] > 50
    for doc in lawrefbook:
        for ref in refs[doc.id]:
            assert ref.title or ref.doc_number
            if ref.title:  # the outer 《》 off (a title may start with an inner one)
                wrapped = ref.title.startswith("《") and ref.title.endswith("》")
                assert not (wrapped and ref.title.count("《") == 1)

    by_id = {d.id: d for d in lawrefbook}
    notice = refs["law-000a5e4362e66ca8"]  # 关于职工全年月平均工作时间和工资折算问题的通知
    assert (
        Reference(kind="cites", title="全国年节及纪念日放假办法", doc_number="国务院令第513号")
        in notice
    )
    assert (
        Reference(
            kind="abolishes",
            title="关于职工全年月平均工作时间和工资折算问题的通知",
            doc_number="劳社部发[2000]8号",
        )
        in notice
    )
    market = next(d for d in lawrefbook if d.title == "中华人民共和国市场主体登记管理条例")
    abolished = {r.title for r in refs[market.id] if r.kind == "abolishes"}
    assert abolished == {
        "中华人民共和国公司登记管理条例",
        "中华人民共和国企业法人登记管理条例",
        "中华人民共和国合伙企业登记管理办法",
        "农民专业合作社登记管理条例",
        "企业法人法定代表人登记管理规定",
    }
    assert by_id  # documents were read
