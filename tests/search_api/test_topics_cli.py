"""`gongkai topics ...` and its bad input, as a user runs it (real subprocess, embedded index)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_gongkai
from tests.support.topic_corpus import topic_documents

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_jsonl(path: Path, prefix: str = "", per_topic: int = 12, seed: int = 7) -> Path:
    docs = topic_documents(per_topic=per_topic, seed=seed, prefix=prefix)
    path.write_text(
        "\n".join(d.model_dump_json(exclude_defaults=True) for d in docs) + "\n", encoding="utf-8"
    )
    return path


def indexed(data_dir: Path) -> int:
    status = run_gongkai("index", "status", "--json", data_dir=data_dir)
    assert status.returncode == 0, status.stderr
    return int(json.loads(status.stdout)["documents"])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("topics-cli")
    done = run_gongkai("ingest", str(write_jsonl(data_dir / "docs.jsonl")), data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    build = run_gongkai("topics", "build", "--k", "3", "--json", data_dir=data_dir)
    assert build.returncode == 0, build.stderr
    summary = json.loads(build.stdout)
    assert summary["n_topics"] == 3 and summary["new_ids"] == 3
    assert summary["n_documents"] == indexed(data_dir)
    assert "read + tokenise" in build.stderr  # the progress bar
    return data_dir


def test_list_and_show(built: Path) -> None:
    listed = run_gongkai("topics", "list", "--json", data_dir=built)
    assert listed.returncode == 0, listed.stderr
    report = json.loads(listed.stdout)
    assert report["set"] == "all" and len(report["topics"]) == 3
    assert sum(t["size"] for t in report["topics"]) == report["documents"]
    first = report["topics"][0]
    shown = run_gongkai("topics", "show", str(first["id"]), "--json", "--docs", "2", data_dir=built)
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert detail["label"] == first["label"] and len(detail["documents"]) == 2
    assert sum(detail["years"].values()) == first["size"]
    table = run_gongkai("topics", "list", data_dir=built)
    assert first["label"] in table.stdout


def test_pictures_to_files(built: Path, tmp_path: Path) -> None:
    png, svg = tmp_path / "map.png", tmp_path / "timeline.svg"
    assert run_gongkai("topics", "map", "--out", str(png), data_dir=built).returncode == 0
    assert png.read_bytes().startswith(PNG_MAGIC)
    done = run_gongkai("topics", "timeline", "--out", str(svg), "--top", "2", data_dir=built)
    assert done.returncode == 0, done.stderr
    assert "<svg" in svg.read_text(encoding="utf-8")
    wrong = run_gongkai("topics", "map", "--out", str(tmp_path / "map.jpg"), data_dir=built)
    assert wrong.returncode != 0 and ".png or .svg" in wrong.stderr


def test_new_documents_are_assigned_then_kept_by_a_rebuild(built: Path) -> None:
    before = indexed(built)
    more = write_jsonl(built / "more.jsonl", prefix="new:", per_topic=2, seed=3)
    assert run_gongkai("ingest", str(more), data_dir=built).returncode == 0
    added = indexed(built) - before
    assign = run_gongkai("topics", "assign", "--json", data_dir=built)
    assert assign.returncode == 0, assign.stderr
    assert json.loads(assign.stdout)["added"] == added > 0
    again = run_gongkai("topics", "assign", "--json", data_dir=built)
    assert json.loads(again.stdout)["added"] == 0
    missing = run_gongkai("topics", "assign", "no-such-doc", "--json", data_dir=built)
    assert json.loads(missing.stdout)["missing"] == ["no-such-doc"]
    rebuild = run_gongkai("topics", "build", "--k", "3", "--json", data_dir=built)
    assert json.loads(rebuild.stdout)["kept_ids"] == 3


def test_bad_input_exits_with_a_message(built: Path, tmp_path: Path) -> None:
    too_many = run_gongkai("topics", "build", "--k", "500", data_dir=built)
    assert too_many.returncode == 1
    assert "500 topics need at least 500 documents" in too_many.stderr
    assert "Traceback" not in too_many.stderr
    nothing = run_gongkai("topics", "list", data_dir=tmp_path)
    assert nothing.returncode == 1 and "gongkai topics build" in nothing.stderr
    unknown = run_gongkai("topics", "show", "999", data_dir=built)
    assert unknown.returncode == 1 and "no topic 999" in unknown.stderr
    hdbscan_k = run_gongkai("topics", "build", "--method", "hdbscan", "--k", "3", data_dir=built)
    assert hdbscan_k.returncode != 0 and "hdbscan" in hdbscan_k.stderr
