"""`TopicPipeline`: token strings -> TF-IDF -> reduction -> clusters -> labels -> representatives.

Each step is a parameter (swap the reducer for `NoReduction`, the clusterer for
`HdbscanClusterer`, ...). Documents whose text has no usable token are not clustered: their
label is -1 and they are counted in ``n_empty_``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from compilations.topics.errors import TooFewDocuments
from compilations.topics.steps import (
    ClassTfidfLabeller,
    KMeansClusterer,
    SvdReducer,
    TokenTfidf,
    Vectors,
)

Labels = NDArray[np.int64]


class TopicPipeline(BaseEstimator):  # type: ignore[misc]
    """Fit on pre-tokenised texts (see `tokens.tokenize_texts`); assign new ones with `predict`.

    BLAS runs on ``blas_threads`` threads: on this shared 2-core machine two BLAS threads made
    the same SVD 3-7x slower when another process was busy (DESIGN.md).
    """

    def __init__(
        self,
        vectorizer: Any = None,
        reducer: Any = None,
        clusterer: Any = None,
        labeller: Any = None,
        n_representatives: int = 5,
        blas_threads: int = 1,
    ) -> None:
        self.vectorizer = vectorizer
        self.reducer = reducer
        self.clusterer = clusterer
        self.labeller = labeller
        self.n_representatives = n_representatives
        self.blas_threads = blas_threads

    def fit(self, token_texts: Sequence[str], y: Any = None) -> TopicPipeline:
        self.vectorizer_ = self.vectorizer if self.vectorizer is not None else TokenTfidf()
        self.reducer_ = self.reducer if self.reducer is not None else SvdReducer()
        self.clusterer_ = self.clusterer if self.clusterer is not None else KMeansClusterer()
        self.labeller_ = self.labeller if self.labeller is not None else ClassTfidfLabeller()
        usable = np.array([bool(t.strip()) for t in token_texts], dtype=bool)
        self.n_empty_ = int((~usable).sum())
        rows = np.flatnonzero(usable)
        if len(rows) == 0:
            raise TooFewDocuments(getattr(self.clusterer_, "k", 1), 0, self.n_empty_)
        with threadpool_limits(limits=self.blas_threads, user_api="blas"):
            texts = [token_texts[int(i)] for i in rows]
            matrix = self.vectorizer_.fit_transform(texts)
            vectors = self.reducer_.fit_transform(matrix)
            try:
                self.clusterer_.fit(vectors)
            except TooFewDocuments as exc:
                raise TooFewDocuments(exc.k, exc.usable, self.n_empty_) from None
            found: Labels = self.clusterer_.labels_
            self.centroids_: Vectors = self.clusterer_.centroids_
            self.n_topics_ = int(self.centroids_.shape[0])
            self.labeller_.fit(matrix, found, self.vectorizer_.terms_, self.vectorizer_.idf_)
        self.topic_terms_: list[list[tuple[str, float]]] = self.labeller_.topic_terms_
        self.labels_: Labels = np.full(len(token_texts), -1, dtype=np.int64)
        self.labels_[rows] = found
        # Reduced vectors of the clustered documents (row i = document rows_[i]): the map
        # and the representatives are computed from them.
        self.rows_ = rows
        self.embedding_ = vectors
        self.scores_ = np.einsum("ij,ij->i", vectors, self.centroids_[found])
        self.sizes_ = np.bincount(found, minlength=self.n_topics_)
        self.representatives_ = self._representatives(found, self.scores_)
        return self

    def _representatives(self, found: Labels, scores: NDArray[np.float32]) -> list[list[int]]:
        """Per topic, the input positions of the documents closest to its centroid."""
        order = np.lexsort((-scores, found))  # by topic, then most central first
        out: list[list[int]] = [[] for _ in range(self.n_topics_)]
        for i in order:
            bucket = out[int(found[i])]
            if len(bucket) < self.n_representatives:
                bucket.append(int(self.rows_[i]))
        return out

    def predict_with_scores(self, token_texts: Sequence[str]) -> tuple[Labels, NDArray[np.float32]]:
        """Nearest topic of each text (-1 for a text with no known term) and its cosine."""
        if not token_texts:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        with threadpool_limits(limits=self.blas_threads, user_api="blas"):
            vectors = self.reducer_.transform(self.vectorizer_.transform(token_texts))
            similarity = vectors @ self.centroids_.T
        labels = np.argmax(similarity, axis=1).astype(np.int64)
        scores = similarity[np.arange(len(labels)), labels].astype(np.float32)
        # A zero vector (no term of the vocabulary) is close to nothing: leave it unassigned.
        known = np.abs(vectors).sum(axis=1) > 0
        labels[~known] = -1
        scores[~known] = 0.0
        return labels, scores

    def predict(self, token_texts: Sequence[str]) -> Labels:
        return self.predict_with_scores(token_texts)[0]
