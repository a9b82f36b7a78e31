from __future__ import annotations

from datetime import date

import pytest

from engines.base import SearchHit
from gongkai.document import Document
from search_api.rerank import RECENCY_WEIGHT, apply_recency, recency_factor


def hit(doc_id: str, score: float, **dates: date) -> SearchHit:
    return SearchHit(
        id=doc_id, score=score, document=Document(id=doc_id, title="", body="x", **dates)
    )


TODAY = date(2024, 1, 1)


def test_factor_halves_its_gain_every_half_life() -> None:
    assert recency_factor(hit("a", 1, date_published=TODAY), TODAY, 5) == 1 + RECENCY_WEIGHT
    five_years = recency_factor(hit("a", 1, date_published=date(2019, 1, 1)), TODAY, 5)
    assert five_years == pytest.approx(1 + RECENCY_WEIGHT / 2, rel=1e-3)
    assert recency_factor(hit("a", 1), TODAY, 5) == 1.0  # undated: no gain, no loss
    future = recency_factor(hit("a", 1, date_published=date(2030, 1, 1)), TODAY, 5)
    assert future == 1 + RECENCY_WEIGHT  # never more than "today"
    written = recency_factor(hit("a", 1, date_written=date(2019, 1, 1)), TODAY, 5)
    assert written == five_years  # the written date when nothing was published


def test_newer_wins_among_equals_but_not_against_much_better_scores() -> None:
    hits = [
        hit("old", 10.0, date_published=date(2001, 1, 1)),
        hit("new", 10.0, date_published=date(2023, 1, 1)),
        hit("best", 30.0, date_published=date(1999, 1, 1)),
    ]
    ranked = apply_recency(hits, TODAY, 5)
    assert [h.id for h in ranked] == ["best", "new", "old"]
    assert ranked[1].score > 10.0
