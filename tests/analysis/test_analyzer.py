"""Tests for ``analysis.analyzer``: what a document is indexed as."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.analyzer import (
    MAX_REMEMBERED,
    DocumentAnalyzer,
    analysis_key,
    body_token_counts,
    searchable_body,
)
from analysis.native import TokenCounter
from analysis.tokenizer import GovTokenizer, char_bigrams
from gongkai.document import Attachment, Document


@pytest.fixture(scope="module")
def analyzer() -> DocumentAnalyzer:
    return DocumentAnalyzer(GovTokenizer())


def test_fields_are_the_tokeniser_tokens_and_bigrams(analyzer: DocumentAnalyzer) -> None:
    doc = Document(
        id="a", title="关于调整最低生活保障标准的通知", body="ＡＢ市房屋征收补偿，２０２３年。"
    )
    analysed = analyzer.analyze(doc)
    tokenizer = analyzer.tokenizer
    assert analysed.document is doc
    assert analysed.title_tokens == tokenizer.tokenize(doc.title)
    assert analysed.body_tokens == tokenizer.tokenize(doc.body)
    assert analysed.title_grams == char_bigrams(doc.title)
    assert analysed.body_grams == char_bigrams(doc.body)
    assert "ab" in analysed.body_tokens and "2023" in analysed.body_tokens
    # What the engines index: the same tokens joined by single spaces.
    assert analysed.body_text == " ".join(tokenizer.tokenize(doc.body))
    assert analysed.title_gram_text == " ".join(char_bigrams(doc.title))


def test_derived_title_is_not_indexed(analyzer: DocumentAnalyzer) -> None:
    doc = Document(id="b", title="第一行", title_derived=True, body="第一行\n正文")
    analysed = analyzer.analyze(doc)
    assert analysed.title_tokens == [] and analysed.title_grams == []
    assert analysed.body_tokens == analyzer.tokenizer.tokenize(doc.body)


def test_attachment_text_is_part_of_the_body(analyzer: DocumentAnalyzer) -> None:
    doc = Document(
        id="c",
        title="通知",
        body="正文",
        attachments=[Attachment(name="附件1", text="申请表格"), Attachment(name="附件2")],
    )
    assert searchable_body(doc) == "正文\n申请表格"
    analysed = analyzer.analyze(doc)
    assert "申请" in analysed.body_tokens
    assert analysed.body_grams == char_bigrams("正文\n申请表格")


def test_analyze_many_keeps_order(analyzer: DocumentAnalyzer) -> None:
    docs = [Document(id=str(i), title=f"标题{i}", body=f"正文第{i}条") for i in range(5)]
    assert analyzer.analyze_many(docs) == [analyzer.analyze(d) for d in docs]
    assert analyzer.analyze_many([]) == []


# Analyses made elsewhere (the enrichment workers) -------------------------------------------


def test_a_remembered_analysis_is_used_once_and_only_for_the_same_texts() -> None:
    analyzer = DocumentAnalyzer(GovTokenizer())
    doc = Document(id="r", title="关于低保的通知", body="城乡最低生活保障标准")
    # Fields no tokeniser would give: seeing them proves the remembered analysis was used.
    marked = ("标记", "标记 一", "标记 二", "标记 三")
    analyzer.remember_analysis(doc, marked)
    other_body = doc.model_copy(update={"body": "城乡最低生活保障标准。"})
    other_title = doc.model_copy(update={"title": "关于医保的通知"})
    derived = doc.model_copy(update={"title_derived": True})
    for different in (other_body, other_title, derived):
        assert analyzer.analyze(different).body_text != "标记 一"
    # Another document with the same texts may use it (it is what it would compute) ...
    again = doc.model_copy(update={"id": "r2"})
    analysed = analyzer.analyze(again)
    assert (analysed.title_text, analysed.body_text) == ("标记", "标记 一")
    assert analysed.document is again
    # ... once.
    assert analyzer.analyze(doc).body_text == analyzer.analyze_text(*analysis_key(doc))[1]


def test_remembered_analyses_are_bounded_and_the_oldest_go_first() -> None:
    analyzer = DocumentAnalyzer(GovTokenizer())
    docs = [Document(id=str(n), title=f"标题{n}", body="正文") for n in range(MAX_REMEMBERED + 5)]
    for n, doc in enumerate(docs):
        analyzer.remember_analysis(doc, (f"标记{n}", "", "", ""))
    assert len(analyzer._remembered) == MAX_REMEMBERED
    # The newest are kept (the ones an ingest is about to index) ...
    assert analyzer.analyze(docs[-1]).title_text == f"标记{len(docs) - 1}"
    assert analyzer.analyze(docs[5]).title_text == "标记5"
    # ... the oldest were let go, and are analysed afresh.
    assert analyzer.analyze(docs[4]).title_text == analyzer.analyze_text(*analysis_key(docs[4]))[0]


_PIECES = st.sampled_from(
    [
        "城乡",
        "最低生活保障",
        "房屋征收补偿",
        "的",
        " ",
        "　",
        "\n",
        "ＡＢ",
        "a b",
        "１２",
        "、",
        "😀",
    ]
)
_TEXT = st.lists(_PIECES | st.characters(exclude_categories=["Cs"]), max_size=40).map("".join)


@pytest.fixture(scope="module", params=[True, False], ids=["native", "python"])
def any_tokenizer(request: pytest.FixtureRequest) -> GovTokenizer:
    return GovTokenizer(use_native=request.param)


@settings(max_examples=150, deadline=None)
@given(title=_TEXT, body=_TEXT)
def test_body_token_counts_read_off_the_analysis_are_the_tokenisers(
    any_tokenizer: GovTokenizer, title: str, body: str
) -> None:
    # Counted natively and in Python alike, whichever analyser made the text.
    tokenizer = any_tokenizer
    doc = Document(id="t", title=title or "标题", body=body)
    fields = DocumentAnalyzer(tokenizer).analyze_text(*analysis_key(doc))
    expected = Counter(tokenizer.tokenize(doc.body))
    for counter in (TokenCounter(), TokenCounter(use_native=False)):
        assert body_token_counts(doc, fields, counter) == expected


def test_body_token_counts_are_not_read_off_a_body_with_attachments(
    analyzer: DocumentAnalyzer,
) -> None:
    doc = Document(
        id="a", title="通知", body="正文", attachments=[Attachment(name="附件", text="表")]
    )
    fields = analyzer.analyze_text(*analysis_key(doc))
    assert body_token_counts(doc, fields, TokenCounter()) is None
