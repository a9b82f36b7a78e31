"""The web pages in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright),
against real uvicorn on 127.0.0.1 serving the embedded engine with the samples ingested.

Screenshots of the main pages go to tests/artifacts/web/ (gitignored) for people to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gongkai.accounts import AccountStore, Role
from gongkai.database import create_database_engine
from gongkai.settings import Settings
from search_api.app import create_app
from tests.support.live_server import live_server
from tests.support.web_site import HOSTILE_ID, HOSTILE_TITLE, build_site

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "web"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"browser tests need Chromium at {CHROMIUM} (Debian package 'chromium')",
    ),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    settings = build_site(tmp_path_factory.mktemp("browser") / "data")
    app = create_app(settings)
    try:
        with live_server(app) as url:
            yield url, settings
    finally:
        app.state.database.dispose()


@pytest.fixture(scope="module")
def site(served: tuple[str, Settings]) -> str:
    return served[0]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


class Watch:
    """What a page did that it must not: script dialogs, CSP violations, page errors."""

    def __init__(self, page: Any) -> None:
        self.dialogs: list[str] = []
        self.problems: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._console)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        if message.type == "error" and "favicon" not in message.text:
            self.problems.append(message.text)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    tab.watch = Watch(tab)
    yield tab
    context.close()


def shoot(page: Any, name: str, *, phone: bool = True) -> None:
    """Desktop and phone screenshots of the current page, and no sideways scrolling on a phone."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / f"{name}-desktop.png"))
    if phone:
        # Loaded afresh at phone width, as a phone would (the script folds the filters then).
        page.set_viewport_size(PHONE)
        page.reload()
        page.evaluate("window.scrollTo(0, 0)")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name}: {overflow}px wider than a 390px phone"
        page.screenshot(path=str(ARTIFACTS / f"{name}-phone.png"))
        page.screenshot(path=str(ARTIFACTS / f"{name}-phone-full.png"), full_page=True)
        page.set_viewport_size(DESKTOP)


def hit_agencies(page: Any) -> list[str]:
    return [str(t) for t in page.locator("li.hit .hit-meta").all_inner_texts()]


def test_search_then_filter_by_a_facet(page: Any, site: str) -> None:
    page.goto(site + "/")
    page.get_by_label("检索词").fill("补贴")
    page.get_by_label("检索词").press("Enter")
    page.wait_for_url(re.compile(r"q=%E8%A1%A5%E8%B4%B4"))
    before = int(re.findall(r"共 (\d+) 件", page.locator(".results-heading").inner_text())[0])
    assert before > 1
    expected = httpx.get(site + "/search", params={"q": "补贴", "facets": "true"}).json()
    agency = expected["facets"]["agency"][0]
    # Ticking a box applies the filter at once (the script submits the GET form).
    page.locator("#facet-agency label", has_text=agency["value"]).click()
    page.wait_for_url(re.compile(r"agency="))
    assert f"共 {agency['count']} 件" in page.locator(".results-heading").inner_text()
    metas = hit_agencies(page)
    assert metas and all(agency["value"] in m for m in metas)
    assert page.locator("a.chip", has_text=agency["value"]).is_visible()
    assert page.locator("mark").first.is_visible()
    shoot(page, "search-results")
    # The chip removes the filter again.
    page.locator("a.chip", has_text=agency["value"]).click()
    page.wait_for_url(lambda url: "agency=" not in url)
    assert f"共 {before} 件" in page.locator(".results-heading").inner_text()
    assert not page.watch.dialogs and not page.watch.problems


def test_search_and_filter_work_without_javascript(browser: Any, site: str) -> None:
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(site + "/")
        page.get_by_label("检索词").fill("养老金")
        page.get_by_role("button", name="搜索").click()
        page.wait_for_url(re.compile(r"q="))
        assert page.locator("li.hit").count() > 0
        status = httpx.get(site + "/search", params={"q": "养老金", "facets": "true"}).json()
        validity = status["facets"]["validity"][0]
        page.locator("#facet-validity label", has_text=validity["value"]).click()
        page.get_by_role("button", name="应用筛选").click()
        page.wait_for_url(re.compile(r"validity="))
        assert f"共 {validity['count']} 件" in page.locator(".results-heading").inner_text()
        page.locator("li.hit h2 a").first.click()
        page.wait_for_url(re.compile(r"/doc/"))
        assert page.locator(".full-text p").count() > 0
    finally:
        context.close()


def test_suggestions_fill_the_search_box_list(page: Any, site: str) -> None:
    page.goto(site + "/")
    expected = httpx.get(site + "/suggest", params={"q": "最低", "limit": "8"}).json()
    assert expected["terms"] or expected["titles"]
    page.get_by_label("检索词").press_sequentially("最低")
    options = page.locator("#q-suggestions option")
    options.first.wait_for(state="attached")
    values = [options.nth(i).get_attribute("value") for i in range(options.count())]
    assert values == expected["terms"] + expected["titles"]
    shoot(page, "home", phone=True)
    assert not page.watch.problems


def test_open_a_document_from_the_results(page: Any, site: str) -> None:
    page.goto(site + "/?q=%E6%9C%80%E4%BD%8E%E7%94%9F%E6%B4%BB%E4%BF%9D%E9%9A%9C")  # 最低生活保障
    first = page.locator("li.hit h2 a").first
    title = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/doc/"))
    assert page.locator("h1#doc-title").inner_text() == title
    table = page.locator(".meta-table")
    for label in ["索引号", "主题分类", "发布机构", "发文字号", "成文日期", "发布日期", "有效性"]:
        assert table.locator("th", has_text=label).is_visible()
    assert page.locator(".full-text p").count() > 1
    assert page.locator("#similar-heading ~ ul a").count() > 0
    shoot(page, "document")
    # An abolished document names what replaced it; the link leads there.
    page.goto(site + "/doc/sample-023")
    assert page.locator(".doc-status .badge").inner_text() == "废止"
    page.locator("#lineage-heading ~ ul a").first.click()
    page.wait_for_url(re.compile(r"/doc/sample-022"))
    shoot(page, "document-lineage", phone=False)
    assert not page.watch.problems


def test_keyboard_users_can_skip_to_the_content(page: Any, site: str) -> None:
    page.goto(site + "/?q=%E4%BD%8E%E4%BF%9D")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    assert skip.evaluate("el => el === document.activeElement")
    assert skip.is_visible() and skip.bounding_box()["y"] >= 0  # shown when focused
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    # Onwards by keyboard: the next stops are the search box and its button.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"


def test_hostile_document_runs_no_script(page: Any, site: str) -> None:
    page.goto(site + "/?q=%E4%BD%8E%E4%BF%9D%E5%AE%A1%E6%A0%B8")  # 低保审核
    hostile = page.locator(f"li.hit[data-doc-id='{HOSTILE_ID}']")
    assert hostile.is_visible()
    assert hostile.locator("h2").inner_text() == HOSTILE_TITLE
    shoot(page, "hostile-results", phone=False)
    hostile.locator("h2 a").click()
    page.wait_for_url(re.compile(HOSTILE_ID))
    assert page.locator("h1#doc-title").inner_text() == HOSTILE_TITLE
    assert "<script>alert(3)</script>" in page.locator(".full-text").inner_text()
    assert (
        page.locator(".attachments").get_by_text("<script>alert(8)</script>附件.pdf").is_visible()
    )
    # Nothing from the document became an element or a link.
    assert page.locator("main img, main script, main b, main i").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    # Clicking everywhere the payloads are gives them every chance to run.
    page.locator("h1#doc-title").hover()
    page.locator(".full-text").click()
    page.locator(".meta-table").hover()
    shoot(page, "hostile-document", phone=False)
    assert page.watch.dialogs == []
    assert not page.watch.problems


def test_librarian_builds_and_exports_a_compilation(
    page: Any, served: tuple[str, Settings]
) -> None:
    site, settings = served
    database = create_database_engine(settings)
    try:
        AccountStore(database).create_user("馆员甲", Role.LIBRARIAN, password="correct horse 42")
        topics_built = build_topics_for(settings, database)
    finally:
        database.dispose()
    page.goto(site + "/workspace")
    page.wait_for_url(re.compile(r"/login\?next="))
    shoot(page, "login", phone=False)
    page.get_by_label("用户名").fill("馆员甲")
    page.get_by_label("密码").fill("correct horse 42")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(site + "/workspace")
    page.get_by_label("标题", exact=True).fill("养老金政策汇编")
    page.get_by_label("分节（可选，每行一个）").fill("国家政策\n本市政策")
    page.get_by_role("button", name="新建").click()
    page.wait_for_url(re.compile(r"/workspace/compilations/\d+\?msg=created"))
    editor_url = page.url.split("?")[0]

    # Add from the search results: tick three, choose the compilation, add.
    page.get_by_role("link", name="检索并添加文件").click()
    page.get_by_label("检索词").fill("养老金")
    page.get_by_label("检索词").press("Enter")
    page.wait_for_url(re.compile(r"q="))
    titles = page.locator("li.hit h2").all_inner_texts()[:3]
    boxes = page.get_by_label("选择此文件")
    for i in range(3):
        boxes.nth(i).check()
    page.get_by_label("将勾选的文件加入汇编").select_option(label="养老金政策汇编")
    page.get_by_role("button", name="加入汇编").click()
    page.wait_for_url(re.compile(r"msg=added"))
    entries = page.locator("li.entry .hit-title a")
    assert entries.all_inner_texts() == titles

    # Reorder with the buttons, file one into a section, note another.
    page.get_by_role("button", name=f"下移：{titles[0]}").click()
    page.wait_for_url(re.compile(r"msg=moved"))
    assert entries.all_inner_texts() == [titles[1], titles[0], titles[2]]
    first = page.locator("li.entry").first
    first.get_by_label("移到分节").select_option(label="本市政策")
    first.get_by_role("button", name="移入").click()
    page.wait_for_url(re.compile(r"msg=section"))
    assert entries.all_inner_texts()[-1] == titles[1]
    page.locator("li.entry").first.get_by_label("备注").fill("2023年标准，已被次年通知调整")
    page.locator("li.entry").first.get_by_role("button", name="保存备注").click()
    page.wait_for_url(re.compile(r"msg=note"))
    shoot(page, "editor")

    # Export: the CSV download holds the three documents in the editor's order.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="数据表（CSV）").click()
    download = download_info.value
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    positions = [text.find(t) for t in entries.all_inner_texts()]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    with page.expect_download() as docx_info:
        page.get_by_role("link", name="汇编本（Word）").click()
    assert Path(docx_info.value.path()).read_bytes()[:2] == b"PK"  # a DOCX is a zip

    # History and restore: back to the version before the move.
    page.get_by_role("link", name="版本历史").click()
    shoot(page, "history", phone=False)
    page.get_by_role("button", name="恢复到第 2 版").click()
    page.wait_for_url(re.compile(r"msg=restored"))
    assert entries.all_inner_texts() == titles
    # Drag and drop reorders too (the script posts the new order); tall enough to see all.
    page.set_viewport_size({"width": 1280, "height": 2000})
    page.locator("li.entry").first.drag_to(page.locator("li.entry").nth(2))
    page.wait_for_url(re.compile(r"msg=moved"))
    dragged = entries.all_inner_texts()
    assert dragged[0] != titles[0] and sorted(dragged) == sorted(titles)
    page.goto(editor_url + "/proposals")
    shoot(page, "proposals", phone=False)
    if topics_built:
        page.goto(site + "/workspace/topics")
        assert page.locator("img[src='/topics/map.png']").evaluate("img => img.naturalWidth") > 0
        shoot(page, "topics")
    assert not page.watch.dialogs and not page.watch.problems


def build_topics_for(settings: Settings, database: Any) -> bool:
    """A small topic model so the topics page has its pictures (False: topics unavailable)."""
    try:
        from analysis.tokenizer import GovTokenizer
        from compilations.topics.service import build_topics, models_dir
        from compilations.topics.store import TopicStore
        from engines import make_backend
    except ImportError:
        return False
    store = TopicStore(database, models_dir(settings))
    backend = make_backend(settings)
    build_topics(settings, store, backend.iter_documents(), tokenizer=GovTokenizer(), k=4)
    return True
