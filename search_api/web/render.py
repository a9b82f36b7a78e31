"""Rendering pages: one autoescaping Jinja2 environment and the security headers every page gets."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

# No inline script or style anywhere: the page's script and stylesheet are static files, so a
# string that slipped past escaping still could not run.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

# The highlighter escapes everything and adds only these tags (analysis.highlight).
_MARK_TAGS = re.compile(r"</?mark>")
_ENTITY = re.compile(r"&(?:[a-zA-Z]+|#[0-9]+|#x[0-9a-fA-F]+);")


def marked(fragment: str) -> Markup:
    """A highlighted fragment as HTML, but only if it is escaped text plus ``<mark>`` tags.

    Titles and snippets come from the search service already escaped; this checks that
    instead of trusting it: anything else (a stray ``<`` or a bare ``&``) is escaped whole,
    so the page shows the tags as text rather than running them.
    """
    bare = _MARK_TAGS.sub("", fragment)
    if "<" in bare or ">" in bare or '"' in bare or "&" in _ENTITY.sub("", bare):
        return escape(fragment)
    return Markup(fragment)


def unmarked(fragment: str) -> str:
    """The plain text of a highlighted fragment (for attributes and accessible names)."""
    return html.unescape(_MARK_TAGS.sub("", fragment))


@lru_cache(maxsize=1)
def environment() -> Environment:
    # Immutable after creation and shared read-only, like a compiled regex.
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["marked"] = marked
    return env


def render(
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The page ``template`` filled with ``context``, with the security headers."""
    body = environment().get_template(template).render(**context)
    return HTMLResponse(
        body, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})}
    )
