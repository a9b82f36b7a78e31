"""The project tokeniser: jieba's dictionary plus government terms, one instance passed around.

Segmentation runs on rjieba (a Rust port of jieba) with jieba's HMM switched off: on that mode
it gives the same tokens as ``jieba.Tokenizer.lcut_for_search(text, HMM=False)`` many times
faster (``tests/analysis/test_tokenizer.py`` proves the equality on real documents; one known
difference: a user term mixing ASCII and a hyphen, e.g. covid-19防控, gains an extra piece).

Choices, each deliberate:
- search mode (``cut_for_search``) at index *and* query time: a long word also yields the
  2- and 3-character dictionary words inside it (房屋征收补偿 -> 房屋, 征收, 补偿);
- on top of jieba, `tokenize` also yields the dictionary words of 4+ characters inside a
  longer token (房屋征收 and 征收补偿 in 房屋征收补偿, 医疗保险 in 基本医疗保险), which jieba's
  search mode never emits: without them a query for 医疗保险 misses 基本医疗保险;
- HMM off: unknown words fall apart into single characters, which a search can still match,
  instead of being glued into guessed words that a query may not reproduce.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from itertools import chain
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rjieba

from analysis.bigrams import bigram_text
from analysis.native import NativeAnalyzer, word_char_bits
from analysis.native import load as load_native

# Frequency given to every project term: high enough to win over the split jieba would make,
# the same number in both segmenters so they agree.
TERM_FREQUENCY = 200_000


def _first_column(text: str) -> list[str]:
    """First word of each line, skipping blank lines and ``#`` comments (indented too)."""
    return [
        line.split()[0]
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _read_word_list(name: str) -> list[str]:
    return _first_column(
        resources.files("analysis").joinpath("data", name).read_text(encoding="utf-8")
    )


def project_terms() -> list[str]:
    """Government vocabulary shipped with the project (``analysis/data/gov_terms.txt``)."""
    return _read_word_list("gov_terms.txt")


def project_stop_words() -> frozenset[str]:
    return frozenset(_read_word_list("stopwords.txt"))


# Characters above this fold to themselves (the table covers the BMP and plane 1).
_FOLD_LIMIT = 0x20000


@functools.cache
def _fold_table() -> dict[int, str]:
    """Characters NFKC + lower case map to exactly one other character (built once, ~0.1 s)."""
    table = {}
    for code in range(_FOLD_LIMIT):
        ch = chr(code)
        if 0xD800 <= code <= 0xDFFF:
            continue  # surrogates are not characters
        folded = unicodedata.normalize("NFKC", ch).lower()
        if len(folded) == 1 and folded != ch:
            table[code] = folded
    return table


@functools.cache
def fold_codes() -> npt.NDArray[np.uint32]:
    """`_fold_table` as an array: code point -> code point of its folded character."""
    codes = np.arange(_FOLD_LIMIT, dtype=np.uint32)
    for code, folded in _fold_table().items():
        codes[code] = ord(folded)
    codes.setflags(write=False)
    return codes


def normalise(text: str) -> str:
    """Full-width letters and digits to half-width, lower case; the length never changes.

    Keeping one character for one character lets highlights map back to the original text.
    Characters whose NFKC form is longer (㈠ -> (一)) are left as they are.

    Done as one array lookup over the code points: 11x faster than ``str.translate`` with
    the table (which looks up every character in a dict), and it runs on every document
    at ingest and on every hit's text when highlighting (issue 9 profile).
    """
    data: bytes = _folded_codes(text).tobytes()
    return data.decode("utf-32-le", "surrogatepass")


def normalised_word_characters(text: str) -> str:
    """The letters, digits and Han characters of `normalise` (``text``), in order: what
    ``re.sub(r"[\\W_]+", "", normalise(text))`` gives (``\\w`` is `str.isalnum` and ``_``),
    ~5x faster, as one array lookup (the text compared for duplicates, issue 9)."""
    folded = _folded_codes(text)
    data: bytes = folded[_word_codes()[folded]].tobytes()
    return data.decode("utf-32-le", "surrogatepass")


def _folded_codes(text: str) -> npt.NDArray[np.uint32]:
    # surrogatepass: a lone surrogate stays itself, as it would with str.translate.
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    table = fold_codes()
    inside = codes < _FOLD_LIMIT
    if inside.all():
        folded: npt.NDArray[np.uint32] = table[codes]
        return folded
    # characters beyond the table (rare CJK extensions, emoji) map to themselves
    folded = codes.copy()
    folded[inside] = table[codes[inside]]
    return folded


@functools.cache
def _word_codes() -> npt.NDArray[np.bool_]:
    """Code point -> whether it is a letter, digit or Han character (`str.isalnum`), for
    every code point: the bitmap the native analyser is given, unpacked."""
    bits = np.frombuffer(word_char_bits(), dtype=np.uint8)
    table: npt.NDArray[np.bool_] = np.unpackbits(bits, bitorder="little").astype(bool)
    table.setflags(write=False)
    return table


def is_word(token: str) -> bool:
    """True for tokens with a letter, digit or Han character (not punctuation or space)."""
    # isalnum() answers most tokens (pure Han words) in C; the loop only runs for mixed ones.
    return token.isalnum() or any(ch.isalnum() for ch in token)


# Shortest dictionary word looked for inside a longer token (shorter ones jieba's search
# mode already emits).
MIN_INNER_WORD = 4


def char_bigrams(text: str) -> list[str]:
    """Overlapping character pairs of each run of letters/digits/Han (a run of one character
    gives that character). Indexed beside the jieba tokens: they find words jieba splits
    differently, and consecutive bigrams make an exact phrase match. The analyser, which has
    the text normalised already, takes them joined (`analysis.bigrams.bigram_text`)."""
    return bigram_text(normalise(text)).split()


# Distinct segments remembered by one tokeniser before it starts afresh (~100 bytes each).
_EMITS_LIMIT = 500_000


class _Emits(dict[str, tuple[str, ...]]):
    """segment -> the tokens it emits, computed on first sight (``__missing__`` keeps the
    lookup of a known segment in C)."""

    def __init__(self, compute: Callable[[str], tuple[str, ...]]) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, token: str) -> tuple[str, ...]:
        emitted = self[token] = self._compute(token)
        return emitted


@dataclass(eq=False)
class GovTokenizer:
    """Segments text for indexing and for queries alike; build one and pass it in.

    With ``use_native`` (the default) and the extension installed, `token_text`,
    `tokenize_normalised` and `DocumentAnalyzer.analyze_text` run natively (`native`, the
    same output); ``use_native=False`` keeps the pure-Python path, their reference."""

    extra_terms: Iterable[str] = ()
    stop_words: frozenset[str] = field(default_factory=project_stop_words)
    use_native: bool = True
    terms: list[str] = field(init=False)
    # The native analyser loaded with the same terms and stop words, or None.
    native: NativeAnalyzer | None = field(init=False, repr=False)
    _normalised_terms: list[str] = field(init=False, repr=False)
    _emits: _Emits = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Kept as a tuple: a generator would be spent here, and workers rebuild from it.
        self.extra_terms = tuple(self.extra_terms)
        self.terms = [*project_terms(), *self.extra_terms]
        self._normalised_terms = [normalise(term) for term in self.terms]
        self._emits = _Emits(self._emit)
        self.native = load_native(
            fold_codes(),
            self._normalised_terms,
            self.stop_words,
            TERM_FREQUENCY,
            use_native=self.use_native,
        )
        if self.native is None:
            # The Python path segments from the start: build rjieba now (a bad term fails here).
            _ = self._segmenter

    @functools.cached_property
    def _segmenter(self) -> rjieba.Jieba:
        """rjieba with the project terms. Beside the native analyser (which has its own
        dictionary) it is built on first use only: by `segment`, or for text the native side
        declines; that spares each process ~30 MB and ~0.1 s."""
        segmenter = rjieba.Jieba()
        for term in self._normalised_terms:
            segmenter.add_word(term, TERM_FREQUENCY, None)
        return segmenter

    def segment(self, text: str) -> list[str]:
        """Raw segmentation of normalised text, every piece kept (spaces and punctuation too)."""
        return list(self._segmenter.cut_for_search(normalise(text), False))

    def tokenize(self, text: str) -> list[str]:
        """Searchable tokens: segmented, without punctuation, spaces and stop words, plus the
        4+ character dictionary words inside longer tokens."""
        return self.tokenize_normalised(normalise(text))

    def tokenize_normalised(self, text: str) -> list[str]:
        """`tokenize` of text already passed through `normalise`.

        Each distinct segment is classified once (dropped, kept, or kept with its inner
        words) and remembered: word frequencies are Zipfian, so after a few documents nearly
        every segment is a dictionary hit and the whole loop runs in C (map + chain). The
        profile showed the per-token Python loop (is_word, stop-word test, length test) cost
        more than the segmentation itself.
        """
        if self.native is not None:
            tokens = self.native.tokens(text)
            if tokens is not None:
                return tokens
        return list(self._emitted(text))

    def token_text(self, text: str) -> str:
        """`tokenize_normalised` joined by single spaces (what the engines index), without
        building the list."""
        if self.native is not None:
            joined = self.native.token_text(text)
            if joined is not None:
                return joined
        return " ".join(self._emitted(text))

    def _emitted(self, text: str) -> Iterator[str]:
        segments = self._segmenter.cut_for_search(text, False)
        cache = self._emits
        if len(cache) > _EMITS_LIMIT:
            cache.clear()  # bounded memory on a corpus with endless new tokens
        return chain.from_iterable(map(cache.__getitem__, segments))

    def _emit(self, token: str) -> tuple[str, ...]:
        """What one segment contributes to `tokenize`."""
        if not is_word(token) or token in self.stop_words:
            return ()
        if len(token) > MIN_INNER_WORD:
            return (*self._inner_words(token), token)
        return (token,)

    def _inner_words(self, token: str) -> list[str]:
        has_word = self._segmenter.has_word
        return [
            token[start : start + size]
            for size in range(MIN_INNER_WORD, len(token))
            for start in range(len(token) - size + 1)
            if has_word(token[start : start + size])
        ]

    def query_terms(self, text: str) -> list[str]:
        """Distinct tokens of a query, in order of first appearance."""
        return list(dict.fromkeys(self.tokenize(text)))


def reference_jieba(extra_terms: Iterable[str] = ()) -> object:
    """A plain ``jieba.Tokenizer`` loaded with the same terms: the reference the fast path must
    equal. Imported lazily because jieba takes ~0.5 s to build its dictionary."""
    import jieba

    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for term in [*project_terms(), *extra_terms]:
        tokenizer.add_word(normalise(term), TERM_FREQUENCY)
    return tokenizer


def load_user_terms(path: Path) -> list[str]:
    """Extra terms from a user file (one a line, ``#`` comments)."""
    return _first_column(path.read_text(encoding="utf-8"))
