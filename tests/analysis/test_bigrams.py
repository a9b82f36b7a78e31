"""Tests for ``analysis.bigrams``: the array-built bigram string equals the plain definition
(slices of each run of word characters), kept here as the reference."""

from __future__ import annotations

import json
import re
from itertools import islice
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.bigrams import bigram_text
from analysis.tokenizer import normalise

# Runs of word characters; `_` is a word character for `re` but not for a reader.
RUNS = re.compile(r"[^\W_]+")


def reference_bigrams(text: str) -> list[str]:
    """The definition: overlapping pairs of each run, a one-character run as itself."""
    grams: list[str] = []
    for run in RUNS.findall(text):
        grams += [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
    return grams


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a",
        "ab",
        "a,b",
        "房屋征收补偿",
        "甲、乙、丙",
        "x_y",
        "第七条 纳税人申报的",
        "😀文",
        "，。",
    ],
)
def test_examples(text: str) -> None:
    assert bigram_text(text) == " ".join(reference_bigrams(text))


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=200))
def test_any_text_gives_the_list_version_joined(text: str) -> None:
    text = normalise(text)
    assert bigram_text(text) == " ".join(reference_bigrams(text))


@pytest.mark.realdata
def test_real_documents(shared_data: Path) -> None:
    with (shared_data / "lawrefbook.dev.jsonl").open(encoding="utf-8") as handle:
        texts = [normalise(json.loads(line)["text"]) for line in islice(handle, 200)]
    for text in texts:
        assert bigram_text(text) == " ".join(reference_bigrams(text))
