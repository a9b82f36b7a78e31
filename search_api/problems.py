"""Errors as RFC 9457 problem+json responses: a title and detail, never a stack trace."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from engines.base import EngineError, EngineUnavailable
from gongkai.errors import GongkaiError

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int, title: str, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


async def gongkai_error_handler(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, EngineUnavailable):
        return problem(503, "Search engine unavailable", str(exc))
    if isinstance(exc, EngineError):
        return problem(502, "Search engine error", str(exc))
    if isinstance(exc, GongkaiError):
        return problem(400, "Bad request", str(exc))
    return problem(500, "Internal error", "an unexpected error occurred")


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    # Headers such as WWW-Authenticate (401) and Retry-After (429) go out with the problem.
    return problem(
        exc.status_code, _TITLES.get(exc.status_code, "Error"), str(exc.detail), exc.headers
    )


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()
    )
    return problem(422, "Invalid request", details)


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Request too large",
    429: "Too many requests",
}


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GongkaiError, gongkai_error_handler)
    app.add_exception_handler(HTTPException, http_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
