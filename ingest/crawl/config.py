"""Crawler settings: politeness, limits and state location, with defaults for public sites.

Built from the project `Settings` (`CrawlSettings.from_settings`) so a crawl needs nothing the
CLI does not already have; the fields can move into `Settings` as ``crawl_*`` later.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gongkai.settings import Settings

DEFAULT_USER_AGENT = (
    "GongkaiBot/0.1 (+https://github.com/gongkai/gongkai; search engine for published "
    "government information)"
)


class CrawlSettings(BaseModel):
    """How politely and how far a crawl goes."""

    model_config = ConfigDict(frozen=True)

    state_path: Path = Field(description="SQLite file holding frontier, fetch log and documents.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the crawl state (e.g. PostgreSQL); default: state_path.",
    )
    user_agent: str = Field(default=DEFAULT_USER_AGENT, description="Sent with every request.")
    requests_per_second: float = Field(
        default=1.0, gt=0, description="Per-host rate limit (robots.txt Crawl-delay can lower it)."
    )
    per_host_concurrency: int = Field(default=2, ge=1, description="Open requests per host.")
    concurrency: int = Field(default=8, ge=1, description="Open requests in all.")
    connect_timeout_s: float = Field(default=10.0, gt=0)
    read_timeout_s: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=3, ge=0, description="Retries after a 5xx, 429 or timeout.")
    backoff_base_s: float = Field(default=1.0, ge=0, description="First retry delay; doubles.")
    backoff_max_s: float = Field(default=60.0, ge=0, description="Cap of one retry delay.")
    max_redirects: int = Field(default=5, ge=0)
    max_crawl_delay_s: float = Field(
        default=60.0, ge=0, description="robots.txt Crawl-delay above this is capped."
    )
    max_page_bytes: int = Field(default=10 * 2**20, ge=1, description="Larger pages are refused.")
    max_attachment_bytes: int = Field(
        default=20 * 2**20, ge=1, description="Larger attachments are linked, not downloaded."
    )
    max_attachments_per_page: int = Field(default=20, ge=0)
    parse_workers: int = Field(
        default=2,
        ge=0,
        description="Processes that parse pages and attachments; 0 parses in a thread.",
    )
    sink_batch: int = Field(default=200, ge=1, description="Documents per call of the sink.")
    sink_interval_s: float = Field(
        default=5.0, gt=0, description="A partial batch goes to the sink after this long."
    )
    revisit_after_s: float = Field(
        default=0.0,
        ge=0,
        description="A new crawl re-checks known pages fetched longer ago than this.",
    )
    proxy: str | None = Field(default=None, description="HTTP(S) proxy URL; none by default.")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> CrawlSettings:
        """Defaults, state under ``settings.data_dir``, and ``crawl_*`` fields of ``settings``
        where the project settings have them."""
        values: dict[str, object] = {
            "state_path": settings.data_dir / "crawl.sqlite",
            # One relational database for all editorial state when one is configured.
            "database_url": settings.database_url,
        }
        for name in cls.model_fields:
            value = getattr(settings, f"crawl_{name}", None)
            if value is not None:
                values[name] = value
        values.update(overrides)
        return cls.model_validate(values)

    @property
    def robots_agent(self) -> str:
        """The product token robots.txt groups are matched against (``GongkaiBot``)."""
        return self.user_agent.split("/", 1)[0].split()[0]
