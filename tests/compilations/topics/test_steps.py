"""The pipeline steps on small hand-made inputs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from compilations.topics.errors import NoTopicsFound, TooFewDocuments, TopicError
from compilations.topics.steps import (
    ClassTfidfLabeller,
    HdbscanClusterer,
    KMeansClusterer,
    NoReduction,
    SvdReducer,
    TokenTfidf,
    boilerplate_words,
)


def unit_rows(*rows: list[float]) -> np.ndarray:
    a = np.array(rows, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_estimators_follow_sklearn_rules() -> None:
    # __init__ only stores parameters: get_params/clone round-trip, nothing fitted yet.
    for step in (TokenTfidf(min_df=3), SvdReducer(n_components=7), KMeansClusterer(k=4)):
        copy = clone(step)
        assert copy.get_params() == step.get_params()
        assert not [name for name in vars(copy) if name.endswith("_")]


def test_boilerplate_list_has_the_usual_words() -> None:
    words = boilerplate_words()
    assert {"通知", "关于", "印发", "有关", "办法", "规定", "实施", "工作", "加强"} <= words


def test_tfidf_splits_pre_tokenised_text_only_on_spaces() -> None:
    vectorizer = TokenTfidf()
    matrix = vectorizer.fit_transform(["最低生活保障 标准", "养老金 标准", "房屋征收 补偿"])
    assert set(vectorizer.terms_) == {"最低生活保障", "标准", "养老金", "房屋征收", "补偿"}
    assert matrix.shape == (3, 5)


def test_svd_clips_components_to_a_small_matrix() -> None:
    matrix = TokenTfidf().fit_transform(["甲乙 丙丁", "甲乙 戊己", "庚辛 壬癸"])
    reduced = SvdReducer(n_components=100).fit_transform(matrix)
    assert reduced.shape[0] == 3 and reduced.shape[1] <= 2
    assert np.allclose(np.linalg.norm(reduced, axis=1), 1.0, atol=1e-5)


def test_kmeans_refuses_more_topics_than_documents() -> None:
    vectors = unit_rows([1, 0], [0, 1], [1, 1])
    with pytest.raises(
        TooFewDocuments, match="4 topics need at least 4 documents with text; got 3"
    ):
        KMeansClusterer(k=4).fit(vectors)
    with pytest.raises(TopicError, match="at least 1"):
        KMeansClusterer(k=0).fit(vectors)


def test_kmeans_drops_empty_clusters_of_identical_documents() -> None:
    # Five documents, only two distinct: k=4 cannot fill four clusters. No warning escapes
    # (warnings are errors here) and the empty clusters are gone, ids without gaps.
    vectors = unit_rows([1, 0], [1, 0], [1, 0], [0, 1], [0, 1])
    clusterer = KMeansClusterer(k=4).fit(vectors)
    assert clusterer.n_clusters_ == 2
    assert sorted(set(clusterer.labels_.tolist())) == [0, 1]
    assert clusterer.labels_[0] == clusterer.labels_[1] != clusterer.labels_[3]
    assert clusterer.centroids_.shape == (2, 2)


def test_hdbscan_finds_the_number_of_groups_itself() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(3, 6, dtype=np.float32)
    points = np.vstack([c + rng.normal(0, 0.02, (30, 6)) for c in centres]).astype(np.float32)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    clusterer = HdbscanClusterer(min_cluster_size=10, n_dims=3).fit(points)
    assert clusterer.n_clusters_ == 3
    assert len(set(clusterer.labels_[:30].tolist())) == 1
    assert (clusterer.labels_ >= 0).all()  # noise goes to its nearest topic


def test_hdbscan_says_so_when_everything_is_noise() -> None:
    rng = np.random.default_rng(1)
    points = rng.normal(size=(12, 4)).astype(np.float32)
    with pytest.raises(NoTopicsFound, match="no cluster"):
        HdbscanClusterer(min_cluster_size=12).fit(points)


def test_labeller_skips_boilerplate_and_nested_terms() -> None:
    texts = [
        "通知 人民法院 法院 审判",
        "通知 人民法院 法院 审判 审判",
        "通知 养老金 退休 养老金",
        "通知 养老金 退休",
    ]
    vectorizer = TokenTfidf()
    matrix = vectorizer.fit_transform(texts)
    labels = np.array([0, 0, 1, 1])
    labeller = ClassTfidfLabeller(n_terms=3).fit(matrix, labels, vectorizer.terms_, vectorizer.idf_)
    first, second = ([t for t, _ in terms] for terms in labeller.topic_terms_)
    assert "通知" not in first + second
    assert "审判" in first and "养老金" in second
    # 人民法院 and 法院 nest: only one of them names the topic.
    assert len({"人民法院", "法院"} & set(first)) == 1
    assert not set(first) & {"养老金", "退休"}


def test_no_reduction_passes_tfidf_through() -> None:
    matrix = TokenTfidf().fit_transform(["甲乙 丙丁", "甲乙 戊己"])
    reduced = NoReduction().fit(matrix).transform(matrix)
    assert reduced.shape == matrix.shape
