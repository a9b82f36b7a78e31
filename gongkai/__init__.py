"""Gongkai: full-text search and topic compilation for Chinese government information.

This package holds what every stage shares: the `Document` record, settings and errors.
The stages themselves are the top-level packages `ingest`, `analysis`, `engines`,
`mappings`, `compilations` and `search_api`.
"""

__version__ = "0.1.0"
