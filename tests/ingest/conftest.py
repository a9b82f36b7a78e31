"""Fixtures for the ingest tests: settings passed in (never the environment) and the real
HTML fragments."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gongkai.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "state", max_file_bytes=10 * 2**20)


@pytest.fixture(scope="session")
def html_fragments(shared_data: Path) -> Path:
    """../shared/data/html with its index.tsv, or a skip that says why."""
    folder = shared_data / "html"
    if not (folder / "index.tsv").exists():
        pytest.skip(f"HTML fragments not found at {folder}")
    return folder


@pytest.fixture(scope="session")
def html_index(html_fragments: Path) -> list[dict[str, str]]:
    """Rows of html/index.tsv: file, source_url, title, site, doc_id, note."""
    with (html_fragments / "index.tsv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
