"""ingest/support."""
