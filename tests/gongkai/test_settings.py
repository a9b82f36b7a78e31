"""Tests for ``gongkai.settings``: settings survive the trip to another process's environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from gongkai.settings import Settings, settings_environment


def test_settings_environment_recreates_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = Settings(
        data_dir=tmp_path / "data",
        engine="opensearch",
        engine_url="http://127.0.0.1:9299",
        rate_limit_search="",
        dense_ranking=False,
        max_query_chars=77,
        crawl_requests_per_second=2.5,
        database_url="postgresql+psycopg://gongkai@127.0.0.1/gongkai",
    )
    for name in [*Settings.model_fields, "data_dir"]:
        monkeypatch.delenv(f"GONGKAI_{name.upper()}", raising=False)
    for name, value in settings_environment(given).items():
        monkeypatch.setenv(name, value)
    assert Settings() == given
    # Fields left unset stay unset, not the string "None".
    assert "GONGKAI_CRAWL_USER_AGENT" not in settings_environment(given)
