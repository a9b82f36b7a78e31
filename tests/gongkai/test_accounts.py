"""Users, roles, API keys, passwords, sessions and CSRF tokens on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text

from gongkai.accounts import (
    ANONYMOUS,
    AccountStore,
    InvalidAccountInput,
    Principal,
    Role,
    UnknownKey,
    UnknownUser,
    UserExists,
    api_keys,
    check_password,
    hash_password,
    users,
)
from gongkai.database import create_database_engine
from gongkai.settings import Settings

PASSWORD = "长城-correct-horse-9"


@pytest.fixture
def engine(db_settings: Settings) -> Iterator[Engine]:
    engine = create_database_engine(db_settings)
    yield engine
    engine.dispose()  # before the test database is dropped


@pytest.fixture
def store(engine: Engine) -> AccountStore:
    return AccountStore(engine)


def all_text(engine: Engine) -> str:
    """Every value in the account tables, as one string (to look for leaked secrets)."""
    with engine.connect() as conn:
        parts = [
            repr(tuple(row))
            for table in ("users", "api_keys", "sessions", "audit_log")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
        ]
    return "\n".join(parts)


def test_roles_are_ordered_by_rank_not_by_spelling() -> None:
    assert Role.ANONYMOUS < Role.LIBRARIAN < Role.ADMIN
    assert sorted([Role.ADMIN, Role.ANONYMOUS, Role.LIBRARIAN]) == [
        Role.ANONYMOUS,
        Role.LIBRARIAN,
        Role.ADMIN,
    ]
    assert Role.ADMIN >= Role.LIBRARIAN and not Role.LIBRARIAN >= Role.ADMIN
    assert Role("librarian") == "librarian"  # a StrEnum: stores and serialises as its value
    assert not ANONYMOUS.is_authenticated


def test_a_fresh_database_has_no_users_and_no_default_credentials(store: AccountStore) -> None:
    assert store.list_users() == []
    assert store.verify_password("admin", "admin") is None
    assert store.authenticate_key("gk_") is None


def test_api_key_authenticates_and_is_stored_only_as_a_hash(
    store: AccountStore, engine: Engine
) -> None:
    user, key = store.create_user("alice", Role.LIBRARIAN)
    assert user.role is Role.LIBRARIAN and not user.has_password
    assert key.startswith("gk_") and len(key) >= 40
    assert store.authenticate_key(key) == Principal("alice", Role.LIBRARIAN)
    assert store.authenticate_key(key + "x") is None
    assert store.authenticate_key(key[:-1]) is None

    assert key not in all_text(engine)
    with engine.connect() as conn:
        stored = conn.execute(select(api_keys.c.key_hash, api_keys.c.prefix)).one()
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith(stored.prefix) and len(stored.prefix) < 16
    [info] = store.list_api_keys("alice")
    assert info.prefix == stored.prefix and info.revoked_at is None


def test_every_key_is_different(store: AccountStore) -> None:
    _, first = store.create_user("alice", Role.ADMIN)
    second = store.create_api_key("alice")
    third = store.create_api_key("alice")
    assert len({first, second, third}) == 3
    assert all(store.authenticate_key(k) == Principal("alice", Role.ADMIN) for k in (first, third))


def test_revoked_keys_stop_working_and_revoking_is_idempotent(store: AccountStore) -> None:
    _, old = store.create_user("alice", Role.LIBRARIAN)
    new_info, new = store.issue_api_key("alice")
    old_id = next(k.id for k in store.list_api_keys() if old.startswith(k.prefix))
    revoked = store.revoke_api_key(old_id)
    assert revoked.revoked_at is not None
    assert store.authenticate_key(old) is None
    assert store.authenticate_key(new) == Principal("alice", Role.LIBRARIAN)
    assert store.revoke_api_key(old_id).revoked_at == revoked.revoked_at
    with pytest.raises(UnknownKey):
        store.revoke_api_key(new_info.id + 1000)


def test_passwords_use_salted_scrypt_and_constant_time_checks(
    store: AccountStore, engine: Engine
) -> None:
    store.create_user("alice", Role.ADMIN, PASSWORD)
    store.create_user("bob", Role.LIBRARIAN, PASSWORD)
    assert store.verify_password("alice", PASSWORD) == Principal("alice", Role.ADMIN)
    assert store.verify_password("alice", PASSWORD + " ") is None
    assert store.verify_password("nobody", PASSWORD) is None
    assert store.verify_password("alice", "") is None
    with engine.connect() as conn:
        hashes = {
            r.name: r.password_hash
            for r in conn.execute(select(users.c.name, users.c.password_hash))
        }
    assert all(h.startswith("scrypt$") for h in hashes.values())
    # Same password, different salt: different stored hashes.
    assert hashes["alice"] != hashes["bob"]
    assert PASSWORD not in all_text(engine)


def test_password_hash_format_is_self_describing() -> None:
    stored = hash_password("p" * 12, n=2**10)
    assert stored.split("$")[:4] == ["scrypt", "1024", "8", "1"]
    assert check_password("p" * 12, stored)
    assert not check_password("p" * 11, stored)
    assert not check_password("p" * 12, "bcrypt$garbage")
    assert not check_password("p" * 12, "scrypt$x$y$z$%%%$###")


def test_users_without_password_cannot_log_in_and_passwords_can_change(
    store: AccountStore,
) -> None:
    store.create_user("alice", Role.LIBRARIAN)
    assert store.verify_password("alice", "") is None
    store.set_password("alice", PASSWORD)
    assert store.verify_password("alice", PASSWORD) is not None
    store.set_password("alice", None)
    assert store.verify_password("alice", PASSWORD) is None


@pytest.mark.parametrize(
    ("name", "role", "password"),
    [
        ("", Role.LIBRARIAN, None),
        ("has space", Role.LIBRARIAN, None),
        ("anonymous", Role.LIBRARIAN, None),
        ("x" * 65, Role.LIBRARIAN, None),
        ("ok", "superuser", None),
        ("ok", Role.LIBRARIAN, "short"),
        ("ok", Role.LIBRARIAN, ""),
    ],
)
def test_bad_input_is_refused_with_a_message(
    store: AccountStore, name: str, role: str, password: str | None
) -> None:
    with pytest.raises(InvalidAccountInput):
        store.create_user(name, role, password)
    assert store.list_users() == []


def test_duplicate_names_are_refused_and_leave_no_trace(store: AccountStore) -> None:
    store.create_user("王小明", Role.LIBRARIAN)
    entries_before = len(store.audit.entries())
    with pytest.raises(UserExists):
        store.create_user("王小明", Role.ADMIN)
    assert [u.role for u in store.list_users()] == [Role.LIBRARIAN]
    assert len(store.audit.entries()) == entries_before
    with pytest.raises(UnknownUser):
        store.set_role("nobody", Role.ADMIN)
    with pytest.raises(UnknownUser):
        store.create_api_key("nobody")


def test_role_changes_apply_at_once_to_keys_and_sessions(store: AccountStore) -> None:
    _, key = store.create_user("alice", Role.LIBRARIAN, PASSWORD)
    session = store.open_session(Principal("alice", Role.LIBRARIAN))
    store.set_role("alice", Role.ADMIN)
    assert store.authenticate_key(key) == Principal("alice", Role.ADMIN)
    assert store.session_principal(session) == Principal("alice", Role.ADMIN)
    store.set_role("alice", Role.ANONYMOUS)  # suspended
    principal = store.authenticate_key(key)
    assert principal is not None and not principal.is_authenticated


def test_sessions_open_resolve_close_and_expire(engine: Engine) -> None:
    store = AccountStore(engine)
    store.create_user("alice", Role.LIBRARIAN, PASSWORD)
    opened = store.login("alice", PASSWORD)
    assert opened is not None
    principal, token = opened
    assert principal == Principal("alice", Role.LIBRARIAN)
    assert store.session_principal(token) == principal
    assert token not in all_text(engine)  # only its hash is stored
    other = store.open_session(principal)
    assert other != token
    store.close_session(token)
    assert store.session_principal(token) is None
    assert store.session_principal(other) == principal
    assert store.session_principal("") is None
    assert store.login("alice", "wrong password!") is None

    expired_store = AccountStore(engine, session_lifetime=timedelta(0))
    expired = expired_store.open_session(principal)
    assert expired_store.session_principal(expired) is None
    assert store.session_principal(expired) is None


def test_a_new_password_ends_open_sessions(store: AccountStore) -> None:
    store.create_user("alice", Role.LIBRARIAN, PASSWORD)
    token = store.open_session(Principal("alice", Role.LIBRARIAN))
    store.set_password("alice", PASSWORD + "-new")
    assert store.session_principal(token) is None


def test_csrf_tokens_come_from_the_session_and_a_per_database_secret(
    engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> None:
    store = AccountStore(engine)
    token = store.csrf_token("session-1")
    assert token == store.csrf_token("session-1")
    assert token != store.csrf_token("session-2")
    assert store.check_csrf("session-1", token)
    assert not store.check_csrf("session-2", token)
    assert not store.check_csrf("session-1", token[:-1])
    assert not store.check_csrf("", store.csrf_token(""))
    # Another process on the same database derives the same tokens (the secret is shared) ...
    assert AccountStore(engine).csrf_token("session-1") == token
    # ... and another database has its own random secret: nothing is hard-coded.
    other = create_database_engine(Settings(data_dir=tmp_path_factory.mktemp("other")))
    assert AccountStore(other).csrf_token("session-1") != token
    other.dispose()


def test_every_account_write_is_audited_with_actor_and_before_after(store: AccountStore) -> None:
    _, key = store.create_user("alice", Role.LIBRARIAN, PASSWORD, actor="cli:root")
    [first] = store.list_api_keys("alice")
    info, _ = store.issue_api_key("alice", actor="root")
    store.set_role("alice", Role.ADMIN, actor="root")
    store.revoke_api_key(info.id, actor="root")
    store.set_password("alice", PASSWORD + "!", actor="root")
    assert store.login("alice", "not the password") is None
    opened = store.login("alice", PASSWORD + "!")
    assert opened is not None
    store.close_session(opened[1])

    log = [(e.actor, e.action, e.target) for e in reversed(store.audit.entries())]
    assert log == [
        ("cli:root", "user.create", "user:alice"),
        ("cli:root", "key.issue", f"key:{first.id}"),
        ("root", "key.issue", f"key:{info.id}"),
        ("root", "user.set_role", "user:alice"),
        ("root", "key.revoke", f"key:{info.id}"),
        ("root", "user.set_password", "user:alice"),
        ("alice", "login.failed", "user:alice"),
        ("alice", "login", "user:alice"),
        ("alice", "logout", "user:alice"),
    ]
    role_change = store.audit.entries(action="user.set_role")[0]
    assert (role_change.before, role_change.after) == ({"role": "librarian"}, {"role": "admin"})
    revoke = store.audit.entries(action="key.revoke")[0]
    assert revoke.before is not None and revoke.before["revoked_at"] is None
    assert revoke.after is not None and revoke.after["revoked_at"] is not None
    assert key not in repr(store.audit.entries())
