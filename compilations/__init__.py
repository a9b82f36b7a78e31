"""Compilations: topic discovery, curated compilations and exports (see issue 6; not built yet)."""
