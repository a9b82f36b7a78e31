"""Users, roles, API keys, passwords and web sessions in the relational database.

Secrets at rest:
- **API keys** are 256-bit random strings (``secrets.token_urlsafe(32)``) stored only as their
  SHA-256 hash. A fast hash is enough here because the input has 256 bits of entropy: nobody can
  guess keys against a leaked hash, so a slow KDF would only slow every request down. A short
  prefix of the key is kept in clear so people can tell their keys apart (``gk_AbCdEfG…``).
- **Passwords** are chosen by people and guessable, so they get a memory-hard KDF:
  ``hashlib.scrypt`` from the standard library (OpenSSL's), so no extra package to audit, pin and
  build; argon2id would need ``argon2-cffi`` for a similar guarantee, bcrypt is not memory-hard.
  A 16-byte random salt per password; cost n=2^15, r=8 (32 MiB, 0.1-0.5 s on this 2-core
  machine; OWASP's n=2^17 would take ~1 s and 128 MiB per login here). The cost is stored with
  each hash so it can be raised later; checked with ``hmac.compare_digest``.
- **Session tokens** are random like API keys and also stored only as a SHA-256 hash, with an
  expiry; a leaked database gives no live session.

There is no default user and no default password: the first admin is created from the CLI
(``gongkai users create-admin NAME``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from gongkai.audit import AuditLog, as_utc, inserted_id
from gongkai.errors import GongkaiError


class Role(StrEnum):
    """What a caller may do; ordered ``anonymous < librarian < admin`` (each includes the
    previous). Compared by rank, not alphabetically."""

    ANONYMOUS = "anonymous"
    LIBRARIAN = "librarian"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Role):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Role):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Role):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Role):
            return NotImplemented
        return self.rank >= other.rank


_RANKS = {Role.ANONYMOUS: 0, Role.LIBRARIAN: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user name and the role it holds now."""

    name: str
    role: Role

    @property
    def is_authenticated(self) -> bool:
        return self.role > Role.ANONYMOUS


ANONYMOUS = Principal(name="anonymous", role=Role.ANONYMOUS)


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role
    has_password: bool
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": str(self.role),
            "has_password": self.has_password,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class ApiKeyInfo:
    """An issued key as it can be shown again: its id and prefix, never the key."""

    id: int
    user: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


class AccountError(GongkaiError):
    """An account operation that cannot be done as asked."""


class UnknownUser(AccountError):
    pass


class UserExists(AccountError):
    pass


class UnknownKey(AccountError):
    pass


class InvalidAccountInput(AccountError):
    pass


metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(300), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("prefix", String(20), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

# Server-side secrets (e.g. the CSRF key), generated on first use, never a built-in default.
server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

KEY_PREFIX = "gk_"
PREFIX_SHOWN = len(KEY_PREFIX) + 8
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@\-\u4e00-\u9fff]{1,64}$")
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
# scrypt cost: n=2**15, r=8 needs 32 MiB per hash (memory-hard), 0.1-0.5 s on this machine.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
SCRYPT_MAXMEM = 64 * 1024 * 1024
DEFAULT_SESSION_LIFETIME = timedelta(hours=8)


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64), self-describing so the cost can be raised later."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM)
    return "$".join(
        ["scrypt", str(n), str(r), str(p), _b64(salt), _b64(digest)],
    )


def check_password(password: str, stored: str) -> bool:
    """Constant-time comparison of ``password`` with a ``hash_password`` result."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=SCRYPT_MAXMEM,
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# Checked when the user does not exist, so a wrong name costs as long as a wrong password
# (no user enumeration by timing). Computed once per store, from a random password.
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def csrf_token_for(secret: bytes, session_token: str) -> str:
    """HMAC-SHA256 of the session token under the server secret: the same for the whole
    session, useless without the session cookie, unforgeable without the secret."""
    mac = hmac.new(secret, b"csrf\x00" + session_token.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("=")


class AccountStore:
    """Users, keys and sessions; every write is recorded in the audit log in the same
    transaction. ``actor`` names who made a change (a user name, or ``cli:<os user>``)."""

    def __init__(
        self,
        engine: Engine,
        *,
        session_lifetime: timedelta = DEFAULT_SESSION_LIFETIME,
    ) -> None:
        self.engine = engine
        self.session_lifetime = session_lifetime
        metadata.create_all(engine)
        self.audit = AuditLog(engine)
        self._dummy: str | None = None
        self._secrets: dict[str, bytes] = {}

    # --- users -----------------------------------------------------------------------------

    def create_user(
        self,
        name: str,
        role: Role | str,
        password: str | None = None,
        *,
        actor: str = "system",
    ) -> tuple[User, str]:
        """Create ``name`` with ``role`` (and a password, optional) and a first API key;
        returns the user and that key, in clear, this once."""
        role = parse_role(role)
        check_name(name)
        password_hash = (
            hash_password(check_new_password(password)) if password is not None else None
        )
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                user_id = inserted_id(
                    conn.execute(
                        insert(users).values(
                            name=name, role=str(role), password_hash=password_hash, created_at=now
                        )
                    )
                )
                user = User(user_id, name, role, password_hash is not None, now)
                self.audit.record(
                    actor, "user.create", f"user:{name}", None, user.as_dict(), conn=conn
                )
                _info, key = self._issue_key(conn, user_id, name, actor)
        except IntegrityError as exc:
            raise UserExists(f"user {name!r} already exists") from exc
        return user, key

    def get_user(self, name: str) -> User:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
        if row is None:
            raise UnknownUser(f"no user named {name!r}")
        return _user(row)

    def list_users(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.name)).mappings().all()
        return [_user(r) for r in rows]

    def set_role(self, name: str, role: Role | str, *, actor: str = "system") -> User:
        role = parse_role(role)
        with self.engine.begin() as conn:
            before = self._user_row(conn, name)
            conn.execute(update(users).where(users.c.id == before.id).values(role=str(role)))
            after = User(before.id, name, role, before.has_password, before.created_at)
            self.audit.record(
                actor,
                "user.set_role",
                f"user:{name}",
                {"role": str(before.role)},
                {"role": str(role)},
                conn=conn,
            )
        return after

    def set_password(self, name: str, password: str | None, *, actor: str = "system") -> None:
        """Set or (with ``None``) remove the password; removing it also ends the sessions."""
        password_hash = (
            hash_password(check_new_password(password)) if password is not None else None
        )
        with self.engine.begin() as conn:
            user = self._user_row(conn, name)
            conn.execute(
                update(users).where(users.c.id == user.id).values(password_hash=password_hash)
            )
            # A new password ends every open session: whoever knew the old one is logged out.
            conn.execute(delete(sessions).where(sessions.c.user_id == user.id))
            self.audit.record(
                actor,
                "user.set_password" if password_hash else "user.remove_password",
                f"user:{name}",
                {"has_password": user.has_password},
                {"has_password": password_hash is not None},
                conn=conn,
            )

    def verify_password(self, name: str, password: str) -> Principal | None:
        """The principal when ``password`` is ``name``'s, else None (same cost either way)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(users.c.name, users.c.role, users.c.password_hash).where(
                    users.c.name == name
                )
            ).first()
        if row is None or row.password_hash is None:
            check_password(password, self._dummy_hash())
            return None
        if len(password) > MAX_PASSWORD_CHARS or not check_password(password, row.password_hash):
            return None
        return Principal(row.name, Role(row.role))

    # --- API keys --------------------------------------------------------------------------

    def create_api_key(self, name: str, *, actor: str = "system") -> str:
        """A new key for ``name``, returned in clear this once."""
        return self.issue_api_key(name, actor=actor)[1]

    def issue_api_key(self, name: str, *, actor: str = "system") -> tuple[ApiKeyInfo, str]:
        with self.engine.begin() as conn:
            user = self._user_row(conn, name)
            return self._issue_key(conn, user.id, name, actor)

    def _issue_key(
        self, conn: Connection, user_id: int, name: str, actor: str
    ) -> tuple[ApiKeyInfo, str]:
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        key_id = inserted_id(
            conn.execute(
                insert(api_keys).values(
                    user_id=user_id,
                    prefix=key[:PREFIX_SHOWN],
                    key_hash=sha256_hex(key),
                    created_at=now,
                )
            )
        )
        info = ApiKeyInfo(key_id, name, key[:PREFIX_SHOWN], now, None)
        self.audit.record(actor, "key.issue", f"key:{key_id}", None, info.as_dict(), conn=conn)
        return info, key

    def authenticate_key(self, key: str) -> Principal | None:
        """The owner of ``key`` if it is a live key, else None. The lookup is by hash, so the
        database never compares the secret itself."""
        if not key.startswith(KEY_PREFIX) or len(key) > 200:
            return None
        query = (
            select(users.c.name, users.c.role)
            .select_from(api_keys.join(users, api_keys.c.user_id == users.c.id))
            .where(api_keys.c.key_hash == sha256_hex(key), api_keys.c.revoked_at.is_(None))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else Principal(row.name, Role(row.role))

    def list_api_keys(self, name: str | None = None) -> list[ApiKeyInfo]:
        query = (
            select(api_keys, users.c.name)
            .select_from(api_keys.join(users, api_keys.c.user_id == users.c.id))
            .order_by(api_keys.c.id)
        )
        if name is not None:
            query = query.where(users.c.name == name)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_key_info(r) for r in rows]

    def revoke_api_key(self, key_id: int, *, actor: str = "system") -> ApiKeyInfo:
        """Revoke key ``key_id`` (idempotent: revoking twice keeps the first time)."""
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    select(api_keys, users.c.name)
                    .select_from(api_keys.join(users, api_keys.c.user_id == users.c.id))
                    .where(api_keys.c.id == key_id)
                )
                .mappings()
                .first()
            )
            if row is None:
                raise UnknownKey(f"no API key with id {key_id}")
            before = _key_info(row)
            if before.revoked_at is not None:
                return before
            now = datetime.now(UTC)
            conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=now))
            after = ApiKeyInfo(before.id, before.user, before.prefix, before.created_at, now)
            self.audit.record(
                actor, "key.revoke", f"key:{key_id}", before.as_dict(), after.as_dict(), conn=conn
            )
        return after

    # --- sessions --------------------------------------------------------------------------

    def login(self, name: str, password: str) -> tuple[Principal, str] | None:
        """Check the password and open a session; audited whether it succeeds or not."""
        principal = self.verify_password(name, password)
        if principal is None:
            self.audit.record(name, "login.failed", f"user:{name}")
            return None
        return principal, self.open_session(principal)

    def open_session(self, principal: Principal) -> str:
        """A new session for ``principal``; returns the token for the cookie."""
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            user = self._user_row(conn, principal.name)
            # Expired sessions are cleared here, so the table cannot grow without bound.
            conn.execute(delete(sessions).where(sessions.c.expires_at < now))
            conn.execute(
                insert(sessions).values(
                    token_hash=sha256_hex(token),
                    user_id=user.id,
                    created_at=now,
                    expires_at=now + self.session_lifetime,
                )
            )
            self.audit.record(principal.name, "login", f"user:{principal.name}", conn=conn)
        return token

    def session_principal(self, token: str) -> Principal | None:
        """Who holds session ``token`` (with the role the user has now), or None when the
        session is unknown, closed or expired."""
        if not token or len(token) > 200:
            return None
        query = (
            select(users.c.name, users.c.role, sessions.c.expires_at)
            .select_from(sessions.join(users, sessions.c.user_id == users.c.id))
            .where(sessions.c.token_hash == sha256_hex(token))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or as_utc(row.expires_at) <= datetime.now(UTC):
            return None
        return Principal(row.name, Role(row.role))

    def close_session(self, token: str) -> None:
        with self.engine.begin() as conn:
            closed = conn.execute(
                delete(sessions)
                .where(sessions.c.token_hash == sha256_hex(token))
                .returning(sessions.c.user_id)
            ).first()
            if closed is not None:
                name = conn.execute(
                    select(users.c.name).where(users.c.id == closed.user_id)
                ).scalar_one()
                self.audit.record(name, "logout", f"user:{name}", conn=conn)

    # --- CSRF ------------------------------------------------------------------------------

    def csrf_token(self, session_token: str) -> str:
        """The CSRF token that forms of session ``session_token`` must carry."""
        return csrf_token_for(self.server_secret("csrf"), session_token)

    def check_csrf(self, session_token: str, token: str) -> bool:
        return bool(session_token) and hmac.compare_digest(
            self.csrf_token(session_token).encode(), token.encode()
        )

    def server_secret(self, name: str) -> bytes:
        """A 32-byte random secret kept in the database: made by whichever process needs it
        first, then shared by every process on this database."""
        if name in self._secrets:
            return self._secrets[name]
        query = select(server_secrets.c.value).where(server_secrets.c.name == name)
        with self.engine.connect() as conn:
            value = conn.execute(query).scalar_one_or_none()
        if value is None:
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(server_secrets).values(name=name, value=secrets.token_bytes(32))
                    )
            except IntegrityError:
                pass  # another process made it first: use theirs
            with self.engine.connect() as conn:
                value = conn.execute(query).scalar_one()
        self._secrets[name] = bytes(value)
        return self._secrets[name]

    # --- helpers ---------------------------------------------------------------------------

    def _user_row(self, conn: Connection, name: str) -> User:
        row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
        if row is None:
            raise UnknownUser(f"no user named {name!r}")
        return _user(row)

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = _dummy_hash()
        return self._dummy


def parse_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role if r is not Role.ANONYMOUS)
        raise InvalidAccountInput(f"unknown role {role!r} (choose {choices})") from None


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name) or name == ANONYMOUS.name:
        raise InvalidAccountInput(
            f"invalid user name {name!r}: 1-64 letters, digits, Chinese characters or _.@-"
            " ('anonymous' is reserved)"
        )


def check_new_password(password: str | None) -> str:
    if password is None or not (MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS):
        raise InvalidAccountInput(
            f"a password needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
        )
    return password


def _user(row: Any) -> User:
    return User(
        id=int(row["id"]),
        name=row["name"],
        role=Role(row["role"]),
        has_password=row["password_hash"] is not None,
        created_at=as_utc(row["created_at"]),
    )


def _key_info(row: Any) -> ApiKeyInfo:
    revoked = row["revoked_at"]
    return ApiKeyInfo(
        id=int(row["id"]),
        user=row["name"],
        prefix=row["prefix"],
        created_at=as_utc(row["created_at"]),
        revoked_at=as_utc(revoked) if revoked is not None else None,
    )
