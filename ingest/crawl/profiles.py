"""Site profiles: what to crawl on a site and where things are on its pages, as data (TOML).

A profile names its start URLs, the hosts it may visit, how to find list items, pagination and
articles, and how to read an article (selectors, metadata-table labels, <meta> names). Profiles
ship in ``ingest/crawl/profiles/``; a user's own file works the same way. A URL target is given
to the bundled profile that claims its host (highest `SiteProfile.match`), else to ``generic``,
which reads any page by its metadata table, <meta> tags and main text block.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingest.crawl.errors import ProfileError, UnknownTarget
from ingest.crawl.urls import host_allowed, host_of, normalize_url

PROFILE_DIR = Path(__file__).parent / "profiles"
GENERIC = "generic"

PageKind = Literal["list", "article", "page"]

# Scores of `SiteProfile.match`, as in ingest's manager: the highest bid wins.
NO_MATCH = 0
FALLBACK = 1
BY_HOST = 10

ATTACHMENT_EXTENSIONS = (
    "pdf", "doc", "docx", "wps", "ofd", "xls", "xlsx", "et", "csv", "ppt", "pptx", "txt",
    "zip", "rar", "7z",
)  # fmt: skip


class _Rules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("url_patterns", "pagination_script", "url_date_pattern", check_fields=False)
    @classmethod
    def _compiles(cls, value: object) -> object:
        patterns = value if isinstance(value, tuple) else (value,)
        for pattern in patterns:
            if isinstance(pattern, str):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"bad regular expression {pattern!r}: {exc}") from exc
        return value


class ListRules(_Rules):
    """How to read a list (catalogue, column) page."""

    url_patterns: tuple[str, ...] = Field(
        default=(), description="Regexes: a URL matching one is a list page."
    )
    item_selector: str | None = Field(default=None, description="CSS: one list item each.")
    link_selector: str = Field(default="a[href]", description="CSS inside an item: its link.")
    date_selector: str | None = Field(
        default=None, description="CSS inside an item: its date (for --since); else any date."
    )
    pagination_selector: str | None = Field(default=None, description="CSS: further list pages.")
    pagination_script: str | None = Field(
        default=None,
        description="Regex over the page's scripts whose first group is the page count "
        "(TRS writes its pager in JavaScript: createPageHTML(count, current, ...)).",
    )
    pagination_template: str | None = Field(
        default=None, description="Page n (1 .. count-1) relative to the first: 'index_{n}.html'."
    )
    max_pages: int = Field(default=50, ge=1, description="List pages followed per start URL.")


class ArticleRules(_Rules):
    """How to read an article page."""

    url_patterns: tuple[str, ...] = Field(
        default=(), description="Regexes: a URL matching one is an article."
    )
    title_selector: str | None = None
    body_selector: str | None = None
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Extra metadata-table labels -> Document fields (beside the common ones).",
    )
    meta: dict[str, str] = Field(
        default_factory=dict,
        description="<meta name> -> Document field or extra name, overriding the common ones.",
    )
    url_date_pattern: str | None = Field(
        default=None,
        description="Regex with year, month, day groups: the date in the URL (TRS: "
        "t20201229_2188823.html), kept as extra 'url_date' (it is not always the 发布日期).",
    )
    defaults: dict[str, str] = Field(
        default_factory=dict, description="Field values when the page gives none."
    )
    attachment_selector: str = Field(default="a[href]", description="CSS: attachment links.")
    attachment_extensions: tuple[str, ...] = ATTACHMENT_EXTENSIONS
    min_body_chars: int = Field(
        default=20, ge=0, description="Shorter text (and no metadata): not an article."
    )


class SiteProfile(BaseModel):
    """One site family: where to start, where to stay, how to read its pages."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    match_hosts: tuple[str, ...] = Field(
        default=(), description="Host patterns this profile claims for a URL target."
    )
    start_urls: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = Field(
        default=(), description="Host patterns the crawl may visit ('*.gov.cn'); attachments too."
    )
    follow: Literal["profile", "links"] = Field(
        default="profile",
        description="'profile': list items and pagination only; 'links': every allowed link "
        "up to max_depth (the generic profile).",
    )
    max_depth: int = Field(default=3, ge=0, description="Link hops from a start URL.")
    list: ListRules = Field(default_factory=ListRules)
    article: ArticleRules = Field(default_factory=ArticleRules)

    def match(self, url: str) -> int:
        """How well this profile fits a URL target (`BY_HOST`, `FALLBACK` or `NO_MATCH`)."""
        if self.match_hosts and host_allowed(host_of(url), list(self.match_hosts)):
            return BY_HOST
        return FALLBACK if self.name == GENERIC else NO_MATCH

    def kind_of(self, url: str, default: PageKind) -> PageKind:
        """A URL's page kind by the profile's patterns (articles first), else ``default``."""
        if self.follow == "links":
            return "page"
        if any(re.search(p, url) for p in self.article.url_patterns):
            return "article"
        if any(re.search(p, url) for p in self.list.url_patterns):
            return "list"
        return default

    def allows(self, url: str) -> bool:
        return host_allowed(host_of(url), list(self.allowed_hosts))

    def starting_at(self, *urls: str) -> SiteProfile:
        """This profile crawling from ``urls`` (their hosts allowed too): a URL target, or a
        copy of a real site served elsewhere (tests, mirrors)."""
        normalized = tuple(u for u in (normalize_url(url) for url in urls) if u)
        if not normalized:
            raise UnknownTarget(f"not an http(s) URL: {', '.join(urls)}")
        hosts = tuple(dict.fromkeys((*self.allowed_hosts, *(host_of(u) for u in normalized))))
        return self.model_copy(update={"start_urls": normalized, "allowed_hosts": hosts})


def load_profile(path: Path) -> SiteProfile:
    """A profile from a TOML file, or `ProfileError` saying what is wrong with it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"cannot read profile {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {path} is not valid TOML: {exc}") from exc
    data.setdefault("name", path.stem)
    try:
        return SiteProfile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ProfileError(f"profile {path}: {where}: {first['msg']}") from exc


@cache
def bundled_profiles() -> dict[str, SiteProfile]:
    """The profiles shipped with Gongkai, by name."""
    profiles = (load_profile(path) for path in sorted(PROFILE_DIR.glob("*.toml")))
    return {profile.name: profile for profile in profiles}


def resolve_target(target: str) -> SiteProfile:
    """The profile for ``target``: a profile file, a bundled profile's name, or a URL (given to
    the best-matching bundled profile, starting at that URL)."""
    path = Path(target)
    if target.endswith(".toml") or path.is_file():
        return load_profile(path)
    profiles = bundled_profiles()
    if target in profiles:
        profile = profiles[target]
        if not profile.start_urls:
            raise UnknownTarget(f"profile {target!r} has no start URLs: give it a URL instead")
        return profile
    url = normalize_url(target)
    if url is None:
        known = ", ".join(sorted(profiles))
        raise UnknownTarget(
            f"{target!r} is not a profile file, a profile name ({known}) or an http(s) URL"
        )
    return profile_for_url(url).starting_at(url)


def profile_for_url(url: str) -> SiteProfile:
    """The bundled profile bidding highest for ``url`` (``generic`` when no other claims it)."""
    profiles = bundled_profiles()
    best = max(profiles.values(), key=lambda profile: profile.match(url))
    if best.match(url) == NO_MATCH:
        raise ProfileError(f"no profile fits {url} and the generic profile is missing")
    return best
