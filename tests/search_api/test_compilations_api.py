"""The /compilations resource on a real uvicorn server, SQLite and PostgreSQL, real index."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from xml.etree import ElementTree as ET

import httpx
import pytest
from fastapi import FastAPI

from analysis.tokenizer import GovTokenizer
from gongkai.accounts import AccountStore
from gongkai.audit import AuditLog
from gongkai.settings import Settings
from search_api.app import create_app
from tests.compilations.conftest import index_documents, sample_documents
from tests.support.live_server import live_server

ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass
class Api:
    url: str
    app: FastAPI
    keys: dict[str, str]

    def headers(self, who: str | None, etag: str | None = None) -> dict[str, str]:
        found = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
        if etag:
            found["If-Match"] = etag
        return found

    def call(
        self, method: str, path: str, who: str | None = "lin", etag: str | None = None, **kw: object
    ) -> httpx.Response:
        return httpx.request(
            method,
            self.url + path,
            headers=self.headers(who, etag),
            timeout=30,
            **kw,  # type: ignore[arg-type]
        )


@pytest.fixture
def api(db_settings: Settings, tokenizer: GovTokenizer) -> Iterator[Api]:
    app = create_app(db_settings)
    index_documents(app.state.service.backend, tokenizer, sample_documents())
    accounts = AccountStore(app.state.database)
    keys = {
        name: accounts.create_user(name, role)[1]
        for name, role in [
            ("lin", "librarian"),
            ("wang", "librarian"),
            ("boss", "admin"),
            ("gone", "anonymous"),
        ]
    }
    with live_server(app) as url:
        yield Api(url, app, keys)
    app.state.database.dispose()


def _create(api: Api, **fields: object) -> dict[str, object]:
    made = api.call(
        "POST", "/compilations", json={"title": "低保政策汇编", "query": {"q": "低保"}, **fields}
    )
    assert made.status_code == 201, made.text
    body: dict[str, object] = made.json()
    return body


def _problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert body["status"] == status
    return body


def test_create_read_publish_feed_delete(api: Api) -> None:
    made = api.call(
        "POST",
        "/compilations",
        json={"title": "低保政策汇编", "query": {"q": "低保", "filters": {"validity": ["有效"]}}},
    )
    assert made.status_code == 201
    cid = made.json()["id"]
    assert made.headers["Location"] == f"/compilations/{cid}"
    assert made.headers["ETag"] == '"1"'
    # A draft is invisible to the public, visible to librarians.
    _problem(api.call("GET", f"/compilations/{cid}", who=None), 404)
    assert api.call("GET", "/compilations", who=None).json() == []
    assert [c["id"] for c in api.call("GET", "/compilations").json()] == [cid]
    api.call(
        "POST", f"/compilations/{cid}/documents", json={"doc_ids": ["sample-020", "sample-021"]}
    )
    published = api.call("PATCH", f"/compilations/{cid}", json={"status": "published"})
    assert published.status_code == 200 and published.json()["version"] == 3
    public = api.call("GET", f"/compilations/{cid}", who=None)
    assert public.status_code == 200 and public.headers["ETag"] == '"3"'
    assert [d["doc_id"] for d in public.json()["documents"]] == ["sample-020", "sample-021"]
    assert [c["documents"] for c in api.call("GET", "/compilations", who=None).json()] == [2]
    # The feed lists its documents, newest first.
    feed = api.call("GET", f"/compilations/{cid}/feed", who=None)
    assert feed.headers["content-type"].startswith("application/atom+xml")
    ids = [e.findtext(f"{ATOM}id") for e in ET.fromstring(feed.content).iter(f"{ATOM}entry")]
    assert ids == ["urn:gongkai:document:sample-021", "urn:gongkai:document:sample-020"]
    # History is editorial: librarians only.
    _problem(api.call("GET", f"/compilations/{cid}/versions", who=None), 401)
    history = api.call("GET", f"/compilations/{cid}/versions").json()
    assert [v["version"] for v in history] == [3, 2, 1]
    assert api.call("DELETE", f"/compilations/{cid}").status_code == 204
    _problem(api.call("GET", f"/compilations/{cid}"), 404)


def test_second_librarian_gets_409_and_the_first_edit_is_kept(api: Api) -> None:
    cid = _create(api)["id"]
    etag_a = api.call("GET", f"/compilations/{cid}", who="lin").headers["ETag"]
    etag_b = api.call("GET", f"/compilations/{cid}", who="wang").headers["ETag"]
    first = api.call("PATCH", f"/compilations/{cid}", etag=etag_a, json={"title": "甲改的标题"})
    assert first.status_code == 200
    second = api.call(
        "PATCH", f"/compilations/{cid}", who="wang", etag=etag_b, json={"title": "乙改的标题"}
    )
    problem = _problem(second, 409)
    assert "re-read" in str(problem["detail"])
    assert second.headers["ETag"] == first.headers["ETag"]
    kept = api.call("GET", f"/compilations/{cid}", who="wang")
    assert kept.json()["title"] == "甲改的标题"
    # The version may also travel in the body; a stale one is refused the same way.
    stale = api.call(
        "POST",
        f"/compilations/{cid}/documents",
        who="wang",
        json={"doc_ids": ["sample-020"], "version": 1},
    )
    _problem(stale, 409)
    retry = api.call(
        "PATCH",
        f"/compilations/{cid}",
        who="wang",
        etag=kept.headers["ETag"],
        json={"description": "乙补充的说明"},
    )
    assert retry.status_code == 200
    assert (retry.json()["title"], retry.json()["description"]) == ("甲改的标题", "乙补充的说明")
    assert [v["author"] for v in api.call("GET", f"/compilations/{cid}/versions").json()] == [
        "wang",
        "lin",
        "lin",
    ]


def test_documents_sections_notes_order_and_missing(api: Api) -> None:
    cid = _create(api, sections=["标准"])["id"]
    base = f"/compilations/{cid}"
    added = api.call(
        "POST", f"{base}/documents", json={"doc_ids": ["sample-023", "sample-020", "sample-022"]}
    )
    assert [d["doc_id"] for d in added.json()["documents"]] == [
        "sample-023",
        "sample-020",
        "sample-022",
    ]
    api.call("POST", f"{base}/sections", json={"name": "审核"})
    moved = api.call("POST", f"{base}/documents/sample-022/move", json={"section": "审核"})
    assert {d["doc_id"]: d["section"] for d in moved.json()["documents"]}["sample-022"] == "审核"
    noted = api.call("PUT", f"{base}/documents/sample-020/note", json={"note": "2023年标准"})
    assert {d["doc_id"]: d["note"] for d in noted.json()["documents"]}["sample-020"] == "2023年标准"
    ordered = api.call("PUT", f"{base}/order", json={"rule": "validity_then_date"})
    # Unsectioned first (in force, then the repealed 023), then section 审核.
    assert [d["doc_id"] for d in ordered.json()["documents"]] == [
        "sample-020",
        "sample-023",
        "sample-022",
    ]
    manual = api.call("PUT", f"{base}/order", json={"doc_ids": ["sample-023"]})
    assert [d["doc_id"] for d in manual.json()["documents"]][:2] == ["sample-023", "sample-020"]
    renamed = api.call(
        "PATCH", f"{base}/sections/审核", json={"new_name": "审核确认", "position": 0}
    )
    assert renamed.json()["sections"] == ["审核确认", "标准"]
    removed = api.call("DELETE", f"{base}/documents/sample-023", params={"exclude": "true"})
    assert removed.json()["excludes"] == ["sample-023"]
    # A document deleted from the index stays, marked missing.
    backend = api.app.state.service.backend
    backend.delete(["sample-020"])
    backend.refresh()
    docs = api.call("GET", base).json()["documents"]
    assert {d["doc_id"]: d["missing"] for d in docs} == {"sample-020": True, "sample-022": False}
    _problem(api.call("PUT", f"{base}/documents/nope/note", json={"note": "x"}), 404)
    _problem(api.call("POST", f"{base}/documents/sample-022/move", json={"section": "无"}), 404)


def test_snapshot_restore_and_unknown_version(api: Api) -> None:
    cid = _create(api)["id"]
    base = f"/compilations/{cid}"
    api.call("POST", f"{base}/documents", json={"doc_ids": ["sample-020"]})
    shot = api.call("POST", f"{base}/snapshots", json={"name": "第一版"})
    assert shot.status_code == 201 and shot.json()["version"] == 2
    api.call("DELETE", f"{base}/documents/sample-020")
    restored = api.call("POST", f"{base}/restore", json={"snapshot": "第一版"})
    assert [d["doc_id"] for d in restored.json()["documents"]] == ["sample-020"]
    assert restored.json()["version"] == 4
    by_number = api.call("POST", f"{base}/restore", json={"restore_version": 3})
    assert by_number.json()["documents"] == []
    _problem(api.call("POST", f"{base}/restore", json={"restore_version": 42}), 404)
    _problem(api.call("POST", f"{base}/restore", json={"snapshot": "没有"}), 404)
    assert len(api.call("GET", f"{base}/versions").json()) == 5


def test_unknown_compilation_is_404_everywhere(api: Api) -> None:
    _problem(api.call("GET", "/compilations/999"), 404)
    _problem(api.call("PATCH", "/compilations/999", json={"title": "x"}), 404)
    _problem(api.call("DELETE", "/compilations/999"), 404)
    _problem(api.call("POST", "/compilations/999/documents", json={"doc_ids": ["a"]}), 404)
    _problem(api.call("GET", "/compilations/999/proposals"), 404)
    _problem(api.call("GET", "/compilations/999/feed"), 404)


def test_every_write_needs_a_librarian_and_is_audited(api: Api) -> None:
    cid = _create(api)["id"]
    writes = [
        ("POST", "/compilations", {"title": "x"}),
        ("PATCH", f"/compilations/{cid}", {"title": "x"}),
        ("DELETE", f"/compilations/{cid}", None),
        ("POST", f"/compilations/{cid}/documents", {"doc_ids": ["sample-020"]}),
        ("PUT", f"/compilations/{cid}/order", {"rule": "date_desc"}),
        ("POST", f"/compilations/{cid}/sections", {"name": "x"}),
        ("POST", f"/compilations/{cid}/snapshots", {"name": "x"}),
        ("POST", f"/compilations/{cid}/restore", {"restore_version": 1}),
        ("POST", f"/compilations/{cid}/proposals/sample-020/reject", None),
        ("POST", "/compilations/seed", {"name": "x", "terms": ["低保"]}),
    ]
    for method, path, body in writes:
        _problem(api.call(method, path, who=None, json=body), 401)
        # A suspended user (role anonymous) is no librarian: unauthenticated for writes.
        _problem(api.call(method, path, who="gone", json=body), 401)
    wrong = httpx.patch(
        f"{api.url}/compilations/{cid}",
        headers={"Authorization": "Bearer gk_not_a_key"},
        json={"title": "x"},
    )
    _problem(wrong, 401)
    assert api.call("GET", f"/compilations/{cid}").json()["version"] == 1  # nothing changed
    # An admin outranks a librarian.
    assert api.call("PATCH", f"/compilations/{cid}", who="boss", json={"title": "y"}).is_success
    audit = AuditLog(api.app.state.database).entries(target=f"compilation:{cid}")
    assert [(e.actor, e.action) for e in audit] == [
        ("boss", "compilation.update"),
        ("lin", "compilation.create"),
    ]


def test_seed_proposals_accept_and_reject(api: Api) -> None:
    seeded = api.call(
        "POST",
        "/compilations/seed",
        json={"name": "低保", "terms": ["最低生活保障", "特困供养"], "doc_ids": ["sample-020"]},
    )
    assert seeded.status_code == 201, seeded.text
    body = seeded.json()
    cid = body["compilation"]["id"]
    assert [d["doc_id"] for d in body["compilation"]["documents"]] == ["sample-020"]
    assert "低保" in body["expanded_terms"]  # from the thesaurus
    proposed = {p["doc_id"]: p for p in body["proposed"]}
    assert {"sample-021", "sample-022", "sample-025"} <= proposed.keys()
    assert "sample-020" not in proposed  # seeds are included, not proposed
    assert proposed["sample-022"]["reason"]["matched_terms"]
    assert proposed["sample-022"]["reason"]["source"] == "seed"
    inbox = api.call("GET", f"/compilations/{cid}/proposals")
    assert {p["doc_id"] for p in inbox.json()} == proposed.keys()
    _problem(api.call("GET", f"/compilations/{cid}/proposals", who=None), 401)
    accepted = api.call("POST", f"/compilations/{cid}/proposals/sample-022/accept")
    assert [d["doc_id"] for d in accepted.json()["documents"]] == ["sample-020", "sample-022"]
    rejected = api.call("POST", f"/compilations/{cid}/proposals/sample-025/reject")
    assert rejected.json()["status"] == "rejected" and rejected.json()["decided_by"] == "lin"
    _problem(api.call("POST", f"/compilations/{cid}/proposals/sample-025/accept"), 422)
    pending = {p["doc_id"] for p in api.call("GET", f"/compilations/{cid}/proposals").json()}
    assert pending == proposed.keys() - {"sample-022", "sample-025"}


def test_web_session_writes_need_the_csrf_token(api: Api) -> None:
    cid = _create(api)["id"]
    AccountStore(api.app.state.database).create_user("web", "librarian", "a long passphrase")
    with httpx.Client(base_url=api.url, timeout=30) as browser:
        login = browser.post("/auth/login", json={"name": "web", "password": "a long passphrase"})
        assert login.status_code == 204
        forged = browser.patch(f"/compilations/{cid}", json={"title": "伪造"})
        _problem(forged, 403)
        token = browser.get("/auth/me").json()["csrf_token"]
        done = browser.patch(
            f"/compilations/{cid}", json={"title": "网页改的"}, headers={"X-CSRF-Token": token}
        )
        assert done.status_code == 200 and done.json()["updated_by"] == "web"
    assert api.call("GET", f"/compilations/{cid}").json()["title"] == "网页改的"
