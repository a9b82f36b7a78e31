"""Who is calling, and may they? FastAPI dependencies over `gongkai.accounts`.

Roles: ``Role.ANONYMOUS < Role.LIBRARIAN < Role.ADMIN``. A route that writes declares::

    principal: Annotated[Principal, Depends(require_role(Role.LIBRARIAN))]

and a page that only changes what it shows declares
``principal: Annotated[Principal, Depends(current_principal)]`` (anonymous when no credentials).

Credentials, checked in this order:
1. ``Authorization: Bearer <api key>`` or ``X-API-Key: <api key>`` (scripts, the CLI, tests);
2. the web session cookie ``gongkai_session`` (`SESSION_COOKIE`).
Missing credentials on a protected route -> 401 with ``WWW-Authenticate: Bearer``; a wrong key
or an unknown/expired session -> 401; a known caller whose role is too low -> 403. All are
problem+json.

How a web route logs a user in (the web UI builds on this)::

    accounts = get_accounts(request)                      # or Depends(get_accounts)
    opened = await run_in_threadpool(accounts.login, name, password)   # scrypt: 0.1-0.5 s
    if opened is None: ... show 用户名或密码错误 (status 401) ...
    principal, token = opened
    set_session_cookie(response, token, request.app.state.settings)
    # logout: accounts.close_session(token); clear_session_cookie(response, settings)

``accounts.login`` checks the password, opens a server-side session (random token, stored as a
hash, expires after ``Settings.session_lifetime_s``) and writes the audit entry; the JSON
endpoint ``POST /auth/login`` does the same.

CSRF: the token is derived from the session, ``csrf_token(request, session_token)`` =
HMAC-SHA256(server secret, session token). The server secret is random, generated on first use
and kept in the database (table ``server_secrets``), never a built-in default. Put it in every
form as the hidden field ``csrf_token`` (`CSRF_FIELD`) or, from JavaScript, in the header
``X-CSRF-Token`` (`CSRF_HEADER`); check it with ``check_csrf(request, session_token, token)``.
`require_role` itself enforces this: a POST/PUT/PATCH/DELETE authenticated by the session
cookie (not by an API key) without a valid token gets 403, so forms must carry the field. The
cookie is HttpOnly and SameSite=Lax (cross-site POSTs do not carry it) and Secure when
``Settings.cookie_secure`` is on (set it behind HTTPS).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from gongkai.accounts import ANONYMOUS, AccountStore, Principal, Role
from gongkai.settings import Settings

__all__ = [
    "ANONYMOUS",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Principal",
    "Role",
    "check_csrf",
    "clear_session_cookie",
    "csrf_token",
    "current_principal",
    "get_accounts",
    "require_role",
    "set_session_cookie",
]

SESSION_COOKIE = "gongkai_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="gongkai"'}
# Guards only the lazy creation of each app's AccountStore; holds no data itself.
_INIT_LOCK = threading.Lock()

# Declared as security schemes so the OpenAPI document (and schemathesis) knows them;
# auto_error=False because a missing credential is decided below (anonymous or 401).
bearer_scheme = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer gk_…`")
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")
cookie_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Web session")


def get_accounts(request: Request) -> AccountStore:
    """The app's account store, made on first use (its tables are created then), so an app
    that is only searched never touches the accounts tables."""
    store = getattr(request.app.state, "accounts", None)
    if store is None:
        with _INIT_LOCK:  # two first requests must not both create the tables
            store = getattr(request.app.state, "accounts", None)
            if store is None:
                settings: Settings = request.app.state.settings
                store = AccountStore(
                    request.app.state.database, session_lifetime=settings.session_lifetime
                )
                request.app.state.accounts = store
    assert isinstance(store, AccountStore)
    return store


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers=CHALLENGE)


async def current_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
    session: Annotated[str | None, Depends(cookie_scheme)],
) -> Principal:
    """The caller: the owner of the API key, or of the session cookie, else anonymous.
    A key that is given but wrong is a 401 (a typo must not silently downgrade a script);
    an expired session cookie just means anonymous (the page offers the login)."""
    key = bearer.credentials if bearer is not None else api_key
    if bearer is None and "authorization" in request.headers and api_key is None:
        raise unauthorized("the Authorization header must be 'Bearer <API key>'")
    if key:
        # Accounts are opened lazily, which creates tables: keep it off the event loop.
        accounts = await run_in_threadpool(get_accounts, request)
        principal = await run_in_threadpool(accounts.authenticate_key, key)
        if principal is None:
            raise unauthorized("invalid or revoked API key")
        request.state.auth_method = "key"
        return principal
    if session:
        accounts = await run_in_threadpool(get_accounts, request)
        principal = await run_in_threadpool(accounts.session_principal, session)
        if principal is not None:
            request.state.auth_method = "session"
            request.state.session_token = session
            return principal
    request.state.auth_method = None
    return ANONYMOUS


def require_role(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that returns the caller when it holds ``role`` or higher; 401 when no
    valid credentials were given, 403 when the role is too low or the CSRF token is missing
    on a cookie-authenticated write."""

    async def dependency(
        request: Request,
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        if principal.role >= role:
            if (
                role > Role.ANONYMOUS
                and request.state.auth_method == "session"
                and request.method in UNSAFE_METHODS
            ):
                await _check_request_csrf(request)
            return principal
        if not principal.is_authenticated:
            if request.cookies.get(SESSION_COOKIE):
                raise unauthorized("the session has expired or was closed: log in again")
            raise unauthorized(f"this needs the {role.value} role: send an API key or log in")
        raise HTTPException(
            status_code=403,
            detail=f"{principal.name} has the {principal.role.value} role; this needs {role.value}",
        )

    dependency.__name__ = f"require_{role.value}"
    return dependency


async def _check_request_csrf(request: Request) -> None:
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        # Starlette caches the parsed form on the request, so the route can still read it.
        value = (await request.form()).get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    session_token: str = request.state.session_token
    accounts = await run_in_threadpool(get_accounts, request)
    if token is None or not await run_in_threadpool(accounts.check_csrf, session_token, token):
        raise HTTPException(
            status_code=403,
            detail=f"missing or wrong CSRF token (form field {CSRF_FIELD} or header {CSRF_HEADER})",
        )


def csrf_token(request: Request, session_token: str) -> str:
    """The CSRF token for forms of session ``session_token`` (stable for the session)."""
    return get_accounts(request).csrf_token(session_token)


def check_csrf(request: Request, session_token: str, token: str) -> bool:
    return get_accounts(request).check_csrf(session_token, token)


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=settings.cookie_secure, path="/"
    )
