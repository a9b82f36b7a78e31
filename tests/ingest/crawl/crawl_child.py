"""A crawl in its own process, for the kill test: ``python -m tests.ingest.crawl.crawl_child
SITE_URL DATA_DIR DOCS_FILE``. Each document URL the sink receives is appended to DOCS_FILE."""

from __future__ import annotations

import sys
from pathlib import Path

from gongkai.document import Document
from gongkai.settings import Settings
from ingest.crawl import bundled_profiles, crawl
from tests.ingest.crawl.conftest import fast_settings
from tests.ingest.crawl.site import TRS


def main(site_url: str, data_dir: str, docs_file: str) -> None:
    settings = Settings(data_dir=Path(data_dir))
    config = fast_settings(settings, requests_per_second=15.0, per_host_concurrency=1, sink_batch=1)
    out = Path(docs_file).open("a", encoding="utf-8")  # noqa: SIM115 - open until killed

    def sink(documents: list[Document]) -> None:
        for document in documents:
            out.write(f"{document.url}\n")
        out.flush()

    profile = bundled_profiles()["beijing-trs"].starting_at(site_url + TRS)
    crawl(profile, settings, sink, crawl_settings=config)


if __name__ == "__main__":
    main(*sys.argv[1:4])
