"""Shared helpers for the benchmark scripts: real-data location and robust summaries."""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    path = Path(os.environ.get("GONGKAI_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not (path / "README.md").exists():
        sys.exit(f"real data not found at {path}: set GONGKAI_SHARED_DATA")
    return path


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def summary(runs: Sequence[float]) -> str:
    """median [min-max] of several runs."""
    return f"{statistics.median(runs):,.1f} [{min(runs):,.1f}-{max(runs):,.1f}]"
