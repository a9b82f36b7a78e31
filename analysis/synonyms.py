"""Query-time synonyms and abbreviations (低保 <-> 最低生活保障, 拆迁 <-> 房屋征收, ...).

Applied to queries only, never to the index: the thesaurus can change without reindexing, and
a document is indexed with the words it actually uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from analysis.tokenizer import normalise


def _groups_from_text(text: str) -> list[list[str]]:
    return [
        [normalise(word) for word in line.split()]
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#") and len(line.split()) > 1
    ]


def project_synonym_groups() -> list[list[str]]:
    """The thesaurus shipped with the project (``analysis/data/synonyms.txt``)."""
    text = resources.files("analysis").joinpath("data", "synonyms.txt").read_text("utf-8")
    return _groups_from_text(text)


def load_synonym_groups(path: Path) -> list[list[str]]:
    return _groups_from_text(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class SynonymHit:
    """A thesaurus term found in a query, and what else to search for it."""

    term: str
    alternatives: tuple[str, ...]


@dataclass
class Thesaurus:
    groups: list[list[str]] = field(default_factory=project_synonym_groups)
    _others: dict[str, tuple[str, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        others: dict[str, list[str]] = {}
        for group in self.groups:
            for word in group:
                bucket = others.setdefault(word, [])
                bucket.extend(w for w in group if w != word and w not in bucket)
        self._others = {word: tuple(alts) for word, alts in others.items()}

    def alternatives(self, term: str) -> tuple[str, ...]:
        return self._others.get(normalise(term), ())

    def find(self, text: str) -> list[SynonymHit]:
        """Thesaurus terms in ``text``, longest first and not overlapping."""
        norm = normalise(text)
        taken = [False] * len(norm)
        hits = []
        for term in sorted(self._others, key=len, reverse=True):
            start = norm.find(term)
            while start != -1:
                end = start + len(term)
                if not any(taken[start:end]):
                    taken[start:end] = [True] * len(term)
                    hits.append(SynonymHit(term, self._others[term]))
                    break
                start = norm.find(term, start + 1)
        return hits
