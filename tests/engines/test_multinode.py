"""A real three-node OpenSearch cluster (three JVMs), one replica: one node dies (SIGKILL of its
JVM) during search and ingest; no acknowledged document is lost and search keeps answering."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from engines.base import SearchQuery
from engines.opensearch_backend import ClusterBackend
from gongkai.database import create_database_engine
from gongkai.document import Document
from gongkai.outbox import Backoff, Outbox
from gongkai.pipeline import IngestPipeline
from gongkai.settings import Settings
from tests.engine.node import OpenSearchCluster, OpenSearchNode

pytestmark = pytest.mark.engine

DOCS = 2000
PRELOADED = 200
KILL_AFTER_ACKNOWLEDGED = 600
# Bounds: each search is retried for at most this long before it counts as failed, and the
# search loop stops after this many searches even if ingest were still running.
SEARCH_RETRY_WINDOW_S = 30.0
MAX_SEARCHES = 20000


@pytest.fixture(scope="module")
def cluster() -> Iterator[OpenSearchCluster]:
    with OpenSearchCluster(3) as running:
        yield running


def get_json(url: str, path: str) -> Any:
    with urllib.request.urlopen(url + path, timeout=60) as response:
        return json.load(response)


def put_json(url: str, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def primary_node(cluster: OpenSearchCluster, url: str, index: str) -> OpenSearchNode:
    """The member holding the primary copy of ``index``'s shard (found by transport address:
    the runner names every node "Node 1")."""
    state = get_json(url, f"/_cluster/state/routing_table/{index}")
    shard = state["routing_table"]["indices"][index]["shards"]["0"]
    node_id = next(copy["node"] for copy in shard if copy["primary"])
    nodes = get_json(url, "/_nodes/transport")["nodes"]
    return cluster.node_at(nodes[node_id]["transport"]["publish_address"])


def documents() -> list[Document]:
    return [
        Document(
            id=f"m{i:05d}",
            title=f"关于就业补贴发放的通知（第{i}号）",
            body=f"各区人力资源和社会保障局：现就第{i}批就业补贴发放工作通知如下。",
        )
        for i in range(DOCS)
    ]


def test_node_loss_during_search_and_ingest(
    cluster: OpenSearchCluster, tmp_path: Path, tokenizer: GovTokenizer
) -> None:
    alias = f"gongkai-multinode-{uuid.uuid4().hex[:8]}"
    first = cluster.urls[0]
    setup = ClusterBackend(first, alias=alias, timeout_s=60)
    setup.ensure_index()
    index = setup.health()["index"]
    put_json(first, f"/{index}/_settings", {"index": {"number_of_replicas": 1}})
    get_json(first, f"/_cluster/health/{index}?wait_for_status=green&timeout=60s")
    setup.close()

    # The victim holds the primary: its replica elsewhere must be promoted. Requests go to
    # a surviving node, as a client with several hosts would after its first failure.
    victim = primary_node(cluster, first, index)
    survivor_url = next(cluster.url_of(n) for n in cluster.nodes if n is not victim)
    backend = ClusterBackend(survivor_url, alias=alias, timeout_s=60)
    database = create_database_engine(Settings(data_dir=tmp_path))
    outbox = Outbox(database)

    searches: list[tuple[int, int]] = []  # (total hits, attempts it took)
    failed_searches: list[str] = []
    stop = threading.Event()

    def search_all_along() -> None:
        query = SearchQuery(terms=["就业", "补贴"], limit=5)
        for _ in range(MAX_SEARCHES):
            if stop.is_set():
                return
            attempts, began = 0, time.monotonic()
            while True:
                attempts += 1
                try:
                    searches.append((backend.search(query).total, attempts))
                    break
                except Exception as exc:  # retried within the window, then a finding
                    if time.monotonic() - began > SEARCH_RETRY_WINDOW_S:
                        failed_searches.append(str(exc))
                        break
                    time.sleep(0.2)

    killed = threading.Event()
    acknowledged_before_kill: list[int] = []
    read_before_kill: list[int] = []
    searches_before_kill: list[int] = []

    def kill_when_enough_acknowledged() -> None:
        # Acknowledged = confirmed by the engine and gone from the outbox; poll (bounded).
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not stop.is_set():
            done = accepted[0] - outbox.count()
            if done >= KILL_AFTER_ACKNOWLEDGED:
                acknowledged_before_kill.append(done)
                read_before_kill.append(accepted[0])
                searches_before_kill.append(len(searches))
                victim.kill()
                killed.set()
                return
            time.sleep(0.05)

    accepted = [0]

    def count_accepted() -> None:
        accepted[0] += 1

    pipeline = IngestPipeline(
        DocumentAnalyzer(tokenizer),
        backend,
        batch_size=100,
        outbox=outbox,
        backoff=Backoff(initial_s=0.5, max_s=5.0, window_s=180.0),
        # Acknowledge as the ingest goes: with the default (a commit per 5,000 documents)
        # nothing was acknowledged before the final confirmation, after the last document.
        confirm_every=100,
    )
    # Something to find before the searches start; the rest arrives while they run.
    everything = documents()
    first = pipeline.run(everything[:PRELOADED], on_document=count_accepted)
    assert first.pending == 0
    searcher = threading.Thread(target=search_all_along)
    killer = threading.Thread(target=kill_when_enough_acknowledged)
    searcher.start()
    killer.start()
    try:
        report = pipeline.run(everything[PRELOADED:], on_document=count_accepted)
    finally:
        killer.join(timeout=620)
        stop.set()
        searcher.join(timeout=120)

    try:
        assert killed.is_set(), "the node was never killed: the test proved nothing"
        assert acknowledged_before_kill[0] >= KILL_AFTER_ACKNOWLEDGED
        # Killed while documents were still being read, not during the final confirmation.
        assert read_before_kill[0] < DOCS, "killed after the ingest: it proved nothing"
        assert report.documents == DOCS - PRELOADED and report.pending == 0, report.engine_error
        backend.refresh()
        assert backend.count() == DOCS
        assert {d.id for d in backend.iter_documents(500)} == {d.id for d in documents()}
        assert not failed_searches, failed_searches[:3]
        assert searches and all(total > 0 for total, _ in searches)
        assert len(searches) > searches_before_kill[0]  # search went on after the loss
        health = get_json(survivor_url, "/_cluster/health")
        assert health["number_of_nodes"] == 2
        print(
            f"\nnode loss: {len(searches)} searches ({searches_before_kill[0]} before it), "
            f"{sum(1 for _, a in searches if a > 1)} needed a retry, max attempts "
            f"{max(a for _, a in searches)}; acknowledged before kill "
            f"{acknowledged_before_kill[0]}; engine error seen by ingest: {report.engine_error}"
        )
    finally:
        backend.drop()
        backend.close()
        database.dispose()
