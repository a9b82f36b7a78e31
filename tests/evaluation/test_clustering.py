"""Clustering metrics on hand-made examples; `gongkai eval clustering` on the real sets."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sklearn.metrics import normalized_mutual_info_score

from evaluation.clustering import (
    ClusteringFileError,
    LabelledText,
    evaluate_clustering,
    load_labelled,
    macro_f1,
    parse_where,
    purity,
    scores,
)
from tests.support.cli import run_gongkai
from tests.support.topic_corpus import topic_documents, topic_of


def test_metrics_on_a_hand_made_example() -> None:
    labels = ["a", "a", "a", "b", "b", "c"]
    clusters = [0, 0, 1, 1, 1, 1]
    # Cluster 0 is mostly a (2), cluster 1 mostly b (2): 4 of 6 documents.
    assert purity(labels, clusters) == pytest.approx(4 / 6)
    # Best F1 per label: a with cluster 0 = 2*2/(3+2); b with 1 = 2*2/(2+4); c with 1 = 2/(1+4).
    assert macro_f1(labels, clusters) == pytest.approx((0.8 + 2 / 3 + 0.4) / 3)
    # ARI by hand: pairs together in both = 2, rows 4, columns 7, all pairs 15.
    expected = 4 * 7 / 15
    got = scores(labels, clusters)
    assert got["ari"] == pytest.approx((2 - expected) / (5.5 - expected), abs=1e-4)


def test_nmi_and_ari_at_the_extremes_and_between() -> None:
    assert scores(["a", "a", "b", "b"], [1, 1, 0, 0]) == {
        "nmi": 1.0,
        "ari": 1.0,
        "purity": 1.0,
        "macro_f1": 1.0,
    }
    independent = scores(["a", "a", "b", "b"], [0, 1, 0, 1])
    assert independent["nmi"] == 0.0 and independent["ari"] == pytest.approx(-0.5)
    # I(Y;C) = 0.5 ln(4/3) + 0.25 ln(2/3) + 0.25 ln 2; H(Y) = ln 2; H(C) = H(3/4, 1/4).
    assert scores(["a", "a", "b", "b"], [0, 0, 0, 1])["nmi"] == pytest.approx(0.3437, abs=1e-4)


def test_where_and_skipped_labels_select_records(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    rows = [
        {"title": "甲", "text": "一", "label": "x", "level": "法律"},
        {"title": "", "text": "二", "label": "y", "level": "法律"},
        {"title": "丙", "text": "三", "label": "未标注", "level": "法律"},
        {"title": "丁", "text": "四", "label": "x", "level": "规章"},
        {"title": "戊", "text": "五", "level": "法律"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    got = load_labelled(path, "label", parse_where(["level=法律"]), ["未标注"])
    assert got == [LabelledText("甲\n一", "x"), LabelledText("二", "y")]
    with pytest.raises(ClusteringFileError, match="FIELD=VALUE"):
        parse_where(["level"])


def test_evaluation_scores_the_project_and_the_baseline() -> None:
    records = [LabelledText(f"{d.title}\n{d.body}", topic_of(d.id)) for d in topic_documents()]
    report = evaluate_clustering(records)
    assert report["k"] == 3 and report["documents"] == 36
    assert set(report) >= {"nmi", "ari", "purity", "macro_f1", "baseline"}
    assert set(report["baseline"]) == {"nmi", "ari", "purity", "macro_f1"}
    assert report["nmi"] == 1.0  # three clean topics: the pipeline finds them exactly
    assert evaluate_clustering(records) == report  # fixed random_state: same numbers
    with pytest.raises(ClusteringFileError, match="cannot make 40 clusters"):
        evaluate_clustering(records, k=40)


def random_nmi(labels: list[str], k: int) -> float:
    rng = random.Random(0)
    return float(normalized_mutual_info_score(labels, [rng.randrange(k) for _ in labels]))


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("lawrefbook.dev.jsonl", ["--where", "level=法律"]),
        ("msga_messages.dev.jsonl", ["--skip-label", "未标注"]),
    ],
)
def test_eval_clustering_on_the_real_sets(
    shared_data: Path, tmp_path: Path, name: str, options: list[str]
) -> None:
    path = shared_data / name
    args = ["eval", "clustering", "--docs", str(path), "--label-field", "label", *options]
    run = run_gongkai(*args, "--json", data_dir=tmp_path)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    where = parse_where([options[1]]) if options[0] == "--where" else None
    skip = [options[1]] if options[0] == "--skip-label" else []
    labels = [r.label for r in load_labelled(path, "label", where, skip)]
    assert report["documents"] == len(labels) and report["k"] == len(set(labels))
    for key in ("nmi", "ari", "purity", "macro_f1"):
        assert 0 <= report[key] <= 1 and key in report["baseline"]
    chance = random_nmi(labels, report["k"])
    assert report["nmi"] > chance + 0.1
    assert report["nmi"] > report["baseline"]["nmi"]
