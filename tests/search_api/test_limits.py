"""Request limits on a real uvicorn server: body size (413), rate limits (429), query length,
and user queries that never reach the engine as query syntax (embedded engine)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from engines import make_backend
from gongkai.document import Document
from gongkai.pipeline import IngestPipeline
from gongkai.settings import Settings
from search_api.app import create_app
from search_api.limits import EXPORT, LOGIN, SEARCH, limit_group
from tests.support.live_server import live_server

REPO = Path(__file__).resolve().parents[2]

DOCS = [
    *(
        Document(
            id=f"dibao-{i}",
            title=f"关于调整{city}最低生活保障标准的通知",
            body=f"{city}城乡低保标准提高，特困供养同步调整。",
            agency=f"{city}民政局",
        )
        for i, city in enumerate(["甲市", "乙市", "丙市", "丁市"])
    ),
    Document(id="house-1", title="国有土地上房屋征收补偿办法", body="房屋征收 补偿 安置"),
    Document(id="house-2", title="集体土地征收补偿安置规定", body="征收 补偿 标准"),
    Document(
        id="tech",
        title="政务搜索接口说明",
        body='查询示例 {"match_all":{}} 不会返回全部文件，title id exists 只是普通词。',
    ),
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, tokenizer: GovTokenizer) -> Path:
    path = tmp_path_factory.mktemp("limits")
    backend = make_backend(Settings(data_dir=path))
    IngestPipeline(DocumentAnalyzer(tokenizer), backend).run(DOCS)
    backend.close()
    return path


def serve(data_dir: Path, **overrides: object) -> Iterator[str]:
    app = create_app(Settings(data_dir=data_dir, **overrides))  # type: ignore[arg-type]
    try:
        with live_server(app) as url:
            yield url
    finally:
        app.state.database.dispose()


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[str]:
    yield from serve(data_dir)


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"]
    return dict(body)


def ids(url: str, q: str, **params: object) -> list[str]:
    response = httpx.get(f"{url}/search", params={"q": q, "limit": 100, **params})
    assert response.status_code == 200, response.text
    return sorted(h["id"] for h in response.json()["hits"])


# --- request size -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_body_server(data_dir: Path) -> Iterator[str]:
    yield from serve(data_dir, max_request_bytes=1000, rate_limit_login="")


def test_a_declared_body_over_the_cap_is_413(small_body_server: str) -> None:
    big = {"name": "x", "password": "p" * 2000}
    response = httpx.post(f"{small_body_server}/auth/login", json=big)
    assert "1000 bytes" in str(assert_problem(response, 413)["detail"])


def test_a_streamed_body_over_the_cap_is_413(small_body_server: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "x", "password": "'
        for _ in range(20):
            yield b"p" * 100  # no Content-Length: sent chunked, counted as it arrives
        yield b'"}'

    response = httpx.post(
        f"{small_body_server}/auth/login",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert "transfer-encoding" not in response.request.headers or (
        response.request.headers["transfer-encoding"] == "chunked"
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


def test_a_body_under_the_cap_goes_through(small_body_server: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "nobody", '
        yield b'"password": "not-the-password"}'

    response = httpx.post(
        f"{small_body_server}/auth/login",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 401)  # judged on its merits, not refused for size


# --- rate limits --------------------------------------------------------------------------


def test_requests_are_grouped_by_what_they_cost() -> None:
    assert limit_group("GET", "/search", b"q=x") == SEARCH
    assert limit_group("GET", "/suggest", b"q=x") == SEARCH
    assert limit_group("GET", "/feeds/search", b"") == SEARCH
    assert limit_group("GET", "/documents/abc/similar", b"") == SEARCH
    assert limit_group("GET", "/", b"q=%E4%BD%8E") == SEARCH
    assert limit_group("GET", "/", b"") is None
    assert limit_group("GET", "/compilations/7/export", b"format=csv") == EXPORT
    assert limit_group("POST", "/export", b"") == EXPORT
    assert limit_group("POST", "/auth/login", b"") == LOGIN
    assert limit_group("GET", "/auth/login", b"") is None
    assert limit_group("GET", "/documents/abc", b"") is None
    assert limit_group("GET", "/healthz", b"") is None


def test_search_rate_limit_is_per_client_with_retry_after(data_dir: Path) -> None:
    for url in serve(data_dir, rate_limit_search="3/minute"):
        for _ in range(3):
            assert httpx.get(f"{url}/search", params={"q": "低保"}).status_code == 200
        refused = httpx.get(f"{url}/search", params={"q": "低保"})
        body = assert_problem(refused, 429)
        assert "search" in str(body["detail"])
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # The same group covers suggestions; other endpoints are not limited.
        assert_problem(httpx.get(f"{url}/suggest", params={"q": "低"}), 429)
        assert httpx.get(f"{url}/documents/house-1").status_code == 200
        # Another client (another loopback address) has its own window.
        transport = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(transport=transport) as other:
            assert other.get(f"{url}/search", params={"q": "低保"}).status_code == 200


def test_export_and_login_have_their_own_limits(data_dir: Path) -> None:
    for url in serve(data_dir, rate_limit_export="2/minute", rate_limit_login="2/minute"):
        for _ in range(2):
            first = httpx.get(f"{url}/compilations/1/export", params={"format": "csv"})
            assert first.status_code != 429
        assert_problem(httpx.get(f"{url}/compilations/1/export", params={"format": "csv"}), 429)
        login = {"name": "nobody", "password": "guess-number-n"}
        for _ in range(2):
            assert_problem(httpx.post(f"{url}/auth/login", json=login), 401)
        assert_problem(httpx.post(f"{url}/auth/login", json=login), 429)
        # Search has its own budget, untouched by the other two.
        assert httpx.get(f"{url}/search", params={"q": "低保"}).status_code == 200


def test_an_invalid_limit_setting_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="RATE_LIMIT_SEARCH"):
        create_app(Settings(data_dir=tmp_path, rate_limit_search="lots per minute"))


# --- query length and raw syntax ----------------------------------------------------------


def test_query_length_is_capped_and_overlong_input_refused(data_dir: Path, server: str) -> None:
    assert httpx.get(f"{server}/search", params={"q": "x" * 10_000}).status_code == 200
    assert_problem(httpx.get(f"{server}/search", params={"q": "x" * 10_001}), 422)
    # With a cap of 4 characters, only the first 4 are searched.
    for capped in serve(data_dir, max_query_chars=4):
        assert ids(capped, "低保标准 房屋征收") == ids(capped, "低保标准")
    assert ids(server, "低保标准 房屋征收") != ids(server, "低保标准")


def containing(*words: str) -> set[str]:
    """Ids of the test documents whose title or body contains any of ``words``."""
    return {d.id for d in DOCS if any(w in f"{d.title} {d.body}" for w in words)}


@pytest.mark.parametrize(
    ("hostile", "words"),
    [
        # Engine syntax for "everything" is punctuation and field names to our parser: what
        # such a query finds is bounded by the plain words in it.
        ('{"match_all":{}}', ["match_all"]),
        ("低保 OR *:*", ["低保"]),
        ("低保 OR title:*", ["低保"]),
        ("低保 OR _exists_:id", ["低保", "exists"]),
        ("title:* OR _exists_:id", ["exists"]),
        ("征收 OR id:[* TO *]", ["征收", " id "]),
    ],
)
def test_query_syntax_is_text_to_the_engine(server: str, hostile: str, words: list[str]) -> None:
    found = set(ids(server, hostile))
    assert found <= containing(*words)
    assert len(found) < len(DOCS)


def test_a_query_of_only_syntax_is_the_empty_query(server: str) -> None:
    """``*:*`` leaves no words, so it lists what the empty query lists (the default listing,
    newest first) and never more: the engine did not read it as "match all"."""
    assert ids(server, "*:*") == ids(server, "")
    assert ids(server, "低保 *:*") == sorted(containing("低保"))


def test_only_the_tech_note_mentions_match_all(server: str) -> None:
    assert ids(server, '{"match_all":{}}') == ["tech"]


def test_engines_never_call_a_query_string_parser() -> None:
    """The backends build queries from the parsed structure only; a raw query-string parser
    (OpenSearch query_string/simple_query_string, tantivy parse_query) would let user text be
    syntax."""
    forbidden = re.compile(r"\b(query_string|simple_query_string|parse_query)\b")
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "engines").glob("*.py")
        if forbidden.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
