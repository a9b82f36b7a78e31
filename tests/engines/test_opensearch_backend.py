"""What only the cluster backend has: the versioned index behind an alias, the swap on
rebuild, connection failures, and the two official clients.

Engine tests run against a real OpenSearch node (the session fixture ``opensearch_url`` in
tests/conftest.py starts one from Maven Central jars, or uses GONGKAI_TEST_OPENSEARCH_URL).
The behaviour every engine shares is in test_contract.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from engines import make_backend
from engines.base import EngineError, EngineUnavailable, SearchBackend, SearchQuery
from engines.opensearch_backend import BULK_REQUESTS_IN_FLIGHT, ClusterBackend, build_search_body
from gongkai.document import AnalyzedDocument, Document
from gongkai.settings import Settings
from mappings import MAPPING_VERSION

ES_URL_ENV = "GONGKAI_TEST_ELASTICSEARCH_URL"


def make(doc_id: str, title: str, body: str, **fields: Any) -> AnalyzedDocument:
    """An analysed document whose tokens are the whitespace-separated words given."""
    return AnalyzedDocument(
        document=Document(id=doc_id, title=title, body=body, **fields),
        title_tokens=title.split(),
        body_tokens=body.split(),
    )


def unique_alias() -> str:
    return f"gongkai-test-{uuid.uuid4().hex[:10]}"


def index_names(backend: ClusterBackend) -> list[str]:
    """Every index on the server whose name starts with this backend's alias."""
    raw = backend._client.indices.get(index=f"{backend.alias}*", allow_no_indices=True)
    return sorted(getattr(raw, "body", raw))


def alias_targets(backend: ClusterBackend) -> list[str]:
    return backend._alias_targets()


@pytest.fixture
def cluster(opensearch_url: str) -> Iterator[ClusterBackend]:
    """A ClusterBackend on the real node, with its own alias, dropped afterwards."""
    backend = ClusterBackend(opensearch_url, engine="opensearch", alias=unique_alias())
    try:
        yield backend
    finally:
        backend.drop()
        backend.close()


def round_trip(backend: ClusterBackend) -> None:
    """Index, search, filter, facet, sort, page, get, delete: the basics through one client."""
    backend.ensure_index()
    backend.index(
        [
            make(
                "a",
                "低保 标准",
                "调整 低保 标准",
                agency="民政局",
                doc_type="通知",
                date_published=date(2020, 1, 2),
            ),
            make(
                "b", "公积金", "住房 公积金 低保", agency="住建局", date_published=date(2022, 3, 4)
            ),
            make("c", "其他", "无关 内容", agency="民政局", doc_type="办法"),
        ]
    )
    backend.refresh()
    assert backend.count() == 3
    got = backend.get("a")
    assert got is not None
    assert got.title == "低保 标准"
    assert got.agency == ["民政局"]
    assert backend.get("missing") is None

    query = SearchQuery(
        terms=["低保"], field_boosts={"title": 2.0, "body": 1.0}, facets=["agency", "doc_type"]
    )
    result = backend.search(query)
    assert result.total == 2
    assert [h.id for h in result.hits] == ["a", "b"]  # title match, boosted
    assert result.hits[0].document.title == "低保 标准"
    assert {f.value: f.count for f in result.facets["agency"]} == {"民政局": 1, "住建局": 1}
    # "b" has no doc_type (stored as ""): no empty bucket is offered.
    assert [(f.value, f.count) for f in result.facets["doc_type"]] == [("通知", 1)]

    newest = backend.search(query.model_copy(update={"sort": "newest"}))
    assert [h.id for h in newest.hits] == ["b", "a"]
    page = backend.search(SearchQuery(limit=1, offset=1))
    assert page.total == 3
    assert [h.id for h in page.hits] == ["b"]
    filtered = backend.search(SearchQuery(filters={"agency": ["民政局"]}, year_from=2019))
    assert [h.id for h in filtered.hits] == ["a"]

    assert backend.delete(["a", "never-indexed"]) == 2
    backend.refresh()
    assert backend.count() == 2
    assert backend.get("a") is None


# -- the alias and its versioned index ---------------------------------------------------
@pytest.mark.engine
def test_opensearch_round_trip(cluster: ClusterBackend) -> None:
    round_trip(cluster)


@pytest.mark.engine
def test_alias_points_at_a_versioned_index(cluster: ClusterBackend) -> None:
    cluster.ensure_index()
    cluster.ensure_index()  # idempotent: still one index
    targets = alias_targets(cluster)
    assert len(targets) == 1
    assert re.fullmatch(re.escape(cluster.alias) + rf"-v{MAPPING_VERSION}-\d{{20}}", targets[0])
    assert index_names(cluster) == targets  # no plain index named like the alias
    health = cluster.health()
    assert health == {
        "engine": "opensearch",
        "url": cluster.url,
        "index": targets[0],
        "documents": 0,
    }


@pytest.mark.engine
def test_writing_before_ensure_index_fails_and_names_the_ids(cluster: ClusterBackend) -> None:
    with pytest.raises(EngineError) as raised:
        cluster.index([make("x1", "t", "正文"), make("x2", "t", "正文")])
    message = str(raised.value)
    assert "x1" in message
    assert "x2" in message
    assert "2 document(s)" in message
    # The server must not have auto-created a plain index under the alias's name.
    assert index_names(cluster) == []


@pytest.mark.engine
def test_same_id_is_replaced_in_place(cluster: ClusterBackend) -> None:
    cluster.ensure_index()
    cluster.index([make("a", "旧", "养老金 发放")])
    cluster.index([make("a", "新", "养老金 调整")])
    cluster.refresh()
    assert cluster.count() == 1
    assert cluster.search(SearchQuery(terms=["发放"])).total == 0
    got = cluster.get("a")
    assert got is not None
    assert got.title == "新"


@pytest.mark.engine
def test_rebuild_swaps_the_alias_and_drops_the_old_index(
    cluster: ClusterBackend, opensearch_url: str
) -> None:
    cluster.ensure_index()
    cluster.index([make("old1", "t", "拆迁 安置"), make("old2", "t", "拆迁 补偿")])
    cluster.refresh()
    (old_index,) = alias_targets(cluster)
    # A second client, as a search process would be, watching while the rebuild loads.
    reader = ClusterBackend(opensearch_url, alias=cluster.alias)
    seen_during_load: list[tuple[int, list[str]]] = []

    def docs() -> Iterator[AnalyzedDocument]:
        for i in range(1200):  # more than one bulk batch (500)
            if i == 700:
                hits = reader.search(SearchQuery(terms=["拆迁"])).hits
                seen_during_load.append((reader.count(), sorted(h.id for h in hits)))
            yield make(f"new{i}", "t", "征收 补偿" if i % 2 else "征收 安置")

    try:
        new_index = cluster.rebuild(docs())
    finally:
        reader.close()

    # Until the switch, search answered from the old index, complete.
    assert seen_during_load == [(2, ["old1", "old2"])]
    assert new_index != old_index
    assert alias_targets(cluster) == [new_index]
    assert index_names(cluster) == [new_index]  # the old index is gone
    assert cluster.count() == 1200
    assert cluster.search(SearchQuery(terms=["拆迁"])).total == 0
    assert cluster.search(SearchQuery(terms=["征收"])).total == 1200
    assert cluster.search(SearchQuery(terms=["安置"])).total == 600
    assert cluster.get("new7") is not None
    assert cluster.get("old1") is None
    # Load-time settings were put back: periodic refresh on, replicas as in the mapping.
    raw = cluster._client.indices.get_settings(index=new_index)
    settings = raw[new_index]["settings"]["index"]
    assert settings.get("refresh_interval", "1s") != "-1"
    assert settings["number_of_replicas"] == "0"
    # And the new index takes ordinary writes through the alias.
    cluster.index([make("later", "t", "征收")])
    cluster.refresh()
    assert cluster.count() == 1201


@pytest.mark.engine
def test_bulk_requests_go_side_by_side_and_an_id_seen_twice_keeps_its_last_version(
    opensearch_url: str,
) -> None:
    backend = ClusterBackend(opensearch_url, alias=unique_alias(), batch_size=3)
    send = backend._flavor.streaming_bulk
    # The first two requests meet here: had they been sent one after the other, the first
    # would wait alone and the barrier would break.
    both_in_flight = threading.Barrier(BULK_REQUESTS_IN_FLIGHT, timeout=20)
    lock = threading.Lock()
    active: list[set[str]] = []  # the ids of each request being answered now
    overlaps: list[set[str]] = []  # ids written by two requests at once (must stay empty)
    requests = [0]

    def watched(client: Any, actions: list[dict[str, Any]], **options: Any) -> Any:
        ids = {str(a["_id"]) for a in actions}
        with lock:
            requests[0] += 1
            first = requests[0] <= BULK_REQUESTS_IN_FLIGHT
            overlaps.extend(ids & other for other in active if ids & other)
            active.append(ids)
        try:
            if first:
                both_in_flight.wait()
            yield from send(client, actions, **options)
        finally:
            with lock:
                active.remove(ids)

    backend._flavor = dataclasses.replace(backend._flavor, streaming_bulk=watched)
    # Two requests of distinct ids, then 30 versions of 4 ids: the same id in neighbouring
    # requests of three.
    distinct = [make(f"a{i}", "t", "正文") for i in range(6)]
    versions = [make(f"d{i % 4}", f"v{i}", "正文") for i in range(30)]
    try:
        backend.rebuild(distinct + versions)
        assert requests[0] == 12 and overlaps == []
        assert backend.count() == 10
        for k in range(4):
            got = backend.get(f"d{k}")
            assert got is not None and got.title == f"v{max(range(k, 30, 4))}"
    finally:
        backend.drop()
        backend.close()
    assert backend._bulk_threads is None  # close() ended the sending threads


@pytest.mark.engine
def test_failed_rebuild_leaves_the_old_index_serving(cluster: ClusterBackend) -> None:
    cluster.ensure_index()
    cluster.index([make("keep", "t", "公积金")])
    cluster.refresh()
    (old_index,) = alias_targets(cluster)

    def broken() -> Iterator[AnalyzedDocument]:
        for i in range(600):
            yield make(f"n{i}", "t", "征收")
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError, match="source went away"):
        cluster.rebuild(broken())
    assert alias_targets(cluster) == [old_index]
    assert index_names(cluster) == [old_index]  # the half-loaded index was deleted
    assert cluster.count() == 1
    assert cluster.search(SearchQuery(terms=["公积金"])).total == 1


@pytest.mark.engine
def test_rebuild_without_an_index_creates_one(cluster: ClusterBackend) -> None:
    name = cluster.rebuild([make("a", "t", "就业")])
    assert alias_targets(cluster) == [name]
    assert cluster.count() == 1


@pytest.mark.engine
def test_drop_removes_the_alias_and_every_version(cluster: ClusterBackend) -> None:
    cluster.ensure_index()
    cluster.rebuild([make("a", "t", "x")])
    # A stray version not behind the alias (e.g. left by a crash) goes too.
    stray = cluster._new_index_name()
    cluster._create_index(stray, loading=False, with_alias=False)
    assert len(index_names(cluster)) == 2
    cluster.drop()
    assert index_names(cluster) == []
    assert alias_targets(cluster) == []
    assert cluster.health()["index"] is None
    # Lookups of a dropped index find nothing rather than fail, one id or many.
    assert cluster.get("a") is None
    assert cluster.get_many(["a"]) == {}
    cluster.drop()  # nothing left: still fine


@pytest.mark.engine
def test_unknown_filter_or_facet_field_is_refused(cluster: ClusterBackend) -> None:
    cluster.ensure_index()
    with pytest.raises(EngineError, match="title"):
        cluster.search(SearchQuery(filters={"title": ["x"]}))
    with pytest.raises(EngineError, match="body_tokens"):
        cluster.search(SearchQuery(facets=["body_tokens"]))


@pytest.mark.engine
def test_make_backend_gives_a_working_cluster_backend(opensearch_url: str) -> None:
    settings = Settings(
        engine="opensearch", engine_url=opensearch_url, index_name=unique_alias(), batch_size=2
    )
    backend = make_backend(settings)
    assert isinstance(backend, ClusterBackend)
    assert isinstance(backend, SearchBackend)
    try:
        backend.ensure_index()
        assert backend.index([make(f"d{i}", "t", "医保") for i in range(5)]) == 5  # 3 batches
        backend.refresh()
        assert backend.count() == 5
    finally:
        backend.drop()
        backend.close()


@pytest.mark.engine
def test_test_node_listens_on_loopback_only(opensearch_url: str) -> None:
    if os.environ.get("GONGKAI_TEST_OPENSEARCH_URL"):
        pytest.skip("node given by GONGKAI_TEST_OPENSEARCH_URL: not ours to check")
    with urllib.request.urlopen(f"{opensearch_url}/_nodes/http,transport", timeout=10) as r:
        nodes = json.load(r)["nodes"].values()
    bound = [a for n in nodes for part in ("http", "transport") for a in n[part]["bound_address"]]
    assert bound
    assert all(a.startswith("127.0.0.1:") for a in bound), bound


# -- when the engine cannot be reached ---------------------------------------------------
@pytest.mark.parametrize("engine", ["opensearch", "elasticsearch"])
@pytest.mark.parametrize("operation", ["health", "ensure_index", "search", "index", "count"])
def test_unreachable_url_raises_engine_unavailable(engine: str, operation: str) -> None:
    url = "http://127.0.0.1:1"  # nothing listens on port 1
    backend = ClusterBackend(url, engine=engine, alias="gongkai-unreachable")  # type: ignore[arg-type]
    calls = {
        "health": backend.health,
        "ensure_index": backend.ensure_index,
        "search": lambda: backend.search(SearchQuery(terms=["x"])),
        "index": lambda: backend.index([make("a", "t", "x")]),
        "count": backend.count,
    }
    with pytest.raises(EngineUnavailable) as raised:
        calls[operation]()
    assert url in str(raised.value)
    assert "Connection refused" in str(raised.value)
    assert raised.value.where == url
    backend.close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP port that accepts connections and never answers (a hung server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)  # the kernel completes handshakes; nobody reads or replies
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize("engine", ["opensearch", "elasticsearch"])
def test_a_server_that_never_answers_times_out(engine: str, silent_server: str) -> None:
    backend = ClusterBackend(silent_server, engine=engine, timeout_s=0.3)  # type: ignore[arg-type]
    with pytest.raises(EngineUnavailable) as raised:
        backend.count()
    assert silent_server in str(raised.value)
    assert "no answer within 0.3 s" in str(raised.value)
    backend.close()


def test_password_in_url_is_not_repeated_in_messages() -> None:
    backend = ClusterBackend("http://gongkai:s3cret@127.0.0.1:1", engine="opensearch")
    with pytest.raises(EngineUnavailable) as raised:
        backend.count()
    assert "s3cret" not in str(raised.value)
    assert "http://gongkai:***@127.0.0.1:1" in str(raised.value)
    backend.close()


# -- the elasticsearch client ------------------------------------------------------------
@pytest.mark.engine
def test_elasticsearch_client_round_trip() -> None:
    url = os.environ.get(ES_URL_ENV)
    if not url:
        pytest.skip("GONGKAI_TEST_ELASTICSEARCH_URL not set: no Elasticsearch 8/9 server here")
    backend = ClusterBackend(url, engine="elasticsearch", alias=unique_alias())
    try:
        round_trip(backend)
        old = backend.health()["index"]
        new = backend.rebuild([make("z", "t", "征收")])
        assert new != old
        assert backend.health()["index"] == new
        assert backend.count() == 1
    finally:
        backend.drop()
        backend.close()


@pytest.mark.engine
def test_elasticsearch_client_refuses_an_opensearch_server(opensearch_url: str) -> None:
    # The elasticsearch client checks the product it talks to and stops at OpenSearch; the
    # message must say what to change rather than show a client traceback.
    backend = ClusterBackend(opensearch_url, engine="elasticsearch", alias=unique_alias())
    with pytest.raises(EngineError) as raised:
        backend.health()
    assert not isinstance(raised.value, EngineUnavailable)
    assert "not Elasticsearch" in str(raised.value)
    assert "GONGKAI_ENGINE=opensearch" in str(raised.value)
    backend.close()


# -- the request body (no server needed) -------------------------------------------------
def test_search_body_scores_terms_in_both_fields_and_filters_without_scoring() -> None:
    body = build_search_body(
        SearchQuery(
            terms=["低保", "标准", "低保"],
            field_boosts={"title": 2.0, "body": 1.0},
            filters={"agency": ["民政局"], "region": []},
            year_from=2019,
            facets=["validity"],
            offset=20,
            limit=10,
        )
    )
    boolean = body["query"]["bool"]
    (ranking,) = boolean["must"]
    (free_text,) = ranking["bool"]["should"]
    assert free_text["bool"]["should"] == [
        {"term": {"title_tokens": {"value": "低保", "boost": 2.0}}},
        {"term": {"body_tokens": {"value": "低保", "boost": 1.0}}},
        {"term": {"title_tokens": {"value": "标准", "boost": 2.0}}},
        {"term": {"body_tokens": {"value": "标准", "boost": 1.0}}},
    ]
    assert free_text["bool"]["minimum_should_match"] == 1
    assert boolean["filter"] == [
        {"terms": {"agency": ["民政局"]}},
        {"range": {"year": {"gte": 2019}}},
    ]
    assert body["sort"] == [{"_score": {"order": "desc"}}, {"id": {"order": "asc"}}]
    assert (body["from"], body["size"], body["track_total_hits"]) == (20, 10, True)
    assert body["_source"] == ["doc_json"]
    assert body["aggs"]["validity"]["terms"]["size"] == 50


def test_search_body_without_terms_matches_all_and_newest_sorts_by_date() -> None:
    body = build_search_body(SearchQuery(sort="newest"))
    assert body["query"] == {"bool": {"filter": [], "must": [{"match_all": {}}]}}
    assert body["sort"][0] == {"sort_date": {"order": "desc"}}
    assert "aggs" not in body
