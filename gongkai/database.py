"""The relational database for editorial state (compilations, topics, users, audit log, outbox).

SQLite under ``data_dir`` by default, PostgreSQL (or any SQLAlchemy URL) when
``Settings.database_url`` is set. Each module owns its tables on its own ``MetaData`` and creates
them with ``create_all`` on first use, so a module can be used without the others.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event

from gongkai.settings import Settings

SQLITE_FILE = "gongkai.sqlite"


def database_url(settings: Settings) -> str:
    """The configured URL, or the SQLite file under ``settings.data_dir``."""
    if settings.database_url:
        return settings.database_url
    return f"sqlite:///{settings.data_dir / SQLITE_FILE}"


def create_database_engine(settings: Settings) -> Engine:
    """An engine for ``settings``; SQLite gets WAL and a busy timeout so the web server and a
    CLI command can write at the same time (SQLite serialises them, each waits up to 30 s)."""
    url = database_url(settings)
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True)


def sqlite_engine(url: str) -> Engine:
    """A SQLite engine with WAL, foreign keys and a 30 s busy timeout: several processes may
    write to the file at once."""
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, pool_pre_ping=True
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
