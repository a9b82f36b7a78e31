"""Snippets with highlights in the *original* text (not the space-joined index tokens).

Query terms are found in the normalised text (same length as the original, see
`analysis.tokenizer.normalise`), so every match maps back to the exact original characters.
Everything is HTML-escaped except the ``<mark>`` tags this module adds.

With the native extension installed, `highlight` runs in one native call
(``native/src/highlight.rs``, the same output: ``tests/analysis/test_highlight.py``); the
Python code here is the path without it and the reference. A search page highlights every
hit's title and body, ~16% of a search server's CPU in Python (issue 9 profile).
"""

from __future__ import annotations

import functools
import html
from collections.abc import Sequence

from analysis.native import NativeHighlighter, load_highlighter
from analysis.tokenizer import fold_codes, normalise

MARK_OPEN = "<mark>"
MARK_CLOSE = "</mark>"


def _match_spans(norm_text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Non-overlapping spans of the terms in the text, longer terms first (equal lengths in
    code point order, so overlapping terms are marked the same way in every process)."""
    # One byte per character marks what is taken: the check and the marking stay in C
    # (a list of bools walked in Python was a seventh of the highlighting time).
    taken = bytearray(len(norm_text))
    spans: list[tuple[int, int]] = []
    for term in sorted({t for t in terms if t}, key=lambda t: (-len(t), t)):
        size = len(term)
        start = norm_text.find(term)
        while start != -1:
            end = start + size
            if taken.find(1, start, end) == -1:
                spans.append((start, end))
                taken[start:end] = b"\x01" * size
            start = norm_text.find(term, end)
    return _merge_adjacent(sorted(spans))


def _merge_adjacent(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """<mark>住房</mark><mark>贷款</mark> reads worse than <mark>住房贷款</mark>."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _best_window(spans: list[tuple[int, int]], text_len: int, width: int) -> tuple[int, int]:
    """The window of ``width`` characters holding the most matches (first one on ties)."""
    if not spans or text_len <= width:
        return 0, min(text_len, width)
    best_start, best_count = 0, -1
    right = 0
    for left, (span_start, _) in enumerate(spans):
        right = max(right, left)
        while right < len(spans) and spans[right][1] <= span_start + width:
            right += 1
        if right - left > best_count:
            best_start, best_count = span_start, right - left
    # Start a little before the first match so it is read in context.
    start = max(0, min(best_start - width // 5, text_len - width))
    return start, start + width


@functools.cache
def _native() -> NativeHighlighter | None:
    # Built once per process (the fold and whitespace tables, ~0.1 s); it holds no state.
    return load_highlighter(fold_codes())


def highlight(text: str, terms: Sequence[str], width: int = 160) -> str:
    """An HTML snippet of ``text`` around the densest matches of ``terms``."""
    native = _native()
    marked = native.highlight(text, terms, width) if native is not None else None
    return marked if marked is not None else python_highlight(text, terms, width)


def python_highlight(text: str, terms: Sequence[str], width: int = 160) -> str:
    """`highlight` in Python: the path without the native extension, and its reference."""
    text = " ".join(text.split())  # newlines and runs of spaces read badly in a snippet
    norm = normalise(text)
    spans = _match_spans(norm, terms)
    start, end = _best_window(spans, len(text), width)
    out: list[str] = ["…" if start > 0 else ""]
    pos = start
    for span_start, span_end in spans:
        if span_end <= start or span_start >= end:
            continue
        span_start, span_end = max(span_start, start), min(span_end, end)
        out.append(html.escape(text[pos:span_start]))
        out.append(MARK_OPEN + html.escape(text[span_start:span_end]) + MARK_CLOSE)
        pos = span_end
    out.append(html.escape(text[pos:end]))
    if end < len(text):
        out.append("…")
    return "".join(out)


def highlight_whole(text: str, terms: Sequence[str]) -> str:
    """All of ``text`` escaped, every match marked (titles)."""
    return highlight(text, terms, width=max(len(text), 1))
