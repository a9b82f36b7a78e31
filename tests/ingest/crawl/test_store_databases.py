"""The crawl state (frontier, fetch log, pending documents) on SQLite and on PostgreSQL: the
same crawl of the fixture site, then an incremental recrawl, through `CrawlStore` on each."""

from __future__ import annotations

from pathlib import Path

from gongkai.settings import Settings
from ingest.crawl import crawl, crawl_report
from ingest.crawl.config import CrawlSettings
from ingest.crawl.store import CrawlStore
from tests.ingest.crawl.conftest import Collect, Site, fast_settings
from tests.ingest.crawl.test_crawl import INDEXED, trs_profile


def on(db_settings: Settings) -> CrawlSettings:
    # SQLite keeps its own crawl.sqlite under data_dir; PostgreSQL gets the test database.
    return fast_settings(db_settings, database_url=db_settings.database_url)


def test_crawl_and_recrawl_keep_their_state_in_the_database(
    site: Site, db_settings: Settings
) -> None:
    config = on(db_settings)
    first = Collect()
    summary = crawl(trs_profile(site), db_settings, first, crawl_settings=config)
    assert summary.finished and summary.new == len(INDEXED)
    assert len({d.id for d in first.documents}) == len(INDEXED)

    store = CrawlStore.open(config.state_path, config.database_url)
    try:
        profile = trs_profile(site).name
        # Every document was taken by the sink: nothing left pending.
        assert list(store.pending_documents(profile)) == []
        assert store.count(profile, ("done",)) > len(INDEXED)
    finally:
        store.close()
    if db_settings.database_url:
        assert not config.state_path.exists()  # nothing went to a SQLite file instead

    again = Collect()
    resumed = crawl(trs_profile(site), db_settings, again, crawl_settings=config)
    assert resumed.finished and resumed.new == 0  # known, unchanged pages are not re-sent
    [report] = crawl_report(db_settings, crawl_settings=config)
    assert report.new == 9 + 3


def test_pending_documents_survive_until_confirmed(db_settings: Settings) -> None:
    from gongkai.document import Document
    from ingest.crawl.store import NewPage, Outcome

    config = on(db_settings)
    store = CrawlStore.open(config.state_path, config.database_url)
    try:
        start = [NewPage("http://127.0.0.1/a", "127.0.0.1", "article", 0)]
        run = store.begin_run("p", start, since=None, revisit_before=None)
        [page] = store.lease("p", 10)
        doc = Document(id="a", title="通知", body="正文", url=page.url)
        store.complete(page, run.id, Outcome(state="done", outcome="new", document=doc))
        # A crawl killed here resumes with the document still pending.
        assert [d for _, d in store.pending_documents("p")] == [doc]
        store.confirm([page.id])
        assert list(store.pending_documents("p")) == []
        assert store.document(page.id) == doc
    finally:
        store.close()


def test_crawl_state_follows_the_project_database_url(tmp_path: Path) -> None:
    url = "postgresql+psycopg://u@127.0.0.1/gongkai"
    assert CrawlSettings.from_settings(Settings(data_dir=tmp_path)).database_url is None
    configured = Settings(data_dir=tmp_path, database_url=url)
    assert CrawlSettings.from_settings(configured).database_url == url
