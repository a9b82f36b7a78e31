"""Stable topic ids: a rebuilt topic that is the same topic keeps its id.

Old and new topics are paired by the Hungarian method (`scipy.optimize.linear_sum_assignment`)
on a similarity matrix; a pair counts only above a threshold, and a new topic left unpaired gets
a fresh id. Similarity is the Jaccard overlap of the two topics' members among the documents
both builds saw; when the builds share too few documents for that to mean anything (e.g. a set
built over a different query), the cosine of the topics' label-term weights stands in.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

# Below these a pairing is not "the same topic".
MIN_JACCARD = 0.3
MIN_TERM_COSINE = 0.5
# Share of the smaller build that both builds must contain for member overlap to be used.
MIN_SHARED = 0.2


@dataclass(frozen=True)
class TopicProfile:
    """What matching compares: the topic's id (old topics) and its label-term weights."""

    topic_id: int
    terms: Mapping[str, float]


@dataclass(frozen=True)
class Match:
    new_index: int
    old_id: int
    similarity: float


def _term_cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    dot = sum(w * b[t] for t, w in a.items() if t in b)
    norm = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
    return dot / norm if norm else 0.0


def member_jaccard(
    old_members: Mapping[str, int],
    new_members: Mapping[str, int],
    old_ids: Sequence[int],
    n_new: int,
) -> NDArray[np.float64] | None:
    """Jaccard of each (old topic, new topic) pair over shared documents, or None when the
    builds share too few documents. ``*_members`` map document id -> topic (old: topic id,
    new: index 0..n_new-1)."""
    shared = old_members.keys() & new_members.keys()
    smaller = min(len(old_members), len(new_members))
    if not shared or len(shared) < MIN_SHARED * smaller:
        return None
    row = {topic_id: i for i, topic_id in enumerate(old_ids)}
    pairs = Counter((old_members[d], new_members[d]) for d in shared)
    old_sizes = Counter(old_members[d] for d in shared)
    new_sizes = Counter(new_members[d] for d in shared)
    out = np.zeros((len(old_ids), n_new))
    for (old, new), both in pairs.items():
        if old in row and 0 <= new < n_new:
            out[row[old], new] = both / (old_sizes[old] + new_sizes[new] - both)
    return out


def match_topics(
    old: Sequence[TopicProfile],
    new: Sequence[Mapping[str, float]],
    old_members: Mapping[str, int] | None = None,
    new_members: Mapping[str, int] | None = None,
) -> list[Match]:
    """Pairs (new topic index -> old id) judged the same topic, best total similarity first."""
    if not old or not new:
        return []
    old_ids = [t.topic_id for t in old]
    similarity = None
    threshold = MIN_JACCARD
    if old_members is not None and new_members is not None:
        similarity = member_jaccard(old_members, new_members, old_ids, len(new))
    if similarity is None:
        threshold = MIN_TERM_COSINE
        similarity = np.array([[_term_cosine(o.terms, n) for n in new] for o in old])
    rows, cols = linear_sum_assignment(similarity, maximize=True)
    return [
        Match(new_index=int(c), old_id=old_ids[int(r)], similarity=float(similarity[r, c]))
        for r, c in zip(rows, cols, strict=True)
        if similarity[r, c] >= threshold
    ]
