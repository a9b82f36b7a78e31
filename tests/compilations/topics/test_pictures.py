"""The topic map and timeline pictures, drawn from a real build."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.tokenizer import GovTokenizer
from compilations.topics.errors import NoCJKFont
from compilations.topics.pictures import cjk_font_name, topic_map, topic_timeline
from compilations.topics.service import build_topics, models_dir
from compilations.topics.store import BuildInfo, TopicStore
from gongkai.database import create_database_engine
from gongkai.settings import Settings
from tests.support.topic_corpus import topic_documents

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def built(tmp_path: Path, tokenizer: GovTokenizer) -> Iterator[tuple[TopicStore, BuildInfo]]:
    settings = Settings(data_dir=tmp_path)
    engine = create_database_engine(settings)
    store = TopicStore(engine, models_dir(settings))
    build_topics(settings, store, topic_documents(), tokenizer=tokenizer, k=3)
    yield store, store.current_build("all")
    engine.dispose()


def test_map_png_and_svg(built: tuple[TopicStore, BuildInfo]) -> None:
    store, build = built
    png = topic_map(store.load_map(build), build.topics, fmt="png")
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    svg = topic_map(store.load_map(build), build.topics, fmt="svg").decode("utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    # Labels are kept as text (svg.fonttype none): each topic's label is in the picture.
    for topic in build.topics:
        assert f"{topic.topic_id} {topic.label}" in svg
    assert "主题分布图" in svg


def test_timeline_draws_the_largest_topics_per_year(built: tuple[TopicStore, BuildInfo]) -> None:
    store, build = built
    years = store.year_counts(build.id)
    svg = topic_timeline(years, build.topics, fmt="svg", top=2).decode("utf-8")
    shown = [t for t in build.topics if f"{t.topic_id} {t.label}" in svg]
    assert len(shown) == 2
    assert "2015" in svg and "2020" in svg and "年份" in svg
    assert topic_timeline(years, build.topics, fmt="png").startswith(PNG_MAGIC)


def test_timeline_without_dates_says_so(built: tuple[TopicStore, BuildInfo]) -> None:
    _, build = built
    svg = topic_timeline({}, build.topics, fmt="svg").decode("utf-8")
    assert "没有带日期的文件" in svg


def test_a_cjk_font_is_required() -> None:
    assert "CJK" in cjk_font_name()  # installed here (scripts/test.sh installs it on CI)
    assert cjk_font_name(["DejaVu Sans", "Noto Sans CJK SC"]) == "Noto Sans CJK SC"
    with pytest.raises(NoCJKFont, match="fonts-noto-cjk"):
        cjk_font_name(["DejaVu Sans", "Liberation Serif"])
