"""Building, assigning and reading topics: what the CLI and the API call.

`build_topics` takes documents (the whole index or a query's results, read by the caller),
pre-tokenises them once, fits a `TopicPipeline`, keeps the ids of topics that match the
previous build of the same set, and stores the result. `assign_documents` puts new documents
into the current build's topics without refitting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from compilations.topics.tokens import document_text, tokenize_texts

# sklearn/scipy/joblib (pipeline, steps, matching, store) are imported where used: start-up time.
if TYPE_CHECKING:
    from analysis.tokenizer import GovTokenizer
    from compilations.topics.pipeline import TopicPipeline
    from compilations.topics.store import TopicStore
    from gongkai.document import Document
    from gongkai.settings import Settings

Method = Literal["kmeans", "hdbscan"]
DEFAULT_SET = "all"
DEFAULT_K = 20
# Documents drawn on the topic map at most (a random sample beyond that).
MAP_SAMPLE = 3000
RANDOM_STATE = 0


def models_dir(settings: Settings) -> Path:
    return settings.data_dir / "topics"


@dataclass(frozen=True)
class DocMeta:
    id: str
    title: str
    year: int | None


@dataclass
class BuildSummary:
    build_id: int
    set_name: str
    method: str
    k: int | None
    n_documents: int
    n_topics: int
    n_unassigned: int
    kept_ids: int
    new_ids: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def make_pipeline(method: Method, k: int | None) -> TopicPipeline:
    from compilations.topics.pipeline import TopicPipeline
    from compilations.topics.steps import HdbscanClusterer, KMeansClusterer, SvdReducer

    clusterer: KMeansClusterer | HdbscanClusterer
    if method == "hdbscan":
        clusterer = HdbscanClusterer(random_state=RANDOM_STATE)
    else:
        clusterer = KMeansClusterer(k=k or DEFAULT_K, random_state=RANDOM_STATE)
    return TopicPipeline(reducer=SvdReducer(random_state=RANDOM_STATE), clusterer=clusterer)


def _read(docs: Iterable[Document], metas: list[DocMeta]) -> Iterable[str]:
    """Texts of ``docs`` one by one, noting each document's id, title and year in ``metas``
    (documents are not kept: only their tokens are needed afterwards)."""
    for doc in docs:
        metas.append(DocMeta(id=doc.id, title=doc.title, year=doc.year))
        yield document_text(doc)


def _map_sample(pipeline: TopicPipeline) -> dict[str, Any]:
    """2-D PCA projection of (a sample of) the clustered documents, for the topic map."""
    from sklearn.decomposition import PCA

    vectors = pipeline.embedding_
    clusters = pipeline.labels_[pipeline.rows_]
    rng = np.random.default_rng(RANDOM_STATE)
    take = np.sort(rng.choice(len(vectors), size=min(len(vectors), MAP_SAMPLE), replace=False))
    dims = min(2, vectors.shape[1], len(take))
    pca = PCA(n_components=dims, random_state=RANDOM_STATE).fit(vectors[take])
    xy = pca.transform(vectors[take])
    centroids = pca.transform(pipeline.centroids_)
    if dims < 2:  # a one-dimensional reduction: lay it out on a line
        xy = np.column_stack([xy, np.zeros(len(xy))])
        centroids = np.column_stack([centroids, np.zeros(len(centroids))])
    return {
        "xy": xy.astype(np.float32),
        "clusters": clusters[take],
        "centroids": centroids.astype(np.float32),
    }


def build_topics(
    settings: Settings,
    store: TopicStore,
    docs: Iterable[Document],
    *,
    tokenizer: GovTokenizer,
    method: Method = "kmeans",
    k: int | None = None,
    set_name: str = DEFAULT_SET,
    query: str | None = None,
    n_jobs: int = 1,
    on_tokenized: Callable[[int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> BuildSummary:
    """Fit topics on ``docs`` and store them as the current build of ``set_name``."""
    from compilations.topics.store import DocumentAssignment, TopicRecord, label_of

    metas: list[DocMeta] = []
    token_texts = tokenize_texts(
        tokenizer, _read(docs, metas), n_jobs=n_jobs, on_progress=on_tokenized
    )
    if on_stage:
        on_stage("clustering")
    pipeline = make_pipeline(method, k).fit(token_texts)
    del token_texts
    if on_stage:
        on_stage("storing")
    new_members = {metas[i].id: int(c) for i, c in enumerate(pipeline.labels_) if c >= 0}
    ids = _stable_ids(store, set_name, pipeline, new_members)
    records = [
        TopicRecord(
            topic_id=ids[c][0],
            cluster=c,
            label=label_of(pipeline.topic_terms_[c]),
            terms=pipeline.topic_terms_[c],
            size=int(pipeline.sizes_[c]),
            representatives=[
                {"id": metas[i].id, "title": metas[i].title} for i in pipeline.representatives_[c]
            ],
            matched_similarity=ids[c][1],
        )
        for c in range(pipeline.n_topics_)
    ]
    scores = np.zeros(len(metas), dtype=np.float32)
    scores[pipeline.rows_] = pipeline.scores_
    assignments = (
        DocumentAssignment(
            doc_id=m.id,
            topic_id=ids[int(c)][0] if c >= 0 else None,
            score=float(s),
            year=m.year,
        )
        for m, c, s in zip(metas, pipeline.labels_, scores, strict=True)
    )
    model = {
        "format": 1,
        "pipeline": without_training_data(pipeline),
        "topic_ids": [ids[c][0] for c in range(pipeline.n_topics_)],
    }
    params = {"method": method, "k": k, "n_empty": pipeline.n_empty_}
    build_id = store.save_build(
        set_name=set_name,
        query=query,
        method=method,
        k=k if method == "kmeans" else None,
        params=params,
        model=model,
        map_data=_map_sample(pipeline),
        topic_records=records,
        assignments=assignments,
    )
    kept = sum(1 for c in range(pipeline.n_topics_) if ids[c][1] is not None)
    return BuildSummary(
        build_id=build_id,
        set_name=set_name,
        method=method,
        k=k if method == "kmeans" else None,
        n_documents=len(metas),
        n_topics=pipeline.n_topics_,
        n_unassigned=int((pipeline.labels_ < 0).sum()),
        kept_ids=kept,
        new_ids=pipeline.n_topics_ - kept,
    )


def without_training_data(pipeline: TopicPipeline) -> TopicPipeline:
    """A copy that can assign new documents, without the per-document arrays of the fit."""
    import copy

    slim = copy.copy(pipeline)
    for name in ("labels_", "embedding_", "scores_", "rows_"):
        slim.__dict__.pop(name, None)
    # The clusterer's own per-document labels are not needed either.
    slim.clusterer_ = copy.copy(pipeline.clusterer_)
    slim.clusterer_.__dict__.pop("labels_", None)
    return slim


def _stable_ids(
    store: TopicStore, set_name: str, pipeline: TopicPipeline, new_members: dict[str, int]
) -> dict[int, tuple[int, float | None]]:
    """Model cluster -> (topic id, similarity to the old topic it continues, or None)."""
    from compilations.topics.matching import TopicProfile, match_topics

    previous = store.current_build_id(set_name)
    matched: dict[int, tuple[int, float | None]] = {}
    if previous is not None:
        old = store.topics_of(previous)
        profiles = [TopicProfile(t.topic_id, dict(t.terms)) for t in old]
        new_terms = [dict(terms) for terms in pipeline.topic_terms_]
        for m in match_topics(profiles, new_terms, store.members(previous), new_members):
            matched[m.new_index] = (m.old_id, m.similarity)
    fresh = [c for c in range(pipeline.n_topics_) if c not in matched]
    for c, topic_id in zip(fresh, store.next_topic_ids(set_name, len(fresh)), strict=True):
        matched[c] = (topic_id, None)
    return matched


@dataclass
class AssignSummary:
    build_id: int
    checked: int
    added: int
    unassigned: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def assign_documents(
    store: TopicStore,
    docs: Sequence[Document],
    *,
    tokenizer: GovTokenizer,
    set_name: str = DEFAULT_SET,
    model: dict[str, Any] | None = None,
) -> AssignSummary:
    """Put ``docs`` not yet in the current build into its nearest topics (no refit).

    ``model`` may be given when assigning many batches, so it is loaded once."""
    from compilations.topics.store import DocumentAssignment

    build = store.current_build(set_name)
    model = model if model is not None else store.load_model(build)
    known = store.assigned_ids(build.id)
    fresh = [d for d in docs if d.id not in known]
    pipeline: TopicPipeline = model["pipeline"]
    topic_ids: list[int] = model["topic_ids"]
    labels, scores = pipeline.predict_with_scores(
        tokenize_texts(tokenizer, [document_text(d) for d in fresh])
    )
    rows = [
        DocumentAssignment(
            doc_id=d.id,
            topic_id=topic_ids[int(c)] if c >= 0 else None,
            score=float(s),
            year=d.year,
        )
        for d, c, s in zip(fresh, labels, scores, strict=True)
    ]
    added = store.add_assignments(build.id, rows) if rows else 0
    return AssignSummary(
        build_id=build.id,
        checked=len(docs),
        added=added,
        unassigned=sum(1 for r in rows if r.topic_id is None),
    )
