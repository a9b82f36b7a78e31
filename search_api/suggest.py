"""As-you-type completion and "did you mean" for queries that find nothing.

Titles come from the index (`SearchBackend.suggest_titles`); terms from the project's
vocabulary (government terms and the synonym thesaurus), which is small, curated and the same
on every engine.
"""

from __future__ import annotations

from pydantic import BaseModel

from analysis.synonyms import Thesaurus
from analysis.tokenizer import char_bigrams, normalise, project_terms
from engines.base import SearchBackend

# How alike (bigram Jaccard) a vocabulary term must be to a query word to be offered instead.
DID_YOU_MEAN_SIMILARITY = 0.5


class Suggestions(BaseModel):
    titles: list[str]
    terms: list[str]


class Suggester:
    def __init__(self, backend: SearchBackend, thesaurus: Thesaurus) -> None:
        self.backend = backend
        words = [*project_terms(), *(w for group in thesaurus.groups for w in group)]
        self.vocabulary = sorted({normalise(w) for w in words})
        self._grams = {w: set(char_bigrams(w)) for w in self.vocabulary}

    def complete(self, prefix: str, limit: int = 10) -> Suggestions:
        prefix = prefix.strip()
        key = normalise(prefix)
        terms = [w for w in self.vocabulary if key and w.startswith(key) and w != key]
        return Suggestions(
            titles=self.backend.suggest_titles(prefix, limit) if prefix else [],
            terms=sorted(terms, key=len)[:limit],
        )

    def did_you_mean(self, query: str, limit: int = 3) -> list[str]:
        """Vocabulary terms written like the query's words (最低生活保证 -> 最低生活保障)."""
        scored: dict[str, float] = {}
        for word in query.split():
            grams = set(char_bigrams(word))
            if len(grams) < 2:
                continue
            for term, term_grams in self._grams.items():
                similarity = len(grams & term_grams) / len(grams | term_grams)
                if similarity >= DID_YOU_MEAN_SIMILARITY and term != normalise(word):
                    scored[term] = max(scored.get(term, 0.0), similarity)
        return sorted(scored, key=lambda t: (-scored[t], t))[:limit]
