"""URL normalisation: one spelling per page, so the frontier never holds a page twice.

Rules (cf. RFC 3986 section 6 and w3lib's ``canonicalize_url``): resolve against the base,
lower-case scheme and host, drop the default port, the fragment and tracking parameters, remove
dot segments, percent-encode non-ASCII (UTF-8) and upper-case escapes, sort query parameters.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

_TRACKING = re.compile(r"^(?:utm_\w+|spm|share_token|wxshare_\w+)$", re.I)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters left unescaped in paths and queries (RFC 3986 reserved + unreserved + '%').
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = "=&/:@!$'()*+,;?-._~%"
_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def normalize_url(url: str, base: str | None = None) -> str | None:
    """The canonical form of ``url`` (relative to ``base``), or None when it is not an http(s)
    page URL (``javascript:``, ``mailto:``, malformed)."""
    url = url.strip().replace("\\", "/")
    if not url or url.startswith("#"):
        return None
    try:
        if base:
            url = urljoin(base, url)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            return None
        host = parts.hostname.encode("idna").decode("ascii").lower().rstrip(".")
        port = parts.port
    except (ValueError, UnicodeError):
        return None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _normalize_path(parts.path)
    query = _normalize_query(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def host_of(url: str) -> str:
    """``'www.gov.cn'`` (with ``:port`` when not the default) of a normalised URL."""
    return urlsplit(url).netloc


def host_allowed(host: str, patterns: list[str]) -> bool:
    """True when ``host`` (without port) matches a pattern: ``www.gov.cn``, ``*.gov.cn``."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return any(fnmatch.fnmatchcase(host, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def _normalize_path(path: str) -> str:
    if not path:
        return "/"
    trailing = path.endswith("/")
    resolved = posixpath.normpath(path)
    if resolved.startswith("//"):  # normpath keeps a leading '//' (POSIX)
        resolved = "/" + resolved.lstrip("/")
    if trailing and resolved != "/":
        resolved += "/"
    return quote(_decode_unreserved(resolved), safe=_PATH_SAFE)


def _normalize_query(query: str) -> str:
    if not query:
        return ""
    pairs = [
        (key, value)
        for key, value in parse_qsl(query, keep_blank_values=True)
        if not _TRACKING.match(key)
    ]
    pairs.sort()
    return urlencode(pairs, quote_via=quote, safe=_QUERY_SAFE.replace("&", "").replace("=", ""))


def _decode_unreserved(text: str) -> str:
    # %41 -> A (same resource, one spelling); other escapes are upper-cased; raw non-ASCII is
    # escaped afterwards by `quote`.
    def fix(match: re.Match[str]) -> str:
        char = unquote(match.group(0))
        return char if char in _UNRESERVED else match.group(0).upper()

    return _ESCAPE.sub(fix, text)
