"""Routes: web login/logout/me, and the admin's users, API keys and audit log.

The handlers are plain ``def`` so FastAPI runs them in its thread pool: password hashing and
database calls then never block the event loop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from gongkai.accounts import (
    MAX_PASSWORD_CHARS,
    AccountError,
    AccountStore,
    ApiKeyInfo,
    InvalidAccountInput,
    UnknownKey,
    UnknownUser,
    User,
    UserExists,
)
from gongkai.settings import Settings
from search_api.auth import (
    CHALLENGE,
    SESSION_COOKIE,
    Principal,
    Role,
    clear_session_cookie,
    current_principal,
    get_accounts,
    require_role,
    set_session_cookie,
)

router = APIRouter()

Accounts = Annotated[AccountStore, Depends(get_accounts)]
Admin = Annotated[Principal, Depends(require_role(Role.ADMIN))]
ASSIGNABLE_ROLES = "librarian or admin (anonymous suspends a user: their keys stop writing)"


class LoginRequest(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_CHARS)


class MeResponse(BaseModel):
    name: str
    role: Role
    authenticated: bool
    csrf_token: str | None = Field(
        default=None, description="For writes authenticated by the session cookie."
    )


class KeyOut(BaseModel):
    id: int
    user: str
    prefix: str = Field(description="The first characters of the key, to tell keys apart.")
    created_at: datetime
    revoked_at: datetime | None


class UserOut(BaseModel):
    name: str
    role: Role
    has_password: bool
    created_at: datetime
    keys: list[KeyOut] = []


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    role: Role = Field(description=ASSIGNABLE_ROLES)
    password: str | None = Field(default=None, max_length=MAX_PASSWORD_CHARS)


class NewKeyOut(BaseModel):
    key: KeyOut
    api_key: str = Field(description="The key itself: shown this once, stored only hashed.")


class NewUserOut(BaseModel):
    user: UserOut
    key: KeyOut
    api_key: str = Field(description="The key itself: shown this once, stored only hashed.")


class RoleChange(BaseModel):
    role: Role = Field(description=ASSIGNABLE_ROLES)


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    next_before_id: int | None = Field(
        description="Pass as before_id for the next (older) page; null at the end."
    )


def user_out(user: User, keys: list[ApiKeyInfo] | None = None) -> UserOut:
    return UserOut(
        name=user.name,
        role=user.role,
        has_password=user.has_password,
        created_at=user.created_at,
        keys=[key_out(k) for k in keys or []],
    )


def key_out(key: ApiKeyInfo) -> KeyOut:
    return KeyOut(
        id=key.id,
        user=key.user,
        prefix=key.prefix,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


def account_problem(exc: AccountError) -> HTTPException:
    if isinstance(exc, UnknownUser | UnknownKey):
        return HTTPException(status_code=404, detail=str(exc))
    if isinstance(exc, UserExists):
        return HTTPException(status_code=409, detail=str(exc))
    if isinstance(exc, InvalidAccountInput):
        return HTTPException(status_code=422, detail=str(exc))
    return HTTPException(status_code=400, detail=str(exc))


def settings_of(request: Request) -> Settings:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


@router.post(
    "/auth/login",
    status_code=204,
    response_class=Response,
    summary="Log in with name and password; sets the session cookie",
    responses={401: {"description": "Wrong name or password"}},
    tags=["auth"],
)
def login(body: LoginRequest, request: Request, accounts: Accounts) -> Response:
    opened = accounts.login(body.name, body.password)
    if opened is None:
        raise HTTPException(status_code=401, detail="wrong name or password", headers=CHALLENGE)
    _principal, token = opened
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        # A fresh token at every login (no session fixation); the old one ends here.
        accounts.close_session(previous)
    response = Response(status_code=204)
    set_session_cookie(response, token, settings_of(request))
    return response


@router.post(
    "/auth/logout",
    status_code=204,
    response_class=Response,
    summary="End the web session",
    tags=["auth"],
)
def logout(request: Request, accounts: Accounts) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.close_session(token)
    response = Response(status_code=204)
    clear_session_cookie(response, settings_of(request))
    return response


@router.get("/auth/me", response_model=MeResponse, summary="Who am I", tags=["auth"])
def me(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    accounts: Accounts,
) -> MeResponse:
    session = getattr(request.state, "session_token", None)
    return MeResponse(
        name=principal.name,
        role=principal.role,
        authenticated=principal.is_authenticated,
        csrf_token=accounts.csrf_token(session) if session else None,
    )


@router.get(
    "/admin/users", response_model=list[UserOut], summary="Users and their keys", tags=["admin"]
)
def list_users(_admin: Admin, accounts: Accounts) -> list[UserOut]:
    keys: dict[str, list[ApiKeyInfo]] = {}
    for key in accounts.list_api_keys():
        keys.setdefault(key.user, []).append(key)
    return [user_out(u, keys.get(u.name)) for u in accounts.list_users()]


@router.post(
    "/admin/users",
    status_code=201,
    response_model=NewUserOut,
    summary="Create a user (returns its first API key, once)",
    tags=["admin"],
)
def create_user(body: NewUser, admin: Admin, accounts: Accounts) -> NewUserOut:
    try:
        user, api_key = accounts.create_user(body.name, body.role, body.password, actor=admin.name)
    except AccountError as exc:
        raise account_problem(exc) from exc
    key = next(k for k in accounts.list_api_keys(user.name) if api_key.startswith(k.prefix))
    return NewUserOut(user=user_out(user, [key]), key=key_out(key), api_key=api_key)


@router.put(
    "/admin/users/{name}/role", response_model=UserOut, summary="Change a role", tags=["admin"]
)
def set_role(name: str, body: RoleChange, admin: Admin, accounts: Accounts) -> UserOut:
    try:
        return user_out(accounts.set_role(name, body.role, actor=admin.name))
    except AccountError as exc:
        raise account_problem(exc) from exc


@router.post(
    "/admin/users/{name}/keys",
    status_code=201,
    response_model=NewKeyOut,
    summary="Issue a new API key (returned once)",
    tags=["admin"],
)
def new_key(name: str, admin: Admin, accounts: Accounts) -> NewKeyOut:
    try:
        info, api_key = accounts.issue_api_key(name, actor=admin.name)
    except AccountError as exc:
        raise account_problem(exc) from exc
    return NewKeyOut(key=key_out(info), api_key=api_key)


@router.delete(
    "/admin/keys/{key_id}",
    status_code=204,
    response_class=Response,
    summary="Revoke an API key",
    tags=["admin"],
)
def revoke_key(key_id: int, admin: Admin, accounts: Accounts) -> Response:
    try:
        accounts.revoke_api_key(key_id, actor=admin.name)
    except AccountError as exc:
        raise account_problem(exc) from exc
    return Response(status_code=204)


@router.get(
    "/admin/audit", response_model=AuditPage, summary="The audit log, newest first", tags=["admin"]
)
def audit(
    _admin: Admin,
    accounts: Accounts,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[
        str | None, Query(max_length=100, description="e.g. key.revoke, or key. for all key.*")
    ] = None,
    target: Annotated[str | None, Query(max_length=500, description="e.g. user:alice")] = None,
    before_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    entries = accounts.audit.entries(
        actor=actor, action=action, target=target, before_id=before_id, limit=limit
    )
    return AuditPage(
        entries=[AuditEntryOut(**e.__dict__) for e in entries],
        next_before_id=entries[-1].id if len(entries) == limit else None,
    )
