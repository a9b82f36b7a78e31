"""Engine failures on a page answer with a page (in Chinese), not with problem+json."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from engines.base import EngineError, EngineUnavailable
from search_api.web.render import render


class PageRoute(APIRoute):
    """A page route: a search engine that is down or failing shows an HTML error page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except EngineError as exc:
                status = 503 if isinstance(exc, EngineUnavailable) else 502
                context = {
                    "page_title": "检索服务暂时不可用",
                    "feed_url": None,
                    "feed_title": "",
                    "user": None,
                    "csrf_token": "",
                    "detail": str(exc),
                }
                return render("unavailable.html", context, status_code=status)

        return guarded
