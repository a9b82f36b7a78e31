"""All settings in one place. Read from the environment (prefix ``GONGKAI_``) once, at the edge
(CLI start-up or app factory), then passed in; nothing deeper reads the environment."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

EngineKind = Literal["embedded", "opensearch", "elasticsearch"]


class Settings(BaseSettings):
    """Gongkai settings; every field can be set as ``GONGKAI_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="GONGKAI_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".gongkai"),
        description="Where all local state lives: the embedded index, databases, caches.",
    )
    engine: EngineKind = Field(
        default="embedded",
        description="Search backend: the embedded tantivy index, OpenSearch or Elasticsearch.",
    )
    engine_url: str = Field(
        default="http://127.0.0.1:9200",
        description="URL of the OpenSearch/Elasticsearch node (ignored by the embedded engine).",
    )
    engine_timeout_s: float = Field(default=30.0, description="Per-request engine timeout.")
    embedded_one_pass: bool = Field(
        default=True,
        description=(
            "Embedded engine: count facets in the same pass as the hits (native extension, "
            "~25% less CPU a search). False: tantivy's binding, facets in a second pass on "
            "another thread (lower latency when cores sit idle, less throughput)."
        ),
    )
    index_name: str = Field(
        default="gongkai-docs",
        description="Alias that search reads and ingest writes; the real index is versioned.",
    )
    batch_size: int = Field(default=500, ge=1, description="Documents per indexing batch.")
    # Durable ingest (gongkai.outbox): an unreachable engine is retried with exponential
    # backoff; documents wait in the outbox table meanwhile, nothing is dropped.
    index_retry_initial_s: float = Field(
        default=1.0, gt=0, description="First wait before retrying an unreachable engine."
    )
    index_retry_max_s: float = Field(
        default=30.0, gt=0, description="Longest single wait between engine retries."
    )
    index_retry_window_s: float = Field(
        default=120.0,
        ge=0,
        description="How long ingest keeps retrying at its end before leaving the backlog "
        "in the outbox for `gongkai index drain`.",
    )
    max_file_bytes: int = Field(
        default=100 * 1024 * 1024,
        description="HTML/TXT files larger than this are refused by ingest, with a message; "
        "JSONL is streamed, so the cap applies to each line (record) instead.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the relational database (compilations, users, audit, "
        "outbox), e.g. postgresql+psycopg://user@127.0.0.1/gongkai; default: SQLite file "
        "gongkai.sqlite under data_dir.",
    )
    max_query_chars: int = Field(default=1000, ge=1, description="Longer queries are cut here.")
    dense_ranking: bool = Field(
        default=True,
        description="Fuse embedding similarity into relevance order (search_api/hybrid.py) "
        "when the optional packages are installed (`pip install 'gongkai[dense]'`) and "
        "`gongkai index embed` has stored vectors; off by itself otherwise. False keeps plain "
        "lexical ranking.",
    )
    model_dir: Path = Field(
        default=Path("~/.cache/gongkai/models"),
        description="Where the dense stage keeps model files fetched from Maven Central "
        "(analysis/model_files.py); `gongkai index embed` fills it.",
    )
    maven_repository: str = Field(
        default="https://repo1.maven.org/maven2",
        description="Maven repository the dense stage's model jar is fetched from (a mirror "
        "of Maven Central works; the jar's SHA-256 is checked either way).",
    )

    # Limits and accounts (search_api/limits.py, search_api/auth.py).
    max_request_bytes: int = Field(
        default=1024 * 1024,
        ge=1,
        description="Request bodies larger than this are refused with 413 (declared or streamed).",
    )
    rate_limit_search: str = Field(
        default="120/minute",
        description="Per-client limit on search, suggest and feed requests (moving window; "
        "syntax of the `limits` library, e.g. '120/minute;2000/hour'); '' turns it off.",
    )
    rate_limit_export: str = Field(
        default="20/minute", description="Per-client limit on export requests; '' turns it off."
    )
    rate_limit_login: str = Field(
        default="10/minute", description="Per-client limit on login attempts; '' turns it off."
    )
    session_lifetime_s: int = Field(
        default=8 * 3600, ge=60, description="Web sessions expire this many seconds after login."
    )
    cookie_secure: bool = Field(
        default=False,
        description="Send the session cookie only over HTTPS (turn on behind TLS).",
    )

    # Crawler knobs most often changed; `ingest.crawl.config.CrawlSettings` has the rest and
    # the defaults used when these are left unset.
    crawl_requests_per_second: float | None = Field(
        default=None, gt=0, description="Requests per second per host (default 1)."
    )
    crawl_per_host_concurrency: int | None = Field(
        default=None, ge=1, description="Open requests per host (default 2)."
    )
    crawl_max_attachment_bytes: int | None = Field(
        default=None, ge=0, description="Larger attachments are linked, not downloaded (20 MB)."
    )
    crawl_user_agent: str | None = Field(default=None, description="Crawler User-Agent.")

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(seconds=self.session_lifetime_s)


def settings_environment(settings: Settings) -> dict[str, str]:
    """``GONGKAI_*`` variables from which ``Settings()`` in another process (a server worker)
    reads back ``settings``; unset (None) fields are left out."""
    values = settings.model_dump(mode="json", exclude_none=True)
    return {
        f"GONGKAI_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
        for name, value in values.items()
    }
