"""What every page's frame needs: its title, the signed-in librarian and their CSRF token."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from search_api.auth import Principal, Role, csrf_token


def signed_in(principal: Principal) -> bool:
    """Whether the page shows the librarian's tools (the public sees none of them)."""
    return principal.is_authenticated and principal.role >= Role.LIBRARIAN


def page_context(request: Request, principal: Principal, title: str) -> dict[str, Any]:
    session = getattr(request.state, "session_token", None)
    editor = signed_in(principal)
    return {
        "page_title": title,
        "feed_url": None,
        "feed_title": "订阅此搜索（Atom）",
        "user": principal if editor else None,
        # Forms carry it; a caller with an API key instead of the cookie needs none.
        "csrf_token": csrf_token(request, session) if editor and session else "",
    }
