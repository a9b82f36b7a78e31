"""Topic clustering measured against labelled documents: `gongkai eval clustering`.

The documents of a JSONL file (optionally restricted by ``field=value`` conditions, with some
label values skipped) are clustered into k groups, k defaulting to the number of distinct
labels, by the project's `TopicPipeline` and by a plain baseline (scikit-learn's
TfidfVectorizer with ``jieba.lcut`` inside, then KMeans), in the same run. Each is scored by

- ``nmi``: normalised mutual information (arithmetic mean normalisation, sklearn's default);
- ``ari``: adjusted Rand index;
- ``purity``: share of documents whose cluster's most common label is their own;
- ``macro_f1``: for each label, the F1 of the cluster that matches it best, averaged over labels.

Everything runs with a fixed ``random_state``: two runs print the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix
from threadpoolctl import threadpool_limits

from evaluation.records import jsonl_records

RANDOM_STATE = 0


class ClusteringFileError(ValueError):
    """A labelled file that cannot be read; the message names the line."""


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: str


def parse_where(conditions: Sequence[str]) -> dict[str, str]:
    """``["level=法律"]`` -> ``{"level": "法律"}``; every condition needs one ``=``."""
    parsed: dict[str, str] = {}
    for condition in conditions:
        field, sep, value = condition.partition("=")
        if not sep or not field:
            raise ClusteringFileError(f"--where takes FIELD=VALUE, not {condition!r}")
        parsed[field.strip()] = value.strip()
    return parsed


def load_labelled(
    path: Path,
    label_field: str,
    where: dict[str, str] | None = None,
    skip_labels: Sequence[str] = (),
) -> list[LabelledText]:
    """Records of ``path`` that match ``where`` and have a label not in ``skip_labels``; text is
    title then body (``text``, else ``body``)."""
    out: list[LabelledText] = []
    skipped = set(skip_labels)
    for _, record in jsonl_records(path, ClusteringFileError):
        if any(str(record.get(k)) != v for k, v in (where or {}).items()):
            continue
        label = record.get(label_field)
        if label is None or str(label) == "" or str(label) in skipped:
            continue
        title = str(record.get("title") or "")
        body = str(record.get("text") or record.get("body") or "")
        out.append(LabelledText(text=f"{title}\n{body}" if title else body, label=str(label)))
    return out


def purity(labels: Sequence[str], clusters: Sequence[int]) -> float:
    table = contingency_matrix(labels, clusters)  # labels x clusters
    return float(table.max(axis=0).sum() / table.sum())


def macro_f1(labels: Sequence[str], clusters: Sequence[int]) -> float:
    """Mean over labels of the best F1 any one cluster reaches for that label."""
    table = contingency_matrix(labels, clusters).astype(np.float64)
    label_sizes = table.sum(axis=1, keepdims=True)
    cluster_sizes = table.sum(axis=0, keepdims=True)
    f1 = 2 * table / (label_sizes + cluster_sizes)
    return float(f1.max(axis=1).mean())


def scores(labels: Sequence[str], clusters: Sequence[int]) -> dict[str, float]:
    return {
        "nmi": round(float(normalized_mutual_info_score(labels, clusters)), 4),
        "ari": round(float(adjusted_rand_score(labels, clusters)), 4),
        "purity": round(purity(labels, clusters), 4),
        "macro_f1": round(macro_f1(labels, clusters), 4),
    }


def project_clusters(
    texts: Sequence[str], k: int, on_progress: Callable[[int], None] | None = None
) -> NDArray[np.int64]:
    """Cluster ids from the project's pipeline (a document with no usable text gets -1)."""
    from analysis.tokenizer import GovTokenizer
    from compilations.topics.pipeline import TopicPipeline
    from compilations.topics.steps import KMeansClusterer, SvdReducer
    from compilations.topics.tokens import tokenize_texts

    tokens = tokenize_texts(GovTokenizer(), texts, on_progress=on_progress)
    pipeline = TopicPipeline(
        reducer=SvdReducer(random_state=RANDOM_STATE),
        clusterer=KMeansClusterer(k=k, random_state=RANDOM_STATE),
    )
    return pipeline.fit(tokens).labels_


def baseline_clusters(texts: Sequence[str], k: int) -> NDArray[np.int64]:
    """Plain TF-IDF (jieba inside the vectoriser) + KMeans, everything at its defaults."""
    import jieba
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    segmenter = jieba.Tokenizer()  # an instance: jieba's module-level one is global state
    # token_pattern=None: the tokenizer replaces it (sklearn warns when both are given).
    vectorizer = TfidfVectorizer(tokenizer=segmenter.lcut, token_pattern=None, lowercase=False)
    matrix = vectorizer.fit_transform(texts)
    with threadpool_limits(limits=1, user_api="blas"):
        model = KMeans(n_clusters=k, n_init="auto", random_state=RANDOM_STATE)
        return np.asarray(model.fit_predict(matrix), dtype=np.int64)


def evaluate_clustering(
    records: Sequence[LabelledText],
    k: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Scores of the project pipeline (top level) and of the baseline (``baseline``)."""
    labels = [r.label for r in records]
    distinct = sorted(set(labels))
    k = k or len(distinct)
    if len(records) < max(k, 2):
        raise ClusteringFileError(f"{len(records)} labelled documents cannot make {k} clusters")
    texts = [r.text for r in records]
    ours = project_clusters(texts, k, on_progress)
    base = baseline_clusters(texts, k)
    return {
        "documents": len(records),
        "labels": len(distinct),
        "k": k,
        **scores(labels, ours.tolist()),
        "baseline": scores(labels, base.tolist()),
    }
