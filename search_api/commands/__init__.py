"""CLI command groups beyond the core ones in `search_api.cli`, one Typer app per module."""

from __future__ import annotations

import typer

from gongkai.settings import Settings


def settings_from(ctx: typer.Context) -> Settings:
    """The settings the root command built from options and environment (``ctx.obj``)."""
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings
