"""The scale engine: OpenSearch (``opensearch-py``) or Elasticsearch 8/9 (``elasticsearch``).

Both servers get the same mapping (``mappings/cluster-v5.json``) and the same query DSL; a small
`_Flavor` holds what differs between the two official clients (construction, bulk helper,
exception classes, one parameter name), so everything else is written once.

The real index is versioned (``<alias>-v<N>-<stamp>``) and only ever reached through the alias
``settings.index_name``: `rebuild` loads a fresh index and moves the alias in one atomic
request, so search never sees a half-built index.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from engines.base import (
    IN_FORCE,
    KEYWORD_FIELDS,
    BoostedField,
    Clause,
    EngineError,
    EngineUnavailable,
    FacetCount,
    Match,
    SearchHit,
    SearchQuery,
    SearchResult,
    document_from_fields,
    engine_fields,
    sort_values_of,
)
from gongkai.document import AnalyzedDocument, Document
from gongkai.settings import Settings
from mappings import load_mapping, versioned_index_name

ClusterEngine = Literal["opensearch", "elasticsearch"]

FACET_SIZE = 50
# Hits and `get` only need the stored record; the token fields are large and never read back.
SOURCE_FIELDS = ["doc_json"]
# Failed ids quoted in an error message; the rest are counted.
MAX_IDS_IN_ERROR = 20
# Bulk requests sent at once. The node indexes each request on one write thread, so one at a
# time left a core idle: two in flight took a test node from ~760 to ~1,200 documents/s on two
# cores (issue 9 profile, pre-analysed documents).
BULK_REQUESTS_IN_FLIGHT = 2
# Connections the opensearch-py client keeps open to the node (the elasticsearch client keeps
# ten by default).
KEPT_CONNECTIONS = 10


@dataclass(frozen=True)
class _Flavor:
    """What differs between the opensearch-py and elasticsearch clients."""

    engine: ClusterEngine
    client: Any
    streaming_bulk: Callable[..., Iterable[tuple[bool, dict[str, Any]]]]
    # Could not talk to the server at all (refused, reset, DNS, TLS, timeout).
    unreachable: tuple[type[BaseException], ...]
    # HTTP 404 from the server.
    not_found: tuple[type[BaseException], ...]
    # The elasticsearch client refuses servers that are not Elasticsearch.
    wrong_product: tuple[type[BaseException], ...]
    # Any other refusal or failure the client reports.
    failed: tuple[type[BaseException], ...]
    # `GET /<index>/_doc/<id>` source filtering: `_source_includes` vs `source_includes`.
    source_includes_kw: str


def _opensearch_flavor(url: str, timeout_s: float) -> _Flavor:
    from opensearchpy import OpenSearch, helpers
    from opensearchpy import exceptions as exc

    # Connections kept open: urllib3's default of one made every concurrent request (bulk
    # requests side by side, a server's threads) open and throw away a connection.
    client = OpenSearch(
        hosts=[url],
        timeout=timeout_s,
        max_retries=1,
        retry_on_timeout=False,
        pool_maxsize=KEPT_CONNECTIONS,
    )
    return _Flavor(
        engine="opensearch",
        client=client,
        streaming_bulk=helpers.streaming_bulk,
        unreachable=(exc.ConnectionError,),  # includes ConnectionTimeout and SSLError
        not_found=(exc.NotFoundError,),
        wrong_product=(),
        failed=(exc.OpenSearchException,),
        source_includes_kw="_source_includes",
    )


def _elasticsearch_flavor(url: str, timeout_s: float) -> _Flavor:
    import elastic_transport
    from elasticsearch import Elasticsearch, NotFoundError, UnsupportedProductError, helpers

    client = Elasticsearch(url, request_timeout=timeout_s, max_retries=1, retry_on_timeout=False)
    return _Flavor(
        engine="elasticsearch",
        client=client,
        streaming_bulk=helpers.streaming_bulk,
        # ConnectionTimeout and TlsError derive from ConnectionError.
        unreachable=(elastic_transport.ConnectionError, elastic_transport.ConnectionTimeout),
        not_found=(NotFoundError,),
        wrong_product=(UnsupportedProductError,),
        failed=(elastic_transport.ApiError, elastic_transport.TransportError),
        source_includes_kw="source_includes",
    )


def redact_url(url: str) -> str:
    """``url`` without a password, for messages and `health`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _unreachable_reason(exc: BaseException, timeout_s: float) -> str:
    """The useful words of a client's connection error (they nest the cause two deep)."""
    text = " ".join(str(exc).split())
    if "timeout" in type(exc).__name__.lower() or "timed out" in text.lower():
        return f"no answer within {timeout_s:g} s"
    errno = re.search(r"\[Errno -?\d+\] ([^)\]]+)", text)
    return errno.group(1).strip() if errno else _short(exc)


def _body(response: Any) -> Any:
    # elasticsearch returns ObjectApiResponse (the JSON is `.body`); opensearch-py a dict.
    return getattr(response, "body", response)


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ClusterBackend:
    """`SearchBackend` on an OpenSearch or Elasticsearch 8/9 server."""

    def __init__(
        self,
        url: str,
        *,
        engine: ClusterEngine = "opensearch",
        alias: str = "gongkai-docs",
        timeout_s: float = 30.0,
        batch_size: int = 500,
    ) -> None:
        if engine not in ("opensearch", "elasticsearch"):
            raise EngineError(f"ClusterBackend serves opensearch or elasticsearch, not {engine!r}")
        self.name: str = engine
        self.url = url.rstrip("/")
        self.alias = alias
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self._where = redact_url(self.url)
        self._mapping = load_mapping("cluster")
        make = _opensearch_flavor if engine == "opensearch" else _elasticsearch_flavor
        self._flavor = make(self.url, timeout_s)
        self._client: Any = self._flavor.client
        # Sends bulk requests side by side (made on first use, ended by `close`).
        self._bulk_threads: ThreadPoolExecutor | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ClusterBackend:
        if settings.engine == "embedded":
            raise EngineError("settings name the embedded engine, not a cluster")
        return cls(
            settings.engine_url,
            engine=settings.engine,
            alias=settings.index_name,
            timeout_s=settings.engine_timeout_s,
            batch_size=settings.batch_size,
        )

    # -- the one place client calls go through -----------------------------------------
    def _call(
        self,
        action: str,
        request: Callable[[], Any],
        *,
        missing: Any = None,
        allow_missing: bool = False,
    ) -> Any:
        """Run one client request; translate client exceptions into the project's errors.

        ``allow_missing`` turns an HTTP 404 into ``missing`` (lookups of things that may not
        exist); anything else the server refuses becomes `EngineError`.
        """
        flavor = self._flavor
        try:
            return _body(request())
        except flavor.unreachable as exc:
            reason = _unreachable_reason(exc, self.timeout_s)
            raise EngineUnavailable(self._where, f"{reason} (during {action})") from exc
        except flavor.not_found as exc:
            if allow_missing:
                return missing
            raise EngineError(f"{self.name} at {self._where}: {action}: {_short(exc)}") from exc
        except flavor.wrong_product as exc:
            raise EngineError(
                f"the server at {self._where} is not Elasticsearch ({_short(exc)}); "
                "for OpenSearch set GONGKAI_ENGINE=opensearch"
            ) from exc
        except flavor.failed as exc:
            raise EngineError(f"{self.name} at {self._where}: {action}: {_short(exc)}") from exc

    # -- index and alias bookkeeping ---------------------------------------------------
    def _alias_targets(self) -> list[str]:
        """Indices the alias points at (normally one; none before `ensure_index`)."""
        found = self._call(
            "read alias",
            lambda: self._client.indices.get_alias(name=self.alias),
            missing={},
            allow_missing=True,
        )
        return sorted(found)

    def _live_index(self) -> str | None:
        targets = self._alias_targets()
        return targets[0] if targets else None

    def _versioned_indices(self) -> list[str]:
        """Every index this alias's versions may live in, attached to the alias or not."""
        pattern = re.compile(re.escape(self.alias) + r"-v\d+-\d+")
        found = self._call(
            "list indices",
            lambda: self._client.indices.get(
                index=f"{self.alias}-v*",
                expand_wildcards="open,closed",
                allow_no_indices=True,
                ignore_unavailable=True,
            ),
            missing={},
            allow_missing=True,
        )
        return sorted(name for name in found if pattern.fullmatch(name))

    def _new_index_name(self) -> str:
        # Microseconds keep two rebuilds in the same second apart; names must be lowercase.
        return versioned_index_name(self.alias, datetime.now(UTC).strftime("%Y%m%d%H%M%S%f"))

    def _create_index(self, name: str, *, loading: bool, with_alias: bool) -> None:
        body: dict[str, Any] = {
            "settings": _merge(self._mapping["settings"], self._load_settings() if loading else {}),
            "mappings": self._mapping["mappings"],
        }
        if with_alias:
            # Index and alias appear together: nobody ever sees the alias missing its index.
            body["aliases"] = {self.alias: {}}
        self._call(
            f"create index {name}", lambda: self._client.indices.create(index=name, body=body)
        )

    @staticmethod
    def _load_settings() -> dict[str, Any]:
        # Bulk load without periodic refreshes or replica copies; both restored afterwards.
        return {"index": {"refresh_interval": "-1", "number_of_replicas": 0}}

    def _serving_settings(self) -> dict[str, Any]:
        index = self._mapping["settings"].get("index", {})
        return {
            "index": {
                # None resets to the server default (1s) when the mapping does not say.
                "refresh_interval": index.get("refresh_interval"),
                "number_of_replicas": index.get("number_of_replicas", 1),
            }
        }

    def _delete_indices(self, names: Sequence[str]) -> None:
        for name in names:
            self._call(
                f"delete index {name}",
                partial(self._client.indices.delete, index=name),
                allow_missing=True,
            )

    # -- bulk --------------------------------------------------------------------------
    def _bulk(
        self,
        action: str,
        actions: Iterable[dict[str, Any]],
        tolerated: tuple[int, ...] = (),
        require_alias: bool = False,
        chunk_size: int | None = None,
    ) -> tuple[int, list[tuple[str, str]]]:
        """Send ``actions`` in requests of ``chunk_size`` (default: the batch size), up to
        `BULK_REQUESTS_IN_FLIGHT` at once; returns (items sent, [(failed id, reason), ...]).

        Items answered with a status in ``tolerated`` count as done. ``actions`` is read on
        the calling thread (it may analyse documents as it goes) while earlier requests are
        being answered.
        """
        options: dict[str, Any] = {"require_alias": True} if require_alias else {}

        def send(chunk: list[dict[str, Any]]) -> tuple[int, list[tuple[str, str]]]:
            sent = 0
            failures: list[tuple[str, str]] = []
            # Item failures are collected (raise_on_error=False) so the message can list them;
            # transport failures still raise and are translated by `_call`.
            for ok, item in self._flavor.streaming_bulk(
                self._client,
                chunk,
                chunk_size=len(chunk),
                raise_on_error=False,
                raise_on_exception=True,
                max_retries=3,  # retries only "429 too many requests", with backoff
                **options,
            ):
                sent += 1
                result = next(iter(item.values()))
                if not ok and result.get("status") not in tolerated:
                    failures.append((str(result.get("_id")), _reason(result)))
            return sent, failures

        def run() -> tuple[int, list[tuple[str, str]]]:
            sent = 0
            failures: list[tuple[str, str]] = []
            # Requests being answered, oldest first, with the ids each one writes.
            pending: deque[tuple[Future[tuple[int, list[tuple[str, str]]]], set[str]]] = deque()

            def collect_oldest() -> None:
                nonlocal sent
                chunk_sent, chunk_failures = pending.popleft()[0].result()
                sent += chunk_sent
                failures.extend(chunk_failures)

            try:
                for chunk in _chunks(actions, chunk_size or self.batch_size):
                    ids = {str(a["_id"]) for a in chunk}
                    # The same id twice must reach the index in order (the last one wins),
                    # so a request waits for any earlier one that writes one of its ids.
                    while pending and (
                        len(pending) >= BULK_REQUESTS_IN_FLIGHT
                        or any(ids & earlier for _, earlier in pending)
                    ):
                        collect_oldest()
                    pending.append((self._bulk_pool().submit(send, chunk), ids))
                while pending:
                    collect_oldest()
            finally:
                # On an error, nothing is still being sent when this returns.
                wait([done for done, _ in pending])
            return sent, failures

        result: tuple[int, list[tuple[str, str]]] = self._call(action, run)
        return result

    def _bulk_pool(self) -> ThreadPoolExecutor:
        if self._bulk_threads is None:
            self._bulk_threads = ThreadPoolExecutor(
                max_workers=BULK_REQUESTS_IN_FLIGHT, thread_name_prefix="gongkai-bulk"
            )
        return self._bulk_threads

    def _index_actions(
        self, docs: Iterable[AnalyzedDocument], index: str
    ) -> Iterator[dict[str, Any]]:
        for analyzed in docs:
            yield {
                "_op_type": "index",
                "_index": index,
                "_id": analyzed.document.id,
                "_source": engine_fields(analyzed),
            }

    def _raise_failures(self, verb: str, failures: list[tuple[str, str]]) -> None:
        if not failures:
            return
        ids = [doc_id for doc_id, _ in failures]
        shown = ", ".join(ids[:MAX_IDS_IN_ERROR])
        more = f" and {len(ids) - MAX_IDS_IN_ERROR} more" if len(ids) > MAX_IDS_IN_ERROR else ""
        raise EngineError(
            f"{self.name} at {self._where} failed to {verb} {len(ids)} document(s): "
            f"{shown}{more} (first error: {failures[0][1]})"
        )

    # -- SearchBackend -----------------------------------------------------------------
    def ensure_index(self) -> None:
        if self._alias_targets():
            return
        exists = self._call(
            "check index", lambda: bool(self._client.indices.exists(index=self.alias))
        )
        if exists:
            raise EngineError(
                f"{self._where} has a plain index named {self.alias!r} where Gongkai expects "
                "an alias; delete it or choose another GONGKAI_INDEX_NAME"
            )
        self._create_index(self._new_index_name(), loading=False, with_alias=True)

    def index(self, docs: Sequence[AnalyzedDocument]) -> int:
        if not docs:
            return 0
        # require_alias: writing to a missing alias must fail, not auto-create a plain index
        # with guessed mappings.
        _, failures = self._bulk(
            f"bulk write to {self.alias}",
            self._index_actions(docs, self.alias),
            require_alias=True,
            # One batch as requests side by side, so that both write threads have work.
            chunk_size=math.ceil(len(docs) / BULK_REQUESTS_IN_FLIGHT),
        )
        self._raise_failures("index", failures)
        return len(docs)

    def refresh(self) -> None:
        self._call("refresh", lambda: self._client.indices.refresh(index=self.alias))

    def delete(self, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        actions = ({"_op_type": "delete", "_index": self.alias, "_id": i} for i in ids)
        # 404 = that id was not there: deleting it is already done.
        _, failures = self._bulk(f"delete from {self.alias}", actions, tolerated=(404,))
        self._raise_failures("delete", failures)
        return len(ids)

    def get(self, doc_id: str) -> Document | None:
        options = {self._flavor.source_includes_kw: ",".join(SOURCE_FIELDS)}
        found = self._call(
            f"get {doc_id}",
            lambda: self._client.get(index=self.alias, id=doc_id, **options),
            allow_missing=True,
        )
        if not found or not found.get("found"):
            return None
        return document_from_fields(found["_source"])

    def get_many(self, doc_ids: Sequence[str]) -> dict[str, Document]:
        if not doc_ids:
            return {}
        options = {self._flavor.source_includes_kw: ",".join(SOURCE_FIELDS)}
        found = self._call(
            f"get {len(doc_ids)} documents",
            lambda: self._client.mget(index=self.alias, body={"ids": list(doc_ids)}, **options),
        )
        return {
            doc["_id"]: document_from_fields(doc["_source"])
            for doc in found["docs"]
            if doc.get("found")
        }

    def search(self, query: SearchQuery) -> SearchResult:
        body = build_search_body(query)
        raw = self._call("search", lambda: self._client.search(index=self.alias, body=body))
        hits = [
            SearchHit(
                id=hit["_id"],
                score=float(hit["_score"] or 0.0),
                document=document_from_fields(hit["_source"]),
                sort_values=sort_values_of(query.sort, hit["sort"][0], hit["_id"]),
            )
            for hit in raw["hits"]["hits"]
        ]
        facets = {
            field: [
                FacetCount(value=str(b["key"]), count=int(b["doc_count"]))
                for b in raw.get("aggregations", {}).get(field, {}).get("buckets", [])
            ]
            for field in query.facets
        }
        return SearchResult(total=int(raw["hits"]["total"]["value"]), hits=hits, facets=facets)

    def suggest_titles(self, prefix: str, limit: int = 10) -> list[str]:
        if not prefix:
            return []
        body = {
            "query": {"prefix": {"title": {"value": prefix}}},
            "size": limit,
            "sort": [{"title": {"order": "asc"}}],
            "_source": ["title"],
        }
        raw = self._call("suggest", lambda: self._client.search(index=self.alias, body=body))
        titles = [hit["_source"]["title"] for hit in raw["hits"]["hits"]]
        return list(dict.fromkeys(titles))[:limit]

    def count(self) -> int:
        raw = self._call("count", lambda: self._client.count(index=self.alias))
        return int(raw["count"])

    def iter_documents(self, batch_size: int = 1000) -> Iterator[Document]:
        # search_after on the unique `id` keyword: each page resumes after the last id seen,
        # so deep iteration costs the same per page (no from+size limit, no scroll context
        # to keep or clear); a document present throughout comes back exactly once.
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "query": {"match_all": {}},
                "sort": [{"id": {"order": "asc"}}],
                "size": max(batch_size, 1),
                "_source": SOURCE_FIELDS,
                "track_total_hits": False,
            }
            if after is not None:
                body["search_after"] = after
            raw = self._call(
                "iterate documents", partial(self._client.search, index=self.alias, body=body)
            )
            hits = raw["hits"]["hits"]
            for hit in hits:
                yield document_from_fields(hit["_source"])
            if len(hits) < max(batch_size, 1):
                return
            after = hits[-1]["sort"]

    def rebuild(self, docs: Iterable[AnalyzedDocument]) -> str:
        old = self._alias_targets()
        if not old and self._call(
            "check index", lambda: bool(self._client.indices.exists(index=self.alias))
        ):
            raise EngineError(f"{self._where} has a plain index named {self.alias!r}, not an alias")
        new = self._new_index_name()
        self._create_index(new, loading=True, with_alias=False)
        try:
            _, failures = self._bulk(f"bulk load {new}", self._index_actions(docs, new))
            self._raise_failures("load", failures)
            self._call(
                f"restore settings of {new}",
                lambda: self._client.indices.put_settings(index=new, body=self._serving_settings()),
            )
            self._call(f"refresh {new}", lambda: self._client.indices.refresh(index=new))
            # One request: the alias leaves the old index and reaches the new one atomically.
            actions: list[dict[str, Any]] = [
                {"remove": {"index": name, "alias": self.alias}} for name in old
            ]
            actions.append({"add": {"index": new, "alias": self.alias}})
            self._call(
                "switch alias",
                lambda: self._client.indices.update_aliases(body={"actions": actions}),
            )
        except BaseException:
            # The alias still serves the old index; do not leave a half-loaded one behind.
            self._delete_indices([new])
            raise
        self._delete_indices([name for name in old if name != new])
        return new

    def health(self) -> dict[str, Any]:
        self._call("info", lambda: self._client.info())
        live = self._live_index()
        return {
            "engine": self.name,
            "url": self._where,
            "index": live,
            "documents": self.count() if live else 0,
        }

    def drop(self) -> None:
        names = sorted(set(self._alias_targets()) | set(self._versioned_indices()))
        # Deleting an index removes its aliases with it; names are explicit because
        # Elasticsearch 8+ refuses wildcard deletes by default.
        self._delete_indices(names)

    def close(self) -> None:
        if self._bulk_threads is not None:
            self._bulk_threads.shutdown(wait=True)
            self._bulk_threads = None
        self._client.close()


def _chunks(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def build_search_body(query: SearchQuery) -> dict[str, Any]:
    """The request body for one `SearchQuery` (pure, so it can be read and tested alone)."""
    filters: list[dict[str, Any]] = []
    for field, values in query.filters.items():
        _check_keyword_field(field, "filter")
        if values:  # an empty list accepts nothing in particular: no constraint
            filters.append({"terms": {field: list(values)}})
    if query.year_from is not None or query.year_to is not None:
        year: dict[str, int] = {}
        if query.year_from is not None:
            year["gte"] = query.year_from
        if query.year_to is not None:
            year["lte"] = query.year_to
        filters.append({"range": {"year": year}})

    scored = [
        {"term": {f"{field}_tokens": {"value": term, "boost": boost}}}
        for term in dict.fromkeys(query.terms)  # a repeated term would count twice
        for field, boost in query.field_boosts.items()
    ] + [
        {"term": {f"{field}_grams": {"value": gram, "boost": boost * query.gram_boost}}}
        for gram in dict.fromkeys(query.grams)
        for field, boost in query.field_boosts.items()
    ]
    boolean: dict[str, Any] = {"filter": filters}
    must = [_clause_body(c, query.field_boosts) for c in query.clauses if c.occur == "must"]
    must_not = [_clause_body(c, query.field_boosts) for c in query.clauses if c.occur == "must_not"]
    # Anything that ranks: free-text terms and optional clauses (a doc number, synonyms).
    ranking = [_clause_body(c, query.field_boosts) for c in query.clauses if c.occur == "should"]
    if scored:
        ranking.append({"bool": {"should": scored, "minimum_should_match": 1}})
    should: list[dict[str, Any]] = []
    if ranking:
        # Without required clauses, one ranking part must match; beside them they only rank.
        ranking_bool = {"bool": {"should": ranking, "minimum_should_match": 1}}
        (should if must else must).append(ranking_bool)
    if not must and not should:
        must.append({"match_all": {}})
    if query.in_force_boost:
        # Optional beside `must`: a constant bonus for documents still in force.
        should.append({"terms": {"validity": list(IN_FORCE), "boost": query.in_force_boost}})
    boolean.update(
        {k: v for k, v in (("must", must), ("should", should), ("must_not", must_not)) if v}
    )

    # The order of `engines.base.sort_values_of`: `id` last makes equal scores (and equal
    # dates) come back in one stable order, the same as the embedded engine's.
    primary = "_score" if query.sort == "relevance" else "sort_date"
    sort: list[dict[str, Any]] = [{primary: {"order": "desc"}}, {"id": {"order": "asc"}}]

    body: dict[str, Any] = {
        "query": {"bool": boolean},
        "sort": sort,
        "from": query.offset,
        "size": query.limit,
        "track_total_hits": True,
        "_source": SOURCE_FIELDS,
    }
    if query.search_after is not None:
        # search_after goes beyond index.max_result_window (from + size <= 10,000).
        body["from"] = 0
        body["search_after"] = list(query.search_after)
    if query.facets:
        aggs: dict[str, Any] = {}
        for field in query.facets:
            _check_keyword_field(field, "facet")
            aggs[field] = {
                "terms": {
                    "field": field,
                    "size": FACET_SIZE,
                    "order": [{"_count": "desc"}, {"_key": "asc"}],
                    # engine_fields stores "" for "not given"; that is not a value to offer.
                    "exclude": [""],
                }
            }
        body["aggs"] = aggs
    return body


def _match_body(match: Match, field: str, boost: float) -> dict[str, Any]:
    if match.kind == "doc_number":
        return {"terms": {"doc_number": list(match.values), "boost": boost}}
    if match.kind == "term" or len(match.values) == 1:
        suffix = "_tokens" if match.kind == "term" else "_grams"
        return {"term": {field + suffix: {"value": match.values[0], "boost": boost}}}
    # The whitespace analyzer splits the joined bigrams back into the indexed sequence.
    return {"match_phrase": {f"{field}_grams": {"query": " ".join(match.values), "boost": boost}}}


def _clause_body(clause: Clause, boosts: dict[BoostedField, float]) -> dict[str, Any]:
    alternatives = [
        _match_body(m, field, boosts[field] * clause.boost)
        for m in clause.matches
        for field in (clause.fields if m.kind != "doc_number" else clause.fields[:1])
    ]
    return {"bool": {"should": alternatives, "minimum_should_match": 1}}


def _check_keyword_field(field: str, use: str) -> None:
    if field not in KEYWORD_FIELDS:
        known = ", ".join(KEYWORD_FIELDS)
        raise EngineError(f"cannot {use} on {field!r}; keyword fields are {known}")


def _reason(result: dict[str, Any]) -> str:
    error = result.get("error")
    if isinstance(error, dict):
        return f"{error.get('type', 'error')}: {error.get('reason', '')}".strip()
    return str(error or f"status {result.get('status')}")


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` laid over it, nested dicts merged (inputs untouched)."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
