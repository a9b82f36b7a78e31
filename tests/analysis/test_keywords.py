"""Tests for ``analysis.keywords``: TF-IDF keywords over the project tokeniser."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from pathlib import Path

import pytest

from analysis.keywords import BOILERPLATE, KeywordExtractor
from analysis.tokenizer import GovTokenizer

NOTICE = (
    "关于进一步做好城乡居民最低生活保障工作的通知\n"
    "各区人民政府：为进一步做好最低生活保障工作，现就有关工作通知如下。"
    "一、提高最低生活保障标准，自2024年7月1日起每人每月1450元。"
    "二、规范最低生活保障审核确认，严格执行家庭经济状况核对。"
    "三、加强最低生活保障资金管理，做到专款专用。"
    "四、做好临时救助与最低生活保障的衔接，困难群众应保尽保。"
)


@pytest.fixture(scope="module")
def extractor(tokenizer: GovTokenizer) -> KeywordExtractor:
    return KeywordExtractor(tokenizer)


def test_topic_words_first_and_no_boilerplate(extractor: KeywordExtractor) -> None:
    words = extractor.top(NOTICE, k=8)
    assert words[0] == "最低生活保障"
    assert len(words) == 8
    for word in words:
        assert word not in BOILERPLATE
        assert len(word) >= 2
        assert not any(ch.isdigit() for ch in word)
    for generic in ("通知", "关于", "进一步", "工作", "有关", "做好"):
        assert generic not in words


def test_pieces_of_a_chosen_keyword_are_not_repeated(extractor: KeywordExtractor) -> None:
    words = extractor.top(NOTICE, k=8)
    for word in words:
        assert not any(word != other and word in other for other in words), words


def test_numbers_and_dates_are_never_keywords(extractor: KeywordExtractor) -> None:
    for token in ("2024年", "1450", "第三条", "十二月", "3.5%", "一", "元"):
        assert not extractor.is_candidate(token)
    assert extractor.is_candidate("5G") and extractor.is_candidate("医保")


def test_scores_are_sorted_and_bounded(extractor: KeywordExtractor) -> None:
    scores = extractor.scores(NOTICE, k=5)
    assert len(scores) == 5
    assert [s for _, s in scores] == sorted((s for _, s in scores), reverse=True)
    assert extractor.top("", k=5) == []
    assert extractor.top("通知 关于 2024年 的", k=5) == []
    assert extractor.top(NOTICE, k=0) == []


def test_fit_learns_the_corpus(tokenizer: GovTokenizer, tmp_path: Path) -> None:
    corpus = [
        NOTICE,
        NOTICE.replace("最低生活保障", "医疗保险"),
        "住房公积金提取办法",
        "医疗保险报销",
    ]
    fitted = KeywordExtractor(tokenizer, min_df=1).fit(corpus)
    assert fitted.n_docs_ == 4
    # A word in every text weighs less than a word in one.
    assert fitted.idf_["困难群众"] < fitted.idf_["住房公积金"] < fitted.default_idf_
    path = tmp_path / "idf.json"
    fitted.save(path)
    loaded = KeywordExtractor(tokenizer).load(path)
    assert loaded.idf_ == fitted.idf_ and loaded.n_docs_ == 4
    assert loaded.top(NOTICE) == fitted.top(NOTICE)
    with pytest.raises(ValueError, match="at least one text"):
        KeywordExtractor(tokenizer).fit([])


def test_min_df_keeps_the_vocabulary_small(tokenizer: GovTokenizer) -> None:
    fitted = KeywordExtractor(tokenizer, min_df=2).fit([NOTICE, NOTICE, "独有词汇出现一次"])
    assert "最低生活保障" in fitted.idf_
    assert "独有" not in fitted.idf_


# --- real data ----------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_keywords_name_the_act(shared_data: Path, tokenizer: GovTokenizer) -> None:
    with (shared_data / "lawrefbook.dev.jsonl").open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    fitted = KeywordExtractor(tokenizer).fit(r["text"] for r in records[:600])
    default = KeywordExtractor(tokenizer)
    checked = 0
    for record in records:
        if record["title"] in ("农药管理条例", "中华人民共和国人民调解法", "外债统计监测暂行规定"):
            topic = {"农药管理条例": "农药", "中华人民共和国人民调解法": "调解"}.get(
                record["title"], "外债"
            )
            for extractor in (fitted, default):
                words = extractor.top(record["text"], k=8)
                assert any(topic in w for w in words), (record["title"], words)
            checked += 1
    assert checked >= 3


def _fully_sorted(extractor: KeywordExtractor, counts: Counter[str]) -> list[tuple[float, str]]:
    """Every candidate weighed and sorted: the order `_ranked` must give."""
    return sorted(
        (
            ((1 + math.log(n)) * extractor.idf_.get(word, extractor.default_idf_), word)
            for word, n in counts.items()
        ),
        key=lambda item: (-item[0], -len(item[1]), item[1]),
    )


@pytest.mark.parametrize("k", [1, 2, 8, 40])
def test_ranking_reads_the_candidates_in_fully_sorted_order(
    extractor: KeywordExtractor, tokenizer: GovTokenizer, k: int
) -> None:
    # Many ties (rare words share one weight, counts repeat), words of every length, more
    # candidates than the sorted prefix, and fewer: read to the end, the order is the same.
    rng = random.Random(9)
    alphabet = "保障住房征收补偿医疗养老救助资金标准审核城乡居民困难群众"
    common = list(extractor.idf_)[:60]
    for _ in range(40):
        size = rng.choice([3, 20, 31, 33, 200, 600])
        words = {
            rng.choice(common)
            if rng.random() < 0.3
            else "".join(rng.sample(alphabet, rng.randint(2, 5)))
            for _ in range(size)
        }
        counts = Counter({word: rng.choice([1, 1, 1, 2, 3, 7]) for word in words})
        assert list(extractor._ranked(list(counts), list(counts.values()), k)) == _fully_sorted(
            extractor, counts
        )
    fitted = KeywordExtractor(tokenizer).fit([NOTICE, NOTICE[40:], "住房保障 住房公积金 医保"])
    counts = Counter(fitted._candidate_tokens(tokenizer.tokenize(NOTICE * 3)))
    assert list(fitted._ranked(list(counts), list(counts.values()), k)) == _fully_sorted(
        fitted, counts
    )
