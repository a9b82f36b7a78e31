"""Roles over HTTP on a real uvicorn server: API keys, session login, CSRF, admin endpoints.

Each test runs on SQLite and on PostgreSQL (``db_settings``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from gongkai.accounts import AccountStore
from gongkai.database import create_database_engine
from gongkai.settings import Settings
from search_api.app import create_app
from search_api.auth import CSRF_HEADER, SESSION_COOKIE, Principal, Role, require_role
from tests.support.live_server import live_server

PASSWORD = "图书馆员-secret-42"


@dataclass
class Site:
    url: str
    admin_key: str
    librarian_key: str
    store: AccountStore


def add_probe_routes(app: FastAPI) -> None:
    """Two routes that need a role, as the compilation routes do."""

    @app.post("/probe/librarian")
    async def librarian_write(
        principal: Annotated[Principal, Depends(require_role(Role.LIBRARIAN))],
    ) -> dict[str, str]:
        return {"name": principal.name, "role": principal.role.value}

    @app.get("/probe/admin")
    async def admin_read(
        principal: Annotated[Principal, Depends(require_role(Role.ADMIN))],
    ) -> dict[str, str]:
        return {"name": principal.name}


def start(settings: Settings) -> Iterator[Site]:
    engine = create_database_engine(settings)
    store = AccountStore(engine)
    _, admin_key = store.create_user("root", Role.ADMIN, PASSWORD, actor="test")
    _, librarian_key = store.create_user("lib", Role.LIBRARIAN, PASSWORD, actor="test")
    app = create_app(settings)
    add_probe_routes(app)
    try:
        with live_server(app) as url:
            yield Site(url, admin_key, librarian_key, store)
    finally:
        app.state.database.dispose()
        engine.dispose()


@pytest.fixture
def site(db_settings: Settings) -> Iterator[Site]:
    yield from start(db_settings)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return dict(body)


def test_missing_or_wrong_credentials_are_401_with_a_challenge(site: Site) -> None:
    for headers in (
        {},
        bearer("gk_not-a-real-key"),
        bearer("not even the format"),
        {"X-API-Key": "gk_wrong"},
        {"Authorization": "Basic cm9vdDpyb290"},
        {"Cookie": f"{SESSION_COOKIE}=forged-session"},
    ):
        response = httpx.post(f"{site.url}/probe/librarian", headers=headers)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_role_too_low_is_403_and_enough_is_200(site: Site) -> None:
    ok = httpx.post(f"{site.url}/probe/librarian", headers=bearer(site.librarian_key))
    assert ok.json() == {"name": "lib", "role": "librarian"}
    also = httpx.post(f"{site.url}/probe/librarian", headers={"X-API-Key": site.admin_key})
    assert also.json() == {"name": "root", "role": "admin"}  # admin includes librarian
    refused = httpx.get(f"{site.url}/probe/admin", headers=bearer(site.librarian_key))
    body = assert_problem(refused, 403)
    assert "librarian" in str(body["detail"])
    for path in ("/admin/users", "/admin/audit"):
        assert_problem(httpx.get(f"{site.url}{path}", headers=bearer(site.librarian_key)), 403)
        assert_problem(httpx.get(f"{site.url}{path}"), 401)


def test_anonymous_callers_are_anonymous_not_refused(site: Site) -> None:
    me = httpx.get(f"{site.url}/auth/me").json()
    assert me == {
        "name": "anonymous",
        "role": "anonymous",
        "authenticated": False,
        "csrf_token": None,
    }


def test_revoked_keys_and_suspended_users_lose_access_at_once(site: Site) -> None:
    headers = bearer(site.librarian_key)
    assert httpx.post(f"{site.url}/probe/librarian", headers=headers).status_code == 200
    [key] = site.store.list_api_keys("lib")
    revoked = httpx.delete(f"{site.url}/admin/keys/{key.id}", headers=bearer(site.admin_key))
    assert revoked.status_code == 204
    assert_problem(httpx.post(f"{site.url}/probe/librarian", headers=headers), 401)
    assert_problem(
        httpx.delete(f"{site.url}/admin/keys/999999", headers=bearer(site.admin_key)), 404
    )


def test_admin_manages_users_keys_and_roles_and_sees_the_audit(site: Site) -> None:
    admin = bearer(site.admin_key)
    created = httpx.post(
        f"{site.url}/admin/users", json={"name": "张三", "role": "librarian"}, headers=admin
    )
    assert created.status_code == 201, created.text
    body = created.json()
    new_key = body["api_key"]
    assert body["user"]["role"] == "librarian" and new_key.startswith(body["key"]["prefix"])
    assert httpx.post(f"{site.url}/probe/librarian", headers=bearer(new_key)).status_code == 200

    duplicate = httpx.post(
        f"{site.url}/admin/users", json={"name": "张三", "role": "admin"}, headers=admin
    )
    assert_problem(duplicate, 409)
    assert_problem(
        httpx.post(f"{site.url}/admin/users", json={"name": "x y", "role": "admin"}, headers=admin),
        422,
    )
    assert_problem(
        httpx.post(f"{site.url}/admin/users", json={"name": "ok", "role": "god"}, headers=admin),
        422,
    )

    promoted = httpx.put(f"{site.url}/admin/users/张三/role", json={"role": "admin"}, headers=admin)
    assert promoted.json()["role"] == "admin"
    assert httpx.get(f"{site.url}/probe/admin", headers=bearer(new_key)).status_code == 200

    second = httpx.post(f"{site.url}/admin/users/张三/keys", headers=admin)
    assert second.status_code == 201 and second.json()["api_key"] != new_key
    assert_problem(httpx.post(f"{site.url}/admin/users/nobody/keys", headers=admin), 404)

    users = httpx.get(f"{site.url}/admin/users", headers=admin).json()
    zhang = next(u for u in users if u["name"] == "张三")
    assert len(zhang["keys"]) == 2
    assert new_key not in httpx.get(f"{site.url}/admin/users", headers=admin).text

    audit = httpx.get(f"{site.url}/admin/audit", params={"actor": "root"}, headers=admin).json()
    actions = [(e["action"], e["target"]) for e in audit["entries"]]
    assert ("user.create", "user:张三") in actions
    assert ("user.set_role", "user:张三") in actions
    assert actions.count(("key.issue", f"key:{second.json()['key']['id']}")) == 1
    role_entry = next(e for e in audit["entries"] if e["action"] == "user.set_role")
    assert role_entry["before"] == {"role": "librarian"} and role_entry["after"] == {
        "role": "admin"
    }
    page = httpx.get(f"{site.url}/admin/audit", params={"limit": 2}, headers=admin).json()
    older = httpx.get(
        f"{site.url}/admin/audit",
        params={"limit": 2, "before_id": page["next_before_id"]},
        headers=admin,
    ).json()
    assert all(e["id"] < page["entries"][-1]["id"] for e in older["entries"])


def test_login_sets_a_safe_cookie_and_logout_ends_the_session(site: Site) -> None:
    with httpx.Client(base_url=site.url) as client:
        wrong = client.post("/auth/login", json={"name": "lib", "password": "wrong password"})
        assert_problem(wrong, 401)
        assert_problem(
            client.post("/auth/login", json={"name": "nobody", "password": PASSWORD}), 401
        )
        ok = client.post("/auth/login", json={"name": "lib", "password": PASSWORD})
        assert ok.status_code == 204
        cookie = ok.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        lowered = cookie.lower()
        assert "httponly" in lowered and "samesite=lax" in lowered and "secure" not in lowered

        me = client.get("/auth/me").json()
        assert (me["name"], me["role"], me["authenticated"]) == ("lib", "librarian", True)
        assert me["csrf_token"]

        client.post("/auth/logout")
        assert client.get("/auth/me").json()["authenticated"] is False
        assert_problem(client.post("/probe/librarian"), 401)

    actions = [e.action for e in site.store.audit.entries(actor="lib")]
    assert actions[:3] == ["logout", "login", "login.failed"]


def test_cookie_writes_need_the_csrf_token(site: Site) -> None:
    with httpx.Client(base_url=site.url) as client:
        client.post("/auth/login", json={"name": "lib", "password": PASSWORD})
        token = client.get("/auth/me").json()["csrf_token"]
        assert_problem(client.post("/probe/librarian"), 403)
        assert_problem(client.post("/probe/librarian", headers={CSRF_HEADER: "x" + token}), 403)
        form = client.post("/probe/librarian", data={"csrf_token": token})
        assert form.status_code == 200 and form.json()["name"] == "lib"
        header = client.post("/probe/librarian", headers={CSRF_HEADER: token})
        assert header.status_code == 200
        # Reading needs no token, and a second login gives a new session and token.
        assert_problem(client.get("/probe/admin"), 403)
        client.post("/auth/login", json={"name": "root", "password": PASSWORD})
        assert client.get("/probe/admin").json() == {"name": "root"}
        assert client.get("/auth/me").json()["csrf_token"] != token


def test_an_old_session_cookie_stops_working_after_a_new_login(site: Site) -> None:
    with httpx.Client(base_url=site.url) as client:
        client.post("/auth/login", json={"name": "root", "password": PASSWORD})
        first = client.cookies[SESSION_COOKIE]
        client.post("/auth/login", json={"name": "root", "password": PASSWORD})
        assert client.cookies[SESSION_COOKIE] != first
    stale = httpx.get(f"{site.url}/probe/admin", cookies={SESSION_COOKIE: first})
    assert_problem(stale, 401)


def test_secure_cookies_when_configured(tmp_path_factory: pytest.TempPathFactory) -> None:
    settings = Settings(data_dir=tmp_path_factory.mktemp("secure"), cookie_secure=True)
    for site in start(settings):
        ok = httpx.post(f"{site.url}/auth/login", json={"name": "lib", "password": PASSWORD})
        assert ok.status_code == 204
        assert "secure" in ok.headers["set-cookie"].lower()


# --- every write endpoint is guarded ------------------------------------------------------

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Writes that anyone may send: they are how one gets credentials, or drop them.
OPEN_WRITES = {"/auth/login", "/auth/logout", "/login", "/logout"}


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """The app's API routes, looking inside included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI's wrapper of an included router
            yield from api_routes(route.original_router.routes)


def dependency_names(dependant: Any) -> set[str]:
    names: set[str] = set()
    for dep in dependant.dependencies:
        names.add(getattr(dep.call, "__name__", ""))
        names |= dependency_names(dep)
    return names


def write_routes(app: FastAPI) -> list[tuple[str, str]]:
    return sorted(
        (method, route.path)
        for route in api_routes(app.routes)
        for method in route.methods & UNSAFE
        if route.path not in OPEN_WRITES and not route.path.startswith("/probe/")
    )


def test_every_write_endpoint_declares_a_role(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    unguarded = [
        (sorted(route.methods & UNSAFE), route.path)
        for route in api_routes(app.routes)
        if route.methods & UNSAFE
        and route.path not in OPEN_WRITES
        and not any(n.startswith("require_") for n in dependency_names(route.dependant))
    ]
    assert unguarded == []
    assert ("POST", "/admin/users") in write_routes(app)  # the walk does see the routers
    app.state.database.dispose()


def test_anonymous_writes_are_refused_everywhere(site: Site, tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    routes = write_routes(app)
    app.state.database.dispose()
    for method, path in routes:
        url = site.url + re.sub(r"\{[^}]+\}", "1", path)
        response = httpx.request(method, url, follow_redirects=False)
        if response.status_code == 303:  # web pages send browsers to the login form
            assert "/login" in response.headers["location"], (method, path)
            continue
        assert_problem(response, 401)
