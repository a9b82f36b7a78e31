"""The project tokeniser: jieba's dictionary plus government terms, one instance passed around.

Segmentation runs on rjieba (a Rust port of jieba) with jieba's HMM switched off: on that mode
it gives the same tokens as ``jieba.Tokenizer.lcut_for_search(text, HMM=False)`` many times
faster (``tests/analysis/test_tokenizer.py`` proves the equality on real documents).

Choices, each deliberate:
- search mode (``cut_for_search``) at index *and* query time: a long term such as 房屋征收补偿
  also yields 房屋征收 and 征收补偿, so a query for the shorter term finds it;
- HMM off: unknown words fall apart into single characters, which a search can still match,
  instead of being glued into guessed words that a query may not reproduce.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import rjieba

# Frequency given to project terms: high enough to win over the split jieba would make,
# the same number in both segmenters so they agree.
TERM_FREQUENCY = 200_000


def _read_word_list(name: str) -> list[str]:
    text = resources.files("analysis").joinpath("data", name).read_text(encoding="utf-8")
    return [
        line.split()[0]
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def project_terms() -> list[str]:
    """Government vocabulary shipped with the project (``analysis/data/gov_terms.txt``)."""
    return _read_word_list("gov_terms.txt")


def project_stop_words() -> frozenset[str]:
    return frozenset(_read_word_list("stopwords.txt"))


def normalise(text: str) -> str:
    """Full-width letters and digits to half-width, lower case; the length never changes.

    Keeping one character for one character lets highlights map back to the original text.
    """
    out = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch).lower()
        out.append(folded if len(folded) == 1 else ch)
    return "".join(out)


def is_word(token: str) -> bool:
    """True for tokens with a letter, digit or Han character (not punctuation or space)."""
    return any(ch.isalnum() for ch in token)


@dataclass
class GovTokenizer:
    """Segments text for indexing and for queries alike; build one and pass it in."""

    extra_terms: Iterable[str] = ()
    stop_words: frozenset[str] = field(default_factory=project_stop_words)
    _segmenter: rjieba.Jieba = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._segmenter = rjieba.Jieba()
        self.terms = [*project_terms(), *self.extra_terms]
        for term in self.terms:
            self._segmenter.add_word(normalise(term), TERM_FREQUENCY, None)

    def segment(self, text: str) -> list[str]:
        """Raw segmentation of normalised text, every piece kept (spaces and punctuation too)."""
        return list(self._segmenter.cut_for_search(normalise(text), False))

    def tokenize(self, text: str) -> list[str]:
        """Searchable tokens: segmented, without punctuation, spaces and stop words."""
        return [t for t in self.segment(text) if is_word(t) and t not in self.stop_words]

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
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.split()[0] for ln in lines if ln.strip() and not ln.startswith("#")]
