"""Re-scoring of the top hits in Python, after the engine: the same code for every engine, so
both engines rank identically whatever the engines themselves can express.

Only the first `RERANK_DEPTH` hits of a relevance search are re-scored; deeper hits keep the
engine's order (a search pages through the re-scored window first, then the engine's order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from engines.base import SearchHit

# Hits re-scored per search (the engine fetches this many for the first pages anyway).
RERANK_DEPTH = 100
# How much the newest possible document gains with `recency` on: score × (1 + weight × decay),
# decay = 0.5 ** (age / half-life). A document of age 0 gets ×1.5, one half-life old ×1.25.
RECENCY_WEIGHT = 0.5
DAYS_PER_YEAR = 365.25


def recency_factor(hit: SearchHit, today: date, half_life_years: float) -> float:
    """The multiplier of one hit's score: 1 for an undated document, up to 1 + weight."""
    doc = hit.document
    day = doc.date_published or doc.date_written
    if day is None or half_life_years <= 0:
        return 1.0
    # A date in the future (typing slip, 施行 date) counts as today, not as "newer than new".
    age_years = max((today - day).days, 0) / DAYS_PER_YEAR
    return 1.0 + RECENCY_WEIGHT * math.pow(0.5, age_years / half_life_years)


def apply_recency(
    hits: Sequence[SearchHit], today: date, half_life_years: float
) -> list[SearchHit]:
    """``hits`` re-scored by `recency_factor` and re-sorted (score down, then id: the engines'
    tie order)."""
    rescored = [
        hit.model_copy(update={"score": hit.score * recency_factor(hit, today, half_life_years)})
        for hit in hits
    ]
    return sorted(rescored, key=lambda hit: (-hit.score, hit.id))
