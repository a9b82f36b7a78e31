"""Site profiles as data: loading, validation, target resolution, and the shipped profiles on
the real page fragments of ../shared/data/html/ (skipped when that folder is absent)."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from ingest.crawl.errors import ProfileError, UnknownTarget
from ingest.crawl.extractor import parse_page, read_article
from ingest.crawl.profiles import bundled_profiles, load_profile, profile_for_url, resolve_target
from ingest.crawl.scoring import score_records


def test_bundled_profiles_load() -> None:
    profiles = bundled_profiles()
    assert {"generic", "govcn-policy", "beijing-trs"} <= set(profiles)
    assert profiles["generic"].follow == "links"
    assert profiles["beijing-trs"].list.pagination_template == "index_{n}.html"


def test_targets_resolve_by_name_url_and_file(tmp_path: Path) -> None:
    assert resolve_target("govcn-policy").name == "govcn-policy"
    trs = resolve_target("http://zyj.beijing.gov.cn/sy/tzgg/")
    assert trs.name == "beijing-trs" and trs.start_urls == ("http://zyj.beijing.gov.cn/sy/tzgg/",)
    other = resolve_target("https://www.example.gov.cn/xxgk/")
    assert other.name == "generic" and other.allowed_hosts == ("www.example.gov.cn",)
    path = tmp_path / "mine.toml"
    path.write_text('start_urls = ["http://a.gov.cn/"]\nallowed_hosts = ["a.gov.cn"]\n')
    assert resolve_target(str(path)).name == "mine"
    with pytest.raises(UnknownTarget):
        resolve_target("not a target")
    with pytest.raises(UnknownTarget):
        resolve_target("generic")  # needs a URL


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("start_urls = [", "not valid TOML"),
        ('follow = "everything"', "follow"),
        ("[list]\nurl_patterns = ['(']", "bad regular expression"),
        ("colour = 'red'", "colour"),
    ],
)
def test_bad_profiles_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ProfileError, match=message):
        load_profile(path)


def test_page_kinds_by_pattern() -> None:
    trs = bundled_profiles()["beijing-trs"]
    assert (
        trs.kind_of("http://zyj.beijing.gov.cn/sy/tzgg/202012/t20201229_2188823.html", "list")
        == "article"
    )
    assert trs.kind_of("http://zyj.beijing.gov.cn/sy/tzgg/index_3.html", "article") == "list"
    assert bundled_profiles()["generic"].kind_of("http://a.cn/x", "list") == "page"


def test_generic_page_guess() -> None:
    generic = profile_for_url("http://a.gov.cn/")
    portal = "<html><body>" + "".join(f"<a href='/n{i}'>新闻标题{i}</a>" for i in range(50))
    assert parse_page(generic, "page", "http://a.gov.cn/", portal.encode()).article is None
    meta = '<html><head><meta name="ArticleTitle" content="关于X的通知"></head><body><p>短</p>'
    assert parse_page(generic, "page", "http://a.gov.cn/", meta.encode()).article is not None


# --- the real fragments ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fragments(shared_data: Path) -> list[dict[str, str]]:
    folder = shared_data / "html"
    if not (folder / "index.tsv").exists():
        pytest.skip(f"HTML fragments not found at {folder}")
    with (folder / "index.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    for row in rows:
        row["html"] = (folder / row["file"]).read_text(encoding="utf-8")
    return rows


@pytest.mark.realdata
def test_shipped_profiles_on_real_fragments(fragments: list[dict[str, str]]) -> None:
    assert len(fragments) == 30
    for row in fragments:
        profile = profile_for_url(row["source_url"])
        article = read_article(profile, row["html"], row["source_url"])
        if row["site"] == "gov.cn":
            assert profile.name == "govcn-policy"
            assert article.title == row["title"], row["file"]
            assert {"index_number", "topic", "agency", "doc_number", "date_published"} <= set(
                article.fields
            ), row["file"]
            assert len(article.body) > 100
        else:
            assert profile.name == "beijing-trs"
            # The stored fragment is div.TRS_UEDITOR alone: text yes, title no (a crawl takes it
            # from <meta name="ArticleTitle"> or the list link).
            assert article.title is None and len(article.body) > 20, row["file"]
            assert article.extra["url_date"][:4] == row["source_url"].split("/t")[-1][:4]


@pytest.mark.realdata
def test_field_accuracy_on_govdocs_small(shared_data: Path) -> None:
    with (shared_data / "govdocs_small.dev.jsonl").open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    scores = score_records(records)
    govcn = scores["gov.cn"]
    assert govcn["title"].n == 42
    for name in ("title", "agency", "doc_number", "index_number", "date_written",
                 "date_published", "topic"):  # fmt: skip
        assert govcn[name].accuracy >= 0.95, (name, govcn[name])
        assert govcn[name].false_extractions == 0
    # Fragments of zyj.beijing.gov.cn carry no metadata at all: nothing may be invented.
    assert all(score.false_extractions == 0 for score in scores["zyj.beijing.gov.cn"].values())
    assert date(2020, 1, 1)  # dates compared as ISO strings
