"""/topics over real HTTP (uvicorn on 127.0.0.1): public reads, pictures, librarian rebuilds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from analysis.analyzer import DocumentAnalyzer
from analysis.tokenizer import GovTokenizer
from engines import make_backend
from gongkai.accounts import AccountStore, Role
from gongkai.audit import AuditLog
from gongkai.database import create_database_engine
from gongkai.pipeline import IngestPipeline
from gongkai.settings import Settings
from search_api.app import create_app
from tests.support.live_server import live_server
from tests.support.topic_corpus import topic_documents

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class Server:
    url: str
    settings: Settings
    librarian: dict[str, str]
    anonymous: dict[str, str]
    built: dict[str, Any]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tokenizer: GovTokenizer) -> Iterator[Server]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("topics-api"))
    IngestPipeline(DocumentAnalyzer(tokenizer), make_backend(settings)).run(topic_documents())
    accounts = AccountStore(create_database_engine(settings))
    _, librarian_key = accounts.create_user("lib", Role.LIBRARIAN)
    _, anonymous_key = accounts.create_user("guest", Role.ANONYMOUS)
    accounts.engine.dispose()
    with live_server(create_app(settings)) as url:
        librarian = {"Authorization": f"Bearer {librarian_key}"}
        built = httpx.post(f"{url}/topics/builds", json={"k": 3}, headers=librarian, timeout=120)
        assert built.status_code == 201, built.text
        yield Server(url, settings, librarian, {"X-API-Key": anonymous_key}, built.json())


def test_build_through_the_api_is_audited(server: Server) -> None:
    assert server.built["n_topics"] == 3 and server.built["n_documents"] == 36
    engine = create_database_engine(server.settings)
    try:
        entries = [e for e in AuditLog(engine).entries() if e.action == "topics.build"]
    finally:
        engine.dispose()
    assert entries and entries[0].actor == "lib" and entries[0].target == "topic-set:all"
    assert entries[0].after is not None and entries[0].after["build_id"] == server.built["build_id"]


def test_rebuild_needs_a_librarian(server: Server) -> None:
    nobody = httpx.post(f"{server.url}/topics/builds", json={"k": 3})
    assert nobody.status_code == 401
    assert nobody.headers["content-type"].startswith("application/problem+json")
    # A key of the anonymous role authenticates nobody: still 401, never a build.
    low = httpx.post(f"{server.url}/topics/builds", json={"k": 3}, headers=server.anonymous)
    assert low.status_code == 401
    bad = httpx.post(f"{server.url}/topics/builds", json={"k": 0}, headers=server.librarian)
    assert bad.status_code == 422


def test_list_and_detail_are_public(server: Server) -> None:
    listed = httpx.get(f"{server.url}/topics").json()
    assert listed["set"] == "all" and listed["build"] == server.built["build_id"]
    assert len(listed["topics"]) == 3 and sum(t["size"] for t in listed["topics"]) == 36
    first = listed["topics"][0]
    assert first["terms"] and len(first["representatives"]) == 5
    detail = httpx.get(f"{server.url}/topics/{first['id']}", params={"limit": 3}).json()
    assert detail["label"] == first["label"] and len(detail["documents"]) == 3
    assert sum(detail["years"].values()) == first["size"]
    assert set(detail["years"]) <= {str(y) for y in range(2015, 2021)}
    later = httpx.get(f"{server.url}/topics/{first['id']}", params={"limit": 3, "offset": 3})
    assert not {d["id"] for d in later.json()["documents"]} & {d["id"] for d in detail["documents"]}


def test_unknown_topic_and_set_are_404_problems(server: Server) -> None:
    missing = httpx.get(f"{server.url}/topics/999")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "no topic 999" in missing.json()["detail"]
    no_set = httpx.get(f"{server.url}/topics", params={"set": "没有这个"})
    assert no_set.status_code == 404 and "topics build" in no_set.json()["detail"]


@pytest.mark.parametrize(
    ("path", "params", "media"),
    [
        ("/topics/map.png", {}, "image/png"),
        ("/topics/map.svg", {}, "image/svg+xml"),
        ("/topics/map", {"format": "svg"}, "image/svg+xml"),
        ("/topics/timeline.png", {"top": "2"}, "image/png"),
        ("/topics/timeline", {"format": "png"}, "image/png"),
        ("/topics/timeline.svg", {}, "image/svg+xml"),
    ],
)
def test_pictures(server: Server, path: str, params: dict[str, str], media: str) -> None:
    got = httpx.get(f"{server.url}{path}", params=params, timeout=60)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith(media)
    if media == "image/png":
        assert got.content.startswith(PNG_MAGIC)
    else:
        assert "<svg" in got.text and "主题" in got.text


def test_unknown_picture_format_is_refused(server: Server) -> None:
    assert httpx.get(f"{server.url}/topics/map.gif").status_code == 422
    assert httpx.get(f"{server.url}/topics/map", params={"format": "jpg"}).status_code == 422


def test_no_topics_yet_is_a_404_problem(tmp_path: Path) -> None:
    with live_server(create_app(Settings(data_dir=tmp_path))) as url:
        got = httpx.get(f"{url}/topics")
        assert got.status_code == 404
        assert "gongkai topics build" in got.json()["detail"]
        assert httpx.get(f"{url}/topics/map.png").status_code == 404
