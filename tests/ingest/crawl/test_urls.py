"""URL normalisation and host patterns: one spelling per page in the frontier."""

from __future__ import annotations

import pytest

from ingest.crawl.urls import host_allowed, normalize_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://WWW.Gov.CN:80/a/./b/../c.htm#top", "http://www.gov.cn/a/c.htm"),
        ("https://www.gov.cn:443", "https://www.gov.cn/"),
        ("http://a.cn:8080/x", "http://a.cn:8080/x"),
        ("https://a.cn/%7euser/%e4%b8%ad", "https://a.cn/~user/%E4%B8%AD"),
        ("http://a.cn/路径/文件.html?q=中文", "http://a.cn/%E8%B7%AF%E5%BE%84/%E6%96%87%E4%BB%B6.html?q=%E4%B8%AD%E6%96%87"),
        ("http://a.cn/s?b=2&a=1&utm_source=wx&spm=x", "http://a.cn/s?a=1&b=2"),
        ("http://a.cn//x//y", "http://a.cn/x/y"),
        ("http://a.cn/dir/", "http://a.cn/dir/"),
        (" http://a.cn/x ", "http://a.cn/x"),
    ],
)  # fmt: skip
def test_normalize(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_relative_links_resolve_against_the_page() -> None:
    base = "http://zyj.beijing.gov.cn/sy/tzgg/index_1.html"
    assert normalize_url("./202012/t20201229_1.html", base) == (
        "http://zyj.beijing.gov.cn/sy/tzgg/202012/t20201229_1.html"
    )
    assert normalize_url("../zcfg/", base) == "http://zyj.beijing.gov.cn/sy/zcfg/"
    assert normalize_url(".\\P0.pdf", base) == "http://zyj.beijing.gov.cn/sy/tzgg/P0.pdf"


@pytest.mark.parametrize(
    "url", ["javascript:void(0)", "mailto:x@gov.cn", "#top", "", "ftp://a.cn/x"]
)
def test_not_pages(url: str) -> None:
    assert normalize_url(url, "http://a.cn/") is None
    assert normalize_url("http://") is None


def test_same_page_one_spelling() -> None:
    spellings = [
        "http://www.gov.cn/zhengce/content_1.htm",
        "HTTP://www.GOV.cn/zhengce/./content_1.htm#x",
        "http://www.gov.cn:80/zhengce/a/../content_1.htm",
    ]
    assert len({normalize_url(u) for u in spellings}) == 1


def test_host_patterns() -> None:
    assert host_allowed("www.gov.cn", ["www.gov.cn"])
    assert host_allowed("zyj.beijing.gov.cn", ["*.beijing.gov.cn"])
    assert not host_allowed("beijing.gov.cn.evil.com", ["*.beijing.gov.cn"])
    assert host_allowed("127.0.0.1:8000", ["127.0.0.1"])
    assert not host_allowed("gov.cn", ["*.gov.cn"])
