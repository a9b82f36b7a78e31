"""Tests for ``gongkai.parallel``: analysis on worker processes gives the sequential result."""

from __future__ import annotations

import pytest

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from gongkai.document import Attachment, Document
from gongkai.parallel import MIN_PARALLEL, ParallelAnalyzer

TEXTS = [
    "国有土地上房屋征收与补偿条例第十七条：参加城乡居民基本养老保险的人员。",
    "２０２３年ＡＢ类补贴12.5％，c++ c# a_b 的 了",
    "示例市惠民补贴发放办法（试行）",
    "，。！",
    "",
]


def corpus(n: int) -> list[Document]:
    docs = []
    for i in range(n):
        text = TEXTS[i % len(TEXTS)]
        docs.append(
            Document(
                id=f"d{i}",
                title=TEXTS[(i + 1) % len(TEXTS)],
                title_derived=i % 7 == 0,
                body=f"{text}第{i}条",
                attachments=[Attachment(name="附件", text="附件正文")] if i % 5 == 0 else [],
            )
        )
    return docs


def test_workers_give_the_sequential_result_with_the_same_terms_and_stop_words() -> None:
    # Extra terms and stop words must reach the workers: both change the tokens.
    tokenizer = GovTokenizer(
        extra_terms=["示例市惠民补贴"], stop_words=frozenset({"补贴", "的"}), use_native=False
    )
    docs = corpus(MIN_PARALLEL * 2 + 3)
    expected = DocumentAnalyzer(tokenizer).analyze_many(docs)
    assert any("示例市惠民补贴" in a.body_tokens + a.title_tokens for a in expected)
    with ParallelAnalyzer(tokenizer, workers=2) as parallel:
        assert parallel.analyze_many(docs) == expected
        assert parallel._pool is not None  # the workers did the work
        # A second batch reuses the same workers.
        assert parallel.analyze_many(docs[::-1]) == expected[::-1]
    assert parallel._pool is None


def test_small_batches_stay_in_process() -> None:
    tokenizer = GovTokenizer()
    docs = corpus(MIN_PARALLEL - 1)
    with ParallelAnalyzer(tokenizer, workers=2) as parallel:
        assert parallel.analyze_many(docs) == DocumentAnalyzer(tokenizer).analyze_many(docs)
        assert parallel._pool is None


def test_the_native_analyser_works_in_the_calling_process() -> None:
    tokenizer = GovTokenizer()
    if tokenizer.native is None:
        pytest.skip("native analyser not built (pip install ./native)")
    docs = corpus(MIN_PARALLEL * 2 + 3)
    with ParallelAnalyzer(tokenizer, workers=2) as parallel:
        assert parallel.analyze_many(docs) == DocumentAnalyzer(tokenizer).analyze_many(docs)
        assert parallel._pool is None  # no worker was started
