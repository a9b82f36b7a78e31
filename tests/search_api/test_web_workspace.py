"""The librarian workspace pages as HTML (no browser): login, CSRF, the compilation editor,
proposals, history, topics. Real uvicorn, the ingested samples, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Engine

from compilations.service import CompilationService
from gongkai.accounts import AccountStore, Role
from gongkai.database import create_database_engine
from gongkai.settings import Settings
from search_api.app import create_app
from search_api.auth import SESSION_COOKIE
from tests.support.live_server import live_server
from tests.support.web_site import build_site

PASSWORD = "correct horse battery 42"


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("workspace") / "data"
    build_site(data)
    return data


@pytest.fixture
def settings(site_dir: Path, db_settings: Settings) -> Settings:
    # The ingested index is shared; the relational database is fresh for every test.
    url = db_settings.database_url or f"sqlite:///{db_settings.data_dir / 'gongkai.sqlite'}"
    return Settings(data_dir=site_dir, database_url=url)


@pytest.fixture
def database(settings: Settings) -> Iterator[Engine]:
    engine = create_database_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def server(settings: Settings, database: Engine) -> Iterator[str]:
    AccountStore(database).create_user("librarian", Role.LIBRARIAN, password=PASSWORD)
    app = create_app(settings)
    try:
        with live_server(app) as url:
            yield url
    finally:
        app.state.database.dispose()


def soup_of(response: httpx.Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "lxml")


def hidden(soup: BeautifulSoup, name: str, form: str = "form") -> str:
    field = soup.select_one(f"{form} input[name='{name}']")
    assert field is not None, f"no field {name} in {form}"
    return str(field["value"])


def log_in(client: httpx.Client, password: str = PASSWORD) -> httpx.Response:
    form = soup_of(client.get("/login"))
    return client.post(
        "/login",
        data={
            "name": "librarian",
            "password": password,
            "csrf_token": hidden(form, "csrf_token", "main form"),
            "next": "/workspace",
        },
    )


@pytest.fixture
def librarian(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, follow_redirects=False) as client:
        assert log_in(client).status_code == 303
        yield client


def csrf(client: httpx.Client, path: str = "/workspace") -> str:
    return hidden(soup_of(client.get(path)), "csrf_token", "main form")


def create(client: httpx.Client, title: str, **fields: str) -> int:
    response = client.post(
        "/workspace/compilations", data={"title": title, "csrf_token": csrf(client), **fields}
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    return int(location.split("/workspace/compilations/")[1].split("?")[0])


def entry_ids(client: httpx.Client, compilation_id: int) -> list[str]:
    page = soup_of(client.get(f"/workspace/compilations/{compilation_id}"))
    return [str(li["data-doc-id"]) for li in page.select("li.entry")]


def version_of(client: httpx.Client, compilation_id: int) -> str:
    page = soup_of(client.get(f"/workspace/compilations/{compilation_id}"))
    return hidden(page, "version", "form[action$='/settings']")


def test_signed_out_visitors_are_sent_to_login(server: str) -> None:
    for path in ["/workspace", "/workspace/compilations/1", "/workspace/topics"]:
        response = httpx.get(server + path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=%2Fworkspace")
    # Writes without a session are refused outright.
    assert httpx.post(server + "/workspace/compilations", data={"title": "x"}).status_code == 401


def test_login_checks_password_csrf_and_sets_an_httponly_cookie(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        wrong = log_in(client, password="wrong password")
        assert wrong.status_code == 401
        assert "用户名或密码错误" in wrong.text
        forged = client.post(
            "/login",
            data={"name": "librarian", "password": PASSWORD, "csrf_token": "guess"},
        )
        assert forged.status_code == 403 and SESSION_COOKIE not in forged.cookies
        right = log_in(client)
        assert right.status_code == 303 and right.headers["location"] == "/workspace"
        cookie = next(
            h for h in right.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
        )
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        page = soup_of(client.get("/workspace"))
        assert "退出（librarian）" in page.get_text()
        # Logging out needs the CSRF token too, then the workspace is closed again.
        assert client.post("/logout", data={"csrf_token": "nope"}).status_code == 403
        out = client.post("/logout", data={"csrf_token": hidden(page, "csrf_token", "header form")})
        assert out.status_code == 303
        assert client.get("/workspace").status_code == 303


def test_login_never_redirects_off_site(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        form = soup_of(client.get("/login"))
        response = client.post(
            "/login",
            data={
                "name": "librarian",
                "password": PASSWORD,
                "csrf_token": hidden(form, "csrf_token", "main form"),
                "next": "//evil.example/phish",
            },
        )
        assert response.headers["location"] == "/workspace"


def test_every_workspace_form_needs_the_csrf_token(librarian: httpx.Client) -> None:
    refused = librarian.post("/workspace/compilations", data={"title": "无令牌"})
    assert refused.status_code == 403
    assert "无令牌" not in librarian.get("/workspace").text
    # And every form the pages draw carries it.
    compilation_id = create(librarian, "令牌检查", sections="第一节")
    librarian.post(
        "/workspace/add",
        data={
            "compilation_id": compilation_id,
            "doc_id": "sample-020",
            "csrf_token": csrf(librarian),
        },
    )
    for path in [
        "/workspace",
        f"/workspace/compilations/{compilation_id}",
        f"/workspace/compilations/{compilation_id}/history",
        f"/workspace/compilations/{compilation_id}/proposals",
        "/?q=低保",
    ]:
        page = soup_of(librarian.get(path))
        forms = page.select("form[method=post]")
        assert forms, path
        for form in forms:
            assert form.select_one("input[name=csrf_token]") is not None, (path, form.get("action"))


def test_build_a_compilation_from_search_results(librarian: httpx.Client) -> None:
    compilation_id = create(librarian, "低保政策汇编", sections="国家政策\n本市政策")
    results = soup_of(librarian.get("/", params={"q": "低保"}))
    boxes = results.select("input[type=checkbox][form=add-form][name=doc_id]")
    chosen = [str(b["value"]) for b in boxes[:3]]
    assert len(chosen) == 3
    add_form = results.select_one("form#add-form")
    assert add_form is not None
    added = librarian.post(
        str(add_form["action"]),
        data={
            "compilation_id": compilation_id,
            "doc_id": chosen,
            "csrf_token": hidden(results, "csrf_token", "form#add-form"),
        },
    )
    assert added.status_code == 303
    assert entry_ids(librarian, compilation_id) == chosen

    def entry(doc_id: str, action: str, **extra: str) -> httpx.Response:
        return librarian.post(
            f"/workspace/compilations/{compilation_id}/entry",
            data={
                "doc_id": doc_id,
                "action": action,
                "csrf_token": csrf(librarian),
                "version": version_of(librarian, compilation_id),
                **extra,
            },
        )

    assert entry(chosen[0], "down").status_code == 303
    assert entry_ids(librarian, compilation_id) == [chosen[1], chosen[0], chosen[2]]
    assert entry(chosen[2], "up").status_code == 303
    assert entry_ids(librarian, compilation_id) == [chosen[1], chosen[2], chosen[0]]
    entry(chosen[0], "note", note="<b>重点</b>：标准调整")
    entry(chosen[1], "section", section="本市政策")
    page = soup_of(librarian.get(f"/workspace/compilations/{compilation_id}"))
    note = page.select_one(f"li[data-doc-id='{chosen[0]}'] input[name=note]")
    assert note is not None and note["value"] == "<b>重点</b>：标准调整"
    headings = [h.get_text() for h in page.select(".section-heading")]
    assert headings == ["未分节", "国家政策", "本市政策"]
    assert entry_ids(librarian, compilation_id)[-1] == chosen[1]  # now in the last section
    entry(chosen[2], "remove")
    assert chosen[2] not in entry_ids(librarian, compilation_id)
    # What the editor shows is what the service stored.
    stored = librarian.get(f"/compilations/{compilation_id}").json()
    assert [d["doc_id"] for d in stored["documents"]] == entry_ids(librarian, compilation_id)
    # Exports are offered for every format and deliver the documents.
    links = {a.get_text(): str(a["href"]) for a in page.select("a[download]")}
    assert len(links) == 8
    csv = librarian.get(links["数据表（CSV）"])
    assert csv.status_code == 200
    for doc_id in entry_ids(librarian, compilation_id):
        title = librarian.get(f"/documents/{doc_id}").json()["title"]
        assert title in csv.text
    feed = page.select_one("link[rel=alternate][type='application/atom+xml']")
    assert feed is not None and feed["href"] == f"/compilations/{compilation_id}/feed"


def test_a_stale_form_is_a_conflict_and_changes_nothing(librarian: httpx.Client) -> None:
    compilation_id = create(librarian, "并发编辑")
    token = csrf(librarian)
    librarian.post(
        "/workspace/add",
        data={
            "compilation_id": compilation_id,
            "doc_id": ["sample-020", "sample-021"],
            "csrf_token": token,
        },
    )
    stale = version_of(librarian, compilation_id)
    # Someone else changes the compilation meanwhile.
    first = librarian.post(
        f"/workspace/compilations/{compilation_id}/entry",
        data={"doc_id": "sample-020", "action": "down", "version": stale, "csrf_token": token},
    )
    assert first.status_code == 303
    before = entry_ids(librarian, compilation_id)
    second = librarian.post(
        f"/workspace/compilations/{compilation_id}/entry",
        data={"doc_id": "sample-021", "action": "remove", "version": stale, "csrf_token": token},
    )
    assert second.status_code == 409
    assert "已被修改" in second.text
    assert entry_ids(librarian, compilation_id) == before


def test_proposals_inbox_accept_and_reject(librarian: httpx.Client, database: Engine) -> None:
    compilation_id = create(librarian, "就业补贴汇编", seeds="就业补贴\n创业担保贷款")
    inbox = soup_of(librarian.get(f"/workspace/compilations/{compilation_id}/proposals"))
    proposed = [str(li["data-doc-id"]) for li in inbox.select("li.entry")]
    assert len(proposed) >= 2
    service = CompilationService(database)
    assert proposed == [p.doc_id for p in service.proposals(compilation_id)]

    def decide(doc_id: str, decision: str) -> None:
        page = soup_of(librarian.get(f"/workspace/compilations/{compilation_id}/proposals"))
        response = librarian.post(
            f"/workspace/compilations/{compilation_id}/proposals",
            data={
                "doc_id": doc_id,
                "decision": decision,
                "csrf_token": hidden(page, "csrf_token", "main form"),
                "version": version_of(librarian, compilation_id),
            },
        )
        assert response.status_code == 303

    decide(proposed[0], "accept")
    decide(proposed[1], "reject")
    assert entry_ids(librarian, compilation_id) == [proposed[0]]
    left = soup_of(librarian.get(f"/workspace/compilations/{compilation_id}/proposals"))
    assert [str(li["data-doc-id"]) for li in left.select("li.entry")] == proposed[2:]


def test_history_restores_an_older_version(librarian: httpx.Client) -> None:
    compilation_id = create(librarian, "版本测试")
    token = csrf(librarian)
    librarian.post(
        "/workspace/add",
        data={"compilation_id": compilation_id, "doc_id": "sample-009", "csrf_token": token},
    )
    with_one = version_of(librarian, compilation_id)
    librarian.post(
        "/workspace/add",
        data={"compilation_id": compilation_id, "doc_id": "sample-010", "csrf_token": token},
    )
    assert entry_ids(librarian, compilation_id) == ["sample-009", "sample-010"]
    history = soup_of(librarian.get(f"/workspace/compilations/{compilation_id}/history"))
    rows = history.select("tbody tr")
    assert len(rows) == 3  # create, add, add
    restore = history.select_one(f"form input[name=restore_version][value='{with_one}']")
    assert restore is not None
    response = librarian.post(
        f"/workspace/compilations/{compilation_id}/restore",
        data={
            "restore_version": with_one,
            "version": version_of(librarian, compilation_id),
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    assert entry_ids(librarian, compilation_id) == ["sample-009"]
    after = soup_of(librarian.get(f"/workspace/compilations/{compilation_id}/history"))
    assert len(after.select("tbody tr")) == 4  # the restore is a new version


def test_topics_page_shows_the_map_and_timeline(
    librarian: httpx.Client, settings: Settings, database: Engine
) -> None:
    from analysis.tokenizer import GovTokenizer
    from compilations.topics.service import build_topics, models_dir
    from compilations.topics.store import TopicStore
    from engines import make_backend

    empty = soup_of(librarian.get("/workspace/topics"))
    assert "gongkai topics build" in empty.get_text()
    store = TopicStore(database, models_dir(settings))
    backend = make_backend(settings)
    build_topics(settings, store, backend.iter_documents(), tokenizer=GovTokenizer(), k=4)
    page = soup_of(librarian.get("/workspace/topics"))
    images = {str(img["src"]): str(img["alt"]) for img in page.select("img")}
    assert set(images) == {"/topics/map.png", "/topics/timeline.png"}
    for src in images:
        picture = librarian.get(src)
        assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
    assert len(page.select("li.hit")) == 4


def test_document_page_offers_add_to_librarians_only(librarian: httpx.Client, server: str) -> None:
    compilation_id = create(librarian, "从文件页添加")
    public = soup_of(httpx.get(server + "/doc/sample-021"))
    assert public.select_one("form[action='/workspace/add']") is None
    assert not public.select("input[type=checkbox][form=add-form]")
    page = soup_of(librarian.get("/doc/sample-021"))
    form = page.select_one("main form[action='/workspace/add']")
    assert form is not None
    options = {str(o["value"]): o.get_text() for o in form.select("select option")}
    assert options[str(compilation_id)] == "从文件页添加"
    response = librarian.post(
        "/workspace/add",
        data={
            "compilation_id": compilation_id,
            "doc_id": hidden(page, "doc_id", "main form[action='/workspace/add']"),
            "csrf_token": hidden(page, "csrf_token", "main form[action='/workspace/add']"),
        },
    )
    assert response.status_code == 303
    assert entry_ids(librarian, compilation_id) == ["sample-021"]
