"""The swappable steps of the topic pipeline, each a scikit-learn estimator.

scikit-learn's rules: ``__init__`` only stores its parameters, ``fit`` learns and sets the
attributes ending in ``_``. Each step has a pass-through or plain alternative (cf. BERTopic's
``BaseDimensionalityReduction``), so a step can be switched off or replaced without touching the
others.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from importlib import resources
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import HDBSCAN, KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from compilations.topics.errors import NoTopicsFound, TooFewDocuments, TopicError

Vectors = NDArray[np.float32]
# Above this many documents KMeans gives way to MiniBatchKMeans (10x faster, near-equal).
MINIBATCH_FROM = 50_000


def boilerplate_words() -> frozenset[str]:
    """Words too common in government texts to name a topic (``data/boilerplate.txt``)."""
    text = resources.files("compilations.topics").joinpath("data", "boilerplate.txt")
    lines = text.read_text(encoding="utf-8").splitlines()
    return frozenset(ln.strip() for ln in lines if ln.strip() and not ln.startswith("#"))


class TokenTfidf(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """TF-IDF over pre-tokenised text (tokens joined by spaces; see `tokens`)."""

    def __init__(
        self,
        min_df: int | float = 2,
        max_df: float = 0.5,
        max_features: int | None = 100_000,
        sublinear_tf: bool = True,
    ) -> None:
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf

    def _vectorizer(self, n_docs: int) -> TfidfVectorizer:
        # On a handful of documents "at least 2 documents" and "at most half" may leave no
        # term at all: fall back to every term rather than fail on a tiny corpus.
        small = n_docs < 20
        return TfidfVectorizer(
            analyzer=str.split,
            min_df=1 if small else self.min_df,
            max_df=1.0 if small else self.max_df,
            max_features=self.max_features,
            sublinear_tf=self.sublinear_tf,
            dtype=np.float32,
        )

    def fit(self, texts: Sequence[str], y: Any = None) -> TokenTfidf:
        self.fit_transform(texts)
        return self

    def fit_transform(self, texts: Sequence[str], y: Any = None) -> sparse.csr_matrix:
        self.vectorizer_ = self._vectorizer(len(texts))
        matrix = self.vectorizer_.fit_transform(texts)
        self.vocabulary_size_ = len(self.vectorizer_.vocabulary_)
        return matrix

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return self.vectorizer_.transform(texts)

    @property
    def terms_(self) -> NDArray[np.str_]:
        return np.asarray(self.vectorizer_.get_feature_names_out())

    @property
    def idf_(self) -> NDArray[np.float64]:
        return np.asarray(self.vectorizer_.idf_)


class SvdReducer(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """Latent semantic analysis: TruncatedSVD, then unit length (cosine geometry for KMeans)."""

    def __init__(self, n_components: int = 100, n_iter: int = 4, random_state: int = 0) -> None:
        self.n_components = n_components
        self.n_iter = n_iter
        self.random_state = random_state

    def fit(self, matrix: Any, y: Any = None) -> SvdReducer:
        self.fit_transform(matrix)
        return self

    def fit_transform(self, matrix: Any, y: Any = None) -> Vectors:
        # SVD needs fewer components than both dimensions of the matrix.
        n = max(1, min(self.n_components, matrix.shape[0] - 1, matrix.shape[1] - 1))
        self.svd_ = TruncatedSVD(n_components=n, n_iter=self.n_iter, random_state=self.random_state)
        reduced = self.svd_.fit_transform(matrix)
        self.n_components_ = n
        return np.asarray(normalize(reduced), dtype=np.float32)

    def transform(self, matrix: Any) -> Vectors:
        return np.asarray(normalize(self.svd_.transform(matrix)), dtype=np.float32)


class NoReduction(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """Pass-through reducer: clusters the TF-IDF vectors themselves (dense; small sets only)."""

    def fit(self, matrix: Any, y: Any = None) -> NoReduction:
        self.n_components_ = matrix.shape[1]
        return self

    def transform(self, matrix: Any) -> Vectors:
        dense = matrix.toarray() if sparse.issparse(matrix) else np.asarray(matrix)
        return np.asarray(normalize(dense), dtype=np.float32)


def _compact(labels: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Renumber cluster labels 0..n-1 without gaps (empty clusters dropped); -1 stays -1.
    Returns (new labels, old label of each new one)."""
    kept = np.unique(labels[labels >= 0])
    mapping = np.full(int(labels.max(initial=-1)) + 2, -1, dtype=np.int64)
    mapping[kept] = np.arange(len(kept))
    return np.where(labels >= 0, mapping[labels], -1), kept


def centroids_of(vectors: Vectors, labels: NDArray[np.int64], n: int) -> Vectors:
    """Unit-length mean vector of each cluster 0..n-1 (labels -1 ignored)."""
    sums = np.zeros((n, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, labels[labels >= 0], vectors[labels >= 0])
    return np.asarray(normalize(sums), dtype=np.float32)


class KMeansClusterer(BaseEstimator, ClusterMixin):  # type: ignore[misc]
    """k topics by (MiniBatch)KMeans on unit vectors.

    Fewer documents than ``k`` raise `TooFewDocuments` (never a silent smaller k). Clusters
    left empty (identical documents, k-means degeneracies) are dropped and the rest renumbered,
    so ``n_clusters_`` may be below ``k``; the caller reports it.
    """

    def __init__(
        self,
        k: int = 20,
        minibatch: bool | Literal["auto"] = "auto",
        n_init: int = 3,
        random_state: int = 0,
    ) -> None:
        self.k = k
        self.minibatch = minibatch
        self.n_init = n_init
        self.random_state = random_state

    def fit(self, vectors: Vectors, y: Any = None) -> KMeansClusterer:
        n_docs = vectors.shape[0]
        if self.k < 1:
            raise TopicError(f"k must be at least 1, not {self.k}")
        if n_docs < self.k:
            raise TooFewDocuments(self.k, n_docs)
        use_minibatch = n_docs >= MINIBATCH_FROM if self.minibatch == "auto" else self.minibatch
        model: KMeans | MiniBatchKMeans
        if use_minibatch:
            model = MiniBatchKMeans(
                n_clusters=self.k,
                n_init=self.n_init,
                random_state=self.random_state,
                batch_size=4096,
            )
        else:
            model = KMeans(n_clusters=self.k, n_init=self.n_init, random_state=self.random_state)
        with warnings.catch_warnings():
            # Fewer distinct documents than k: sklearn warns and leaves clusters empty; the
            # empty ones are dropped below, which is the answer we want.
            warnings.simplefilter("ignore", ConvergenceWarning)
            raw = model.fit_predict(vectors).astype(np.int64)
        self.labels_, _ = _compact(raw)
        self.n_clusters_ = int(self.labels_.max(initial=-1)) + 1
        self.centroids_ = centroids_of(vectors, self.labels_, self.n_clusters_)
        return self


class HdbscanClusterer(BaseEstimator, ClusterMixin):  # type: ignore[misc]
    """Automatic number of topics: HDBSCAN on a sample, in a few dimensions.

    HDBSCAN grows ~N^2.5 (DESIGN.md: 71 s at 20k, 594 s at 50k on 200 dimensions), so it runs
    on at most ``sample_size`` documents projected by PCA to ``n_dims``; every document (sample
    noise included) then goes to the nearest cluster centroid, so each has one topic.
    """

    def __init__(
        self,
        min_cluster_size: int | None = None,
        sample_size: int = 5000,
        n_dims: int = 10,
        random_state: int = 0,
    ) -> None:
        self.min_cluster_size = min_cluster_size
        self.sample_size = sample_size
        self.n_dims = n_dims
        self.random_state = random_state

    def fit(self, vectors: Vectors, y: Any = None) -> HdbscanClusterer:
        n_docs = vectors.shape[0]
        if n_docs < 3:
            raise TooFewDocuments(3, n_docs)
        rng = np.random.default_rng(self.random_state)
        take = np.sort(rng.choice(n_docs, size=min(n_docs, self.sample_size), replace=False))
        sample = vectors[take]
        dims = max(1, min(self.n_dims, sample.shape[1], len(take) - 1))
        projected = PCA(n_components=dims, random_state=self.random_state).fit_transform(sample)
        size = self.min_cluster_size or max(5, len(take) // 100)
        found = HDBSCAN(min_cluster_size=min(size, len(take)), copy=True).fit_predict(projected)
        found, _ = _compact(found.astype(np.int64))
        n = int(found.max(initial=-1)) + 1
        if n == 0:
            raise NoTopicsFound(
                f"HDBSCAN found no cluster among {len(take)} documents (all noise): "
                "use --method kmeans with --k, or a smaller minimum cluster size"
            )
        centroids = centroids_of(sample, found, n)
        self.labels_ = np.argmax(vectors @ centroids.T, axis=1).astype(np.int64)
        self.labels_, _ = _compact(self.labels_)
        self.n_clusters_ = int(self.labels_.max()) + 1
        self.centroids_ = centroids_of(vectors, self.labels_, self.n_clusters_)
        self.noise_in_sample_ = int((found < 0).sum())
        return self


class ClassTfidfLabeller(BaseEstimator):  # type: ignore[misc]
    """Topic terms by class-based TF-IDF (BERTopic's c-TF-IDF): a term weighs by how much of
    the topic's text it is, times log(1 + average topic size / the term's frequency overall).

    The per-document frequencies are read back from the TF-IDF matrix (weight / idf), so no
    second pass over the texts is needed. Boilerplate words never become labels.
    """

    def __init__(self, n_terms: int = 10, boilerplate: frozenset[str] | None = None) -> None:
        self.n_terms = n_terms
        self.boilerplate = boilerplate

    def fit(
        self,
        matrix: Any,
        labels: NDArray[np.int64],
        terms: NDArray[np.str_],
        idf: NDArray[np.float64],
    ) -> ClassTfidfLabeller:
        n_topics = int(labels.max(initial=-1)) + 1
        rows = np.flatnonzero(labels >= 0)
        # topic x document indicator, times document x term frequencies.
        member = sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.float64), (labels[rows], rows)),
            shape=(n_topics, matrix.shape[0]),
        )
        # (topics x docs) @ (docs x terms), then / idf: the same as dividing every document
        # row first, without a float64 copy of the whole matrix (100k documents: ~0.4 GB).
        per_topic = np.asarray((member @ matrix).todense(), dtype=np.float64) / idf
        tf = per_topic / np.maximum(per_topic.sum(axis=1, keepdims=True), 1e-12)
        average = per_topic.sum() / max(n_topics, 1)
        ctfidf = tf * np.log1p(average / np.maximum(per_topic.sum(axis=0), 1e-12))
        stop = self.boilerplate if self.boilerplate is not None else boilerplate_words()
        allowed = np.array([t not in stop for t in terms], dtype=bool)
        ctfidf[:, ~allowed] = 0.0
        self.topic_terms_: list[list[tuple[str, float]]] = []
        for row in ctfidf:
            chosen: list[tuple[str, float]] = []
            for i in np.argsort(-row, kind="stable")[: self.n_terms * 4]:
                term = str(terms[i])
                if row[i] <= 0 or len(chosen) == self.n_terms:
                    break
                # Search-mode tokens nest (人民法院 holds 法院): one of a nested pair is enough.
                if not any(term in c or c in term for c, _ in chosen):
                    chosen.append((term, float(row[i])))
            self.topic_terms_.append(chosen)
        return self
