"""The native analyser (``native/``, module ``gongkai_native``), when it is installed.

The one place that decides between the native and the pure-Python analysis: `GovTokenizer`
asks `load` for an analyser and gets None when the extension is not built, or when the caller
wants the Python path (the reference the native one is tested against,
``tests/analysis/test_native.py``).

The extension does a document's whole analysis in one call (normalise, jieba search mode,
stop words, inner words, bigrams) at ~2x the Python path's speed. It takes every Unicode rule
from this Python at construction (the fold table, `str.isalnum`), so it cannot drift from the
Python path on a character Rust's tables classify differently. Text holding a lone surrogate
cannot cross into Rust; for such text the methods answer None and the caller runs the Python
path.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

try:
    import gongkai_native
except ImportError:  # not built here (pip install ./native): the pure-Python path
    AVAILABLE = False
else:
    AVAILABLE = True

# One past the largest code point.
_CODE_POINTS = 0x110000


@functools.cache
def word_char_bits() -> bytes:
    """Bitmap of the code points for which ``str.isalnum()`` is true (bit ``c % 8`` of byte
    ``c // 8``): the word characters of `tokenizer.is_word` and of the bigrams' runs
    (``[\\W_]`` ends a run; ``\\w`` is isalnum or ``_``). Built once, ~0.1 s."""
    flags = np.fromiter(
        (ch.isalnum() for ch in map(chr, range(_CODE_POINTS))), dtype=bool, count=_CODE_POINTS
    )
    bits: bytes = np.packbits(flags, bitorder="little").tobytes()
    return bits


class NativeAnalyzer:
    """`gongkai_native.Analyzer` with the tables of this Python; None answers mean "run the
    Python path" (a lone surrogate in the text)."""

    def __init__(
        self,
        fold_codes: npt.NDArray[np.uint32],
        terms: Sequence[str],
        stop_words: Iterable[str],
        frequency: int,
    ) -> None:
        # A stop word with a lone surrogate cannot cross, nor equal a token of text that can.
        crossing = [w for w in stop_words if _crosses(w)]
        self._analyzer = gongkai_native.Analyzer(
            fold_codes.astype("<u4").tobytes(), word_char_bits(), list(terms), crossing, frequency
        )

    def analyze_text(
        self, title: str, body: str, title_derived: bool
    ) -> tuple[str, str, str, str] | None:
        """`DocumentAnalyzer.analyze_text` of raw texts."""
        try:
            # A derived title is not analysed: it need not cross either.
            fields: tuple[str, str, str, str] = self._analyzer.analyze_text(
                "" if title_derived else title, body, title_derived
            )
        except UnicodeEncodeError:
            return None
        return fields

    def token_text(self, text: str) -> str | None:
        """`GovTokenizer.token_text` of normalised text."""
        try:
            joined: str = self._analyzer.token_text(text)
        except UnicodeEncodeError:
            return None
        return joined

    def tokens(self, text: str) -> list[str] | None:
        """`GovTokenizer.tokenize_normalised` of normalised text."""
        try:
            tokens: list[str] = self._analyzer.tokens(text)
        except UnicodeEncodeError:
            return None
        return tokens


# Distinct tokens whose strings one native counter keeps (~150 bytes each) before it starts
# afresh.
TOKEN_STRINGS_LIMIT = 200_000


class TokenCounter:
    """How often each token of an analysed text occurs (`GovTokenizer.token_text`: tokens
    separated by single spaces), natively when the extension is installed: there, each
    distinct token becomes a Python string once per run, not once per occurrence (the keyword
    stage's largest cost at ingest, issue 9)."""

    def __init__(self, *, use_native: bool = True) -> None:
        self._native = (
            gongkai_native.TokenCounter(TOKEN_STRINGS_LIMIT) if use_native and AVAILABLE else None
        )

    def count(self, joined: str) -> dict[str, int]:
        if not joined:
            return {}
        if self._native is not None:
            try:
                counts: dict[str, int] = self._native.count(joined)
            except UnicodeEncodeError:
                pass  # a lone surrogate: counted below
            else:
                return counts
        return Counter(joined.split(" "))


def _crosses(text: str) -> bool:
    """True when ``text`` can become UTF-8 (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def load(
    fold_codes: npt.NDArray[np.uint32],
    terms: Sequence[str],
    stop_words: Iterable[str],
    frequency: int,
    *,
    use_native: bool = True,
) -> NativeAnalyzer | None:
    """The native analyser for these (already normalised) terms and stop words, or None when
    it is not installed or ``use_native`` is False."""
    if not (use_native and AVAILABLE):
        return None
    return NativeAnalyzer(fold_codes, terms, stop_words, frequency)


@functools.cache
def space_chars() -> str:
    """Every character for which ``str.isspace()`` is true: what ``str.split()`` splits on
    (29 of them; read from this Python once, ~0.07 s)."""
    return "".join(ch for ch in map(chr, range(_CODE_POINTS)) if ch.isspace())


class NativeHighlighter:
    """`gongkai_native.Highlighter`: `highlight.highlight` in one native call; a None answer
    means "highlight in Python" (a lone surrogate in the text or a term)."""

    def __init__(self, fold_codes: npt.NDArray[np.uint32]) -> None:
        self._highlighter = gongkai_native.Highlighter(
            fold_codes.astype("<u4").tobytes(), space_chars()
        )

    def highlight(self, text: str, terms: Sequence[str], width: int) -> str | None:
        try:
            marked: str = self._highlighter.highlight(text, list(terms), width)
        except UnicodeEncodeError:
            return None
        return marked


def load_highlighter(
    fold_codes: npt.NDArray[np.uint32], *, use_native: bool = True
) -> NativeHighlighter | None:
    """The native highlighter, or None when it is not installed or ``use_native`` is False."""
    if not (use_native and AVAILABLE):
        return None
    return NativeHighlighter(fold_codes)


class NativeMinHasher:
    """`gongkai_native.MinHasher`: `dedup.MinHashSigner`'s signatures in one native call; a
    None answer means "sign in Python" (a lone surrogate in the text)."""

    def __init__(self, permutations: npt.NDArray[np.uint32], shingle: int, base: int) -> None:
        a, b = (row.astype(np.uint32).tolist() for row in permutations)
        self._hasher = gongkai_native.MinHasher(a, b, shingle, base)

    def sign(self, text: str) -> npt.NDArray[np.uint32] | None:
        try:
            packed: bytes = self._hasher.sign(text)
        except UnicodeEncodeError:
            return None
        return np.frombuffer(packed, dtype="<u4")


def load_minhasher(
    permutations: npt.NDArray[np.uint32], shingle: int, base: int, *, use_native: bool = True
) -> NativeMinHasher | None:
    """The native MinHash signer, or None when it is not installed or ``use_native`` is False."""
    if not (use_native and AVAILABLE):
        return None
    return NativeMinHasher(permutations, shingle, base)
