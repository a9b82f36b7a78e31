from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.retrieval import QueryFileError, load_judged_queries, score_ranking


def test_score_ranking_first_gold_hit_counts() -> None:
    gold = frozenset({"g"})
    assert score_ranking(["g", "x"], gold) == {
        "recall@1": 1.0,
        "recall@10": 1.0,
        "recall@100": 1.0,
        "mrr@10": 1.0,
    }
    third = score_ranking(["a", "b", "g"], gold)
    assert third["recall@1"] == 0.0 and third["recall@10"] == 1.0
    assert third["mrr@10"] == pytest.approx(1 / 3)
    deep = score_ranking([f"x{i}" for i in range(20)] + ["g"], gold)
    assert deep["recall@10"] == 0.0 and deep["recall@100"] == 1.0 and deep["mrr@10"] == 0.0
    assert score_ranking([], gold)["recall@100"] == 0.0


def test_broken_query_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    good = json.dumps({"id": "q1", "text": "低保", "relevant_doc_ids": ["d"]}, ensure_ascii=False)
    path.write_text(good + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(QueryFileError, match=r"q.jsonl:3"):
        load_judged_queries(path)
    path.write_text(good + "\n", encoding="utf-8")
    assert load_judged_queries(path)[0].relevant == frozenset({"d"})
