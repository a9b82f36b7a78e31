"""Tests for ``analysis.validity``: what a document's own text says about its validity."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.validity import _sentences, validity_from_text
from gongkai.document import Document, Validity
from gongkai.settings import Settings
from ingest.jsonl import JsonlIngestor

TODAY = date(2024, 6, 1)


def _doc(body: str, **fields: object) -> Document:
    return Document(id="d", title="测试", body=body, **fields)  # type: ignore[arg-type]


def test_effective_date_means_in_force() -> None:
    got = validity_from_text(_doc("一、总则……\n第三十条 本办法自2013年5月1日起施行。"), TODAY)
    assert got == Validity(status="有效", evidence="第三十条 本办法自2013年5月1日起施行")


def test_in_force_from_publication() -> None:
    got = validity_from_text(_doc("正文。\n本办法自发布之日起施行。"), TODAY)
    assert got is not None
    assert got.status == "有效"
    assert got.evidence == "本办法自发布之日起施行"


@pytest.mark.parametrize(
    ("today", "status"), [(date(2025, 12, 31), "有效"), (date(2026, 1, 1), "失效")]
)
def test_valid_until_a_day_judged_against_today(today: date, status: str) -> None:
    body = "各区：\n现将有关事项通知如下。\n本通知自印发之日起施行，有效期至2025年12月31日。"
    got = validity_from_text(_doc(body), today)
    assert got is not None
    assert got.status == status
    assert got.evidence == "本通知自印发之日起施行，有效期至2025年12月31日"


@pytest.mark.parametrize(
    "statement",
    [
        "本办法自2013年5月1日起施行。",
        "本办法自2013年5月1日起实施。",
        "本决定自2013年5月1日起生效。",
        "本方案自2013年5月1日起执行。",
        "本细则自2013年5月1日起试行。",
    ],
)
def test_every_way_of_stating_a_first_day_is_read(statement: str) -> None:
    # Each form closes with one word of its own (see the test below).
    body = "各区：\n现将有关事项通知如下。\n" + statement
    got = validity_from_text(_doc(body), TODAY)
    assert got == Validity(status="有效", evidence=statement.rstrip("。"))


@pytest.mark.parametrize(
    "statement",
    [
        "本办法2025年12月31日后自动失效。",  # only 失效 names it
        "本规定2025年12月31日起自行废止。",  # only 废止
        "本通知有效期限至2025年12月31日。",  # only 有效期
        "本方案执行至2025年12月31日。",  # only 执行
        "本细则试行到2025年12月31日。",  # only 试行
    ],
)
def test_every_way_of_stating_a_last_day_is_read(statement: str) -> None:
    # Each form holds one word of its own: a sentence is read only when it holds one.
    body = "各区：\n现将有关事项通知如下。\n" + statement
    got = validity_from_text(_doc(body), date(2026, 1, 1))
    assert got is not None
    assert (got.status, got.evidence) == ("失效", statement.rstrip("。"))
    still = validity_from_text(_doc(body), date(2025, 12, 31))
    assert still is not None and still.status == "有效"


def test_valid_for_years_counted_from_the_effective_date_in_the_text() -> None:
    body = "本办法自2013年5月1日起施行，有效期五年。"
    # Five years from 2013-05-01: in force through 2018-04-30.
    assert validity_from_text(_doc(body), date(2018, 4, 30)) == Validity(
        status="有效", evidence="本办法自2013年5月1日起施行，有效期五年"
    )
    got = validity_from_text(_doc(body), date(2018, 5, 1))
    assert got is not None
    assert got.status == "失效"


def test_valid_for_years_counted_from_date_written_then_published() -> None:
    body = "本意见自印发之日起施行，有效期为5年。"
    written = _doc(body, date_written=date(2015, 3, 1), date_published=date(2020, 1, 1))
    published = _doc(body, date_published=date(2020, 1, 1))
    # 印发之日: the publication date when given (2020 + 5 years is not over in mid-2024).
    assert validity_from_text(written, TODAY) == Validity(status="有效", evidence=body[:-1])
    assert validity_from_text(published, TODAY) == Validity(status="有效", evidence=body[:-1])
    old = _doc(body, date_written=date(2015, 3, 1))
    got = validity_from_text(old, TODAY)
    assert got is not None
    assert got.status == "失效"


@pytest.mark.parametrize(
    ("body", "end_ok", "end_over"),
    [
        ("本方案有效期两年。", date(2021, 12, 31), date(2022, 1, 1)),
        ("本细则有效期为十八个月。", date(2021, 6, 30), date(2021, 7, 1)),
        ("本规定试行期为3年。", date(2022, 12, 31), date(2023, 1, 1)),
    ],
)
def test_valid_for_periods_in_words_and_figures(body: str, end_ok: date, end_over: date) -> None:
    doc = _doc(body, date_written=date(2020, 1, 1))
    assert validity_from_text(doc, end_ok) == Validity(status="有效", evidence=body[:-1])
    assert validity_from_text(doc, end_over) == Validity(status="失效", evidence=body[:-1])


def test_leap_day_start() -> None:
    doc = _doc("本办法有效期1年。", date_written=date(2020, 2, 29))
    # 2020-02-29 + 1 year -> 2021-02-28, so the last day in force is 2021-02-27.
    assert validity_from_text(doc, date(2021, 2, 27)).status == "有效"  # type: ignore[union-attr]
    assert validity_from_text(doc, date(2021, 2, 28)).status == "失效"  # type: ignore[union-attr]


def test_period_without_any_start_date_is_unknown_with_the_sentence() -> None:
    got = validity_from_text(_doc("本意见自印发之日起施行，有效期为五年。"), TODAY)
    assert got == Validity(status="unknown", evidence="本意见自印发之日起施行，有效期为五年")


def test_without_today_an_end_date_is_not_judged() -> None:
    got = validity_from_text(_doc("本通知有效期至2020年12月31日。"))
    assert got == Validity(status="unknown", evidence="本通知有效期至2020年12月31日")
    # A 施行 statement alone needs no clock.
    only_start = validity_from_text(_doc("本办法自2013年5月1日起施行。"))
    assert only_start is not None
    assert only_start.status == "有效"


def test_self_repeal_on_a_date() -> None:
    body = "本办法自二〇一九年一月一日起施行，2020年12月31日后自行废止。"
    assert validity_from_text(_doc(body), date(2020, 12, 31)).status == "有效"  # type: ignore[union-attr]
    got = validity_from_text(_doc(body), date(2021, 1, 1))
    assert got == Validity(status="失效", evidence=body[:-1])


def test_conditional_repeal_decides_nothing() -> None:
    assert validity_from_text(_doc("上位法出台后，本办法同时废止。"), TODAY) is None


def test_another_documents_repeal_is_not_this_documents_validity() -> None:
    # 《旧办法》同时废止 is about the old document (references + lineage handle it).
    got = validity_from_text(_doc("本办法自2020年1月1日起施行，《旧办法》同时废止。"), TODAY)
    assert got is not None
    assert got.status == "有效"


@pytest.mark.parametrize(
    "body",
    [
        "农药登记证有效期为5年。",
        "第十条 勘查许可证有效期最长为3年。",
        "收到申请的卫生主管部门对具备本条例规定条件的，准予延续，延续执业注册有效期为5年。",
        "《某某条例》自2001年1月1日起施行。",
        "该办法自2001年1月1日起施行以来，效果良好。",
    ],
)
def test_sentences_about_something_else_are_ignored(body: str) -> None:
    assert validity_from_text(_doc(body), TODAY) is None


def test_a_bare_statement_counts_only_near_the_end() -> None:
    tail = _doc("正文。\n有效期5年。", date_written=date(2022, 1, 1))
    assert validity_from_text(tail, TODAY) == Validity(status="有效", evidence="有效期5年")
    early = _doc("有效期5年。\n" + "\n".join(f"第{i}条 内容。" for i in range(1, 20)))
    assert validity_from_text(early, TODAY) is None


def test_page_field_wins_over_text() -> None:
    doc = _doc("本办法有效期至2010年12月31日。", validity="有效")
    assert validity_from_text(doc, TODAY) == Validity(status="有效", evidence="field: 有效")


def test_non_field_validity_is_decided_again_from_text() -> None:
    doc = _doc("本办法有效期至2010年12月31日。", validity=Validity(status="有效", evidence="x"))
    got = validity_from_text(doc, TODAY)
    assert got is not None
    assert got.status == "失效"


def test_evidence_is_quoted_as_written() -> None:
    got = validity_from_text(_doc("本办法自２０１３年５月１日起施行。"), TODAY)
    assert got is not None
    assert got.evidence == "本办法自２０１３年５月１日起施行"


@pytest.mark.parametrize(
    "body", ["本通知有效期至2013年13月1日。", "本办法自2013年2月30日起施行。", "", "   \n"]
)
def test_impossible_dates_and_empty_bodies_never_guess(body: str) -> None:
    got = validity_from_text(_doc(body), TODAY)
    assert got is None or got.status in ("有效", "unknown")
    if got is not None:
        assert got.status != "失效"


def test_the_latest_end_statement_wins() -> None:
    body = "本办法有效期至2019年12月31日。\n经评估，本办法有效期延长至2025年12月31日。"
    # The later sentence extends the period; it must decide.
    got = validity_from_text(_doc(body), TODAY)
    assert got is not None
    assert got.status == "有效"
    assert "2025" in (got.evidence or "")


# --- real data ----------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_lawrefbook_text_and_field(shared_data: Path) -> None:
    docs = [
        d
        for d in JsonlIngestor(Settings(data_dir=Path("unused"))).ingest(
            shared_data / "lawrefbook.dev.jsonl"
        )
        if isinstance(d, Document)
    ]
    statuses: Counter[str] = Counter()
    for doc in docs:
        if doc.validity.status != "unknown":
            # The page field always wins.
            assert validity_from_text(doc, TODAY) == doc.validity
        text_only = doc.model_copy(update={"validity": Validity()})
        got = validity_from_text(text_only, TODAY)
        statuses[got.status if got else "none"] += 1
    # Statutes state when they take effect; licences' 有效期 must not expire the statute.
    assert statuses["有效"] > 0.75 * len(docs)
    assert statuses["失效"] <= 2


def _split_and_stripped(text: str) -> list[tuple[int, str]]:
    """The plain definition `_sentences` must equal: split at runs of sentence ends, strip
    each piece, keep the non-empty ones with where they start."""
    found = []
    start = 0
    for boundary in [*re.finditer(r"[。；;！!？?\n]+", text), None]:
        piece = text[start : boundary.start() if boundary else len(text)]
        if piece.strip():
            found.append((start + len(piece) - len(piece.lstrip()), piece.strip()))
        start = boundary.end() if boundary else len(text)
    return found


@settings(max_examples=500, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from("。；;！!？?\n \t\u3000\u2028\x1c\x85\xa0\r﹔｡ab中"), max_size=20
    )
)
def test_sentences_are_the_text_split_at_sentence_ends_and_stripped(text: str) -> None:
    # Every kind of space Python strips (some are line breaks that do not end a sentence),
    # and look-alikes of sentence ends that do not end one either.
    assert _sentences(text) == _split_and_stripped(text)
