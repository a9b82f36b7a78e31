"""The `gongkai` command as a user runs it: a real subprocess, state in a temp data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.cli import run_gongkai
from tests.support.live_server import free_port

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples" / "sample_docs.jsonl"


gongkai = run_gongkai


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("cli")
    done = gongkai("ingest", str(SAMPLES), data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    assert "indexed 40 documents" in done.stderr
    return data_dir


def test_search_json_shape(sample_index: Path) -> None:
    done = gongkai("search", "最低生活保障", "--json", "--limit", "3", data_dir=sample_index)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["total"] >= 3
    assert len(result["hits"]) == 3
    for hit in result["hits"]:
        assert {"id", "title", "score", "snippet"} <= hit.keys()
    scores = [h["score"] for h in result["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_reingest_updates_never_duplicates(sample_index: Path) -> None:
    again = gongkai("ingest", str(SAMPLES), data_dir=sample_index)
    assert again.returncode == 0, again.stderr
    status = gongkai("index", "status", "--json", data_dir=sample_index)
    assert json.loads(status.stdout)["documents"] == 40


def test_data_dir_option_overrides_environment(sample_index: Path, tmp_path: Path) -> None:
    empty = gongkai("--data-dir", str(tmp_path / "none"), "search", "低保", data_dir=sample_index)
    assert empty.returncode == 1
    assert "no index" in empty.stderr
    assert "Traceback" not in empty.stderr


def test_engine_down_is_a_clear_error_and_nonzero_exit(tmp_path: Path) -> None:
    done = gongkai(
        "ingest",
        str(SAMPLES),
        data_dir=tmp_path,
        GONGKAI_ENGINE="opensearch",
        GONGKAI_ENGINE_URL="http://127.0.0.1:1",
    )
    assert done.returncode == 1
    assert "http://127.0.0.1:1" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_path_is_reported(tmp_path: Path) -> None:
    done = gongkai("ingest", str(tmp_path / "nope.jsonl"), data_dir=tmp_path)
    assert done.returncode == 1
    assert "nope.jsonl" in done.stderr


def test_eval_retrieval_prints_one_json_object(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    queries = tmp_path / "queries.jsonl"
    docs = [
        {"id": "d1", "text": "住房公积金贷款需要什么材料"},
        {"id": "d2", "text": "最低生活保障标准每年调整"},
        {"id": "d3", "text": "驾驶证到期换证手续"},
    ]
    judged = [
        {"id": "q1", "text": "公积金贷款材料", "relevant_doc_ids": ["d1"]},
        {"id": "q2", "text": "低保标准", "relevant_doc_ids": ["d2"]},
        {"id": "q3", "text": "驾驶证换证", "relevant_doc_ids": ["d3"]},
    ]
    corpus.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs), "utf-8")
    queries.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in judged), "utf-8")
    done = gongkai(
        "eval",
        "retrieval",
        "--corpus",
        str(corpus),
        "--queries",
        str(queries),
        "--json",
        data_dir=tmp_path / "state",
    )
    assert done.returncode == 0, done.stderr
    scores = json.loads(done.stdout)
    assert {"recall@1", "recall@10", "recall@100", "mrr@10"} <= scores.keys()
    assert scores["recall@10"] == 1.0
    assert not (tmp_path / "state" / "index").exists()  # the eval index was temporary


def test_lineage_view_links_the_samples(sample_index: Path) -> None:
    done = gongkai("lineage", "sample-001", "--json", data_dir=sample_index)
    assert done.returncode == 0, done.stderr
    view = json.loads(done.stdout)
    abolished_by = [link["source_id"] for link in view["cited_by"] if link["kind"] == "abolishes"]
    assert abolished_by == ["sample-002"]
    assert view["replaced_by"] == ["sample-002"]


def test_eval_metadata_json_shape(tmp_path: Path) -> None:
    docs = tmp_path / "docs.jsonl"
    record = {
        "id": "m1",
        "title": "关于做好最低生活保障工作的通知",
        "text": "示民发〔2023〕5号\n各区民政局：现将有关事项通知如下。\n示例市民政局\n2023年3月1日",
        "doc_number": "示民发〔2023〕5号",
        "date_written": "2023-03-01",
    }
    docs.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    done = gongkai("eval", "metadata", "--docs", str(docs), "--json", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    scores = json.loads(done.stdout)
    assert scores["fields"]["doc_number"] == {"accuracy": 1.0, "n": 1, "false_extractions": 0}
    assert scores["fields"]["date_written"]["accuracy"] == 1.0
    assert set(scores["baseline"]) == set(scores["fields"])


def test_batch_search_writes_csv(sample_index: Path, tmp_path: Path) -> None:
    queries = tmp_path / "queries.txt"
    queries.write_text("最低生活保障\n医保\n", encoding="utf-8")
    out = tmp_path / "hits.csv"
    done = gongkai(
        "batch-search", str(queries), "--out", str(out), "--limit", "3", data_dir=sample_index
    )
    assert done.returncode == 0, done.stderr
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("query,rank,id,title")
    assert len(lines) == 1 + 6


def test_serve_with_two_workers_answers_with_the_command_line_settings(
    sample_index: Path, tmp_path: Path
) -> None:
    # The environment names an empty data dir; the workers must use --data-dir instead.
    port = free_port()
    command = ["--data-dir", str(sample_index), "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(
        [sys.executable, "-m", "search_api", *command],
        env={**os.environ, "GONGKAI_DATA_DIR": str(tmp_path / "empty")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        body = None
        for _ in range(600):  # bounded: at most ~60 s for two workers to start
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/search", params={"q": "低保"})
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            body = response.json()
            break
        assert body is not None, "server did not answer"
        assert body["total"] > 0
        for _ in range(8):  # whichever worker answers, the same index
            again = httpx.get(f"http://127.0.0.1:{port}/search", params={"q": "低保"}).json()
            assert again["total"] == body["total"]
    finally:
        server.terminate()
        server.communicate(timeout=30)  # also closes the stderr pipe
