"""Tests for ``analysis.analyzer``: what a document is indexed as."""

from __future__ import annotations

import pytest

from analysis.analyzer import DocumentAnalyzer, searchable_body
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
