"""`TopicPipeline` end to end on the hand-made three-topic corpus."""

from __future__ import annotations

from collections import Counter

import pytest
from sklearn.base import clone

from analysis.tokenizer import GovTokenizer
from compilations.topics.errors import TooFewDocuments
from compilations.topics.pipeline import TopicPipeline
from compilations.topics.steps import KMeansClusterer
from compilations.topics.tokens import document_text, tokenize_texts
from gongkai.document import Document
from tests.support.topic_corpus import topic_documents, topic_of


def fitted(
    tokenizer: GovTokenizer, k: int = 3, extra: tuple[str, ...] = ()
) -> tuple[list[Document], TopicPipeline]:
    docs = topic_documents()
    texts = tokenize_texts(tokenizer, [document_text(d) for d in docs]) + list(extra)
    return docs, TopicPipeline(clusterer=KMeansClusterer(k=k)).fit(texts)


def test_recovers_the_three_topics(tokenizer: GovTokenizer) -> None:
    docs, pipeline = fitted(tokenizer)
    assert pipeline.n_topics_ == 3
    # Every cluster holds one topic's documents only.
    for cluster in range(3):
        topics = {
            topic_of(d.id) for d, c in zip(docs, pipeline.labels_, strict=False) if c == cluster
        }
        assert len(topics) == 1
    assert sorted(pipeline.sizes_.tolist()) == [12, 12, 12]


def test_labels_name_the_topic_not_the_boilerplate(tokenizer: GovTokenizer) -> None:
    docs, pipeline = fitted(tokenizer)
    words = {w for terms in pipeline.topic_terms_ for w, _ in terms[:5]}
    assert not words & {"通知", "关于", "印发", "有关", "实施", "工作", "加强"}
    by_topic = {}
    for cluster in range(3):
        member = next(d for d, c in zip(docs, pipeline.labels_, strict=False) if c == cluster)
        by_topic[topic_of(member.id)] = [w for w, _ in pipeline.topic_terms_[cluster][:6]]
    assert {"养老金", "养老保险", "退休"} & set(by_topic["养老"])
    assert {"征收", "房屋征收", "补偿"} & set(by_topic["征收"])


def test_representatives_are_members_closest_first(tokenizer: GovTokenizer) -> None:
    _, pipeline = fitted(tokenizer)
    for cluster, reps in enumerate(pipeline.representatives_):
        assert len(reps) == 5
        assert all(pipeline.labels_[i] == cluster for i in reps)
        scores = [pipeline.scores_[list(pipeline.rows_).index(i)] for i in reps]
        assert scores == sorted(scores, reverse=True)


def test_empty_texts_are_left_out_and_counted(tokenizer: GovTokenizer) -> None:
    _, pipeline = fitted(tokenizer, extra=("", "   "))
    assert pipeline.n_empty_ == 2
    assert pipeline.labels_[-2:].tolist() == [-1, -1]
    assert Counter(pipeline.labels_.tolist())[-1] == 2


def test_too_few_documents_for_k_is_a_clear_error(tokenizer: GovTokenizer) -> None:
    texts = [*tokenize_texts(tokenizer, ["最低生活保障标准", "基本养老金调整"]), ""]
    with pytest.raises(TooFewDocuments, match=r"5 topics .* got 2 \(1 empty text\(s\) skipped\)"):
        TopicPipeline(clusterer=KMeansClusterer(k=5)).fit(texts)
    with pytest.raises(TooFewDocuments, match="got 0"):
        TopicPipeline(clusterer=KMeansClusterer(k=1)).fit(["", ""])


def test_new_documents_go_to_their_topic(tokenizer: GovTokenizer) -> None:
    docs, pipeline = fitted(tokenizer)
    cluster_of = {topic_of(d.id): int(c) for d, c in zip(docs, pipeline.labels_, strict=False)}
    fresh = tokenize_texts(
        tokenizer,
        ["提高退休人员基本养老金", "房屋征收补偿安置协议", "低保标准和特困供养", "ABC"],
    )
    labels, scores = pipeline.predict_with_scores(fresh)
    assert labels.tolist() == [cluster_of["养老"], cluster_of["征收"], cluster_of["低保"], -1]
    assert scores[3] == 0.0 and (scores[:3] > 0).all()


def test_pipeline_is_a_cloneable_estimator(tokenizer: GovTokenizer) -> None:
    pipeline = TopicPipeline(clusterer=KMeansClusterer(k=3), n_representatives=2)
    params = clone(pipeline).get_params()
    assert params["n_representatives"] == 2 and params["clusterer__k"] == 3
