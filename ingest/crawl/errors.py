"""The crawler's errors: what a user can act on (a bad profile, an unknown target)."""

from __future__ import annotations

from gongkai.errors import GongkaiError


class CrawlError(GongkaiError):
    """Base of the crawler's errors."""


class ProfileError(CrawlError):
    """A site profile that cannot be found, read or validated."""


class UnknownTarget(ProfileError):
    """Neither a profile name, a profile file nor an http(s) URL."""
