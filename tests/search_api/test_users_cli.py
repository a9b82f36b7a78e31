"""`gongkai users ...` as a real subprocess, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gongkai.accounts import AccountStore, Principal, Role
from gongkai.database import create_database_engine
from gongkai.settings import Settings
from tests.support.cli import run_gongkai

PASSWORD = "a-long-enough-password"


@pytest.fixture
def engine(db_settings: Settings) -> Iterator[Engine]:
    engine = create_database_engine(db_settings)
    yield engine
    engine.dispose()


def users(
    settings: Settings, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {"GONGKAI_DATABASE_URL": settings.database_url} if settings.database_url else {}
    if stdin is None:
        return run_gongkai("users", *args, data_dir=settings.data_dir, **env)
    # As run_gongkai, with the password on stdin.
    return subprocess.run(
        [sys.executable, "-m", "search_api", "users", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "GONGKAI_DATA_DIR": str(settings.data_dir), **env},
        timeout=300,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    return result


def test_create_admin_prints_a_working_key_once_and_reads_the_password_from_stdin(
    db_settings: Settings, engine: Engine
) -> None:
    assert json.loads(ok(users(db_settings, "list", "--json")).stdout) == []  # no default admin
    created = ok(
        users(db_settings, "create-admin", "root", "--password-stdin", stdin=PASSWORD + "\n")
    )
    key = created.stdout.strip()
    assert key.startswith("gk_") and "\n" not in key
    assert "shown only now" in created.stderr
    store = AccountStore(engine)
    assert store.authenticate_key(key) == Principal("root", Role.ADMIN)
    assert store.verify_password("root", PASSWORD) == Principal("root", Role.ADMIN)

    listing = ok(users(db_settings, "list", "--json")).stdout
    assert key not in listing
    [root] = json.loads(listing)
    assert root["role"] == "admin" and root["has_password"] is True
    assert key.startswith(root["keys"][0]["prefix"])


def test_add_set_role_keys_and_audit(db_settings: Settings, engine: Engine) -> None:
    added = json.loads(ok(users(db_settings, "add", "李四", "--json")).stdout)
    assert added["role"] == "librarian"
    store = AccountStore(engine)
    assert store.authenticate_key(added["api_key"]) == Principal("李四", Role.LIBRARIAN)

    ok(users(db_settings, "set-role", "李四", "admin"))
    assert store.authenticate_key(added["api_key"]) == Principal("李四", Role.ADMIN)

    second = json.loads(ok(users(db_settings, "new-key", "李四", "--json")).stdout)
    ok(users(db_settings, "revoke-key", str(second["id"])))
    assert store.authenticate_key(second["api_key"]) is None
    assert store.authenticate_key(added["api_key"]) is not None

    ok(users(db_settings, "set-password", "李四", "--password-stdin", stdin=PASSWORD + "\n"))
    assert store.verify_password("李四", PASSWORD) is not None

    audit = json.loads(ok(users(db_settings, "audit", "--json")).stdout)
    assert [e["action"] for e in reversed(audit)] == [
        "user.create",
        "key.issue",
        "user.set_role",
        "key.issue",
        "key.revoke",
        "user.set_password",
    ]
    assert all(e["actor"].startswith("cli") for e in audit)
    table = ok(users(db_settings, "audit", "--action", "key.")).stdout
    assert "key.revoke" in table and "user.set_role" not in table


def test_mistakes_are_clear_errors_without_tracebacks(db_settings: Settings) -> None:
    ok(users(db_settings, "add", "lib"))
    for result, message in [
        (users(db_settings, "add", "lib"), "already exists"),
        (users(db_settings, "set-role", "nobody", "admin"), "no user named"),
        (users(db_settings, "revoke-key", "4242"), "no API key"),
        (
            users(db_settings, "set-password", "lib", "--password-stdin", stdin="short\n"),
            "characters",
        ),
    ]:
        assert result.returncode == 1
        assert message in result.stderr
        assert "Traceback" not in result.stderr
    bad_role = users(db_settings, "set-role", "lib", "superuser")
    assert bad_role.returncode == 2 and "Traceback" not in bad_role.stderr


def test_help_says_there_is_no_default_admin(tmp_path: Path) -> None:
    result = ok(run_gongkai("users", "--help", data_dir=tmp_path))
    assert "create-admin" in result.stdout and "once" in result.stdout
