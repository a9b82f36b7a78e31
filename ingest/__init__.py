"""ingest: sources -> `Document`s. Files and folders through `ingest.manager.read_sources`."""
