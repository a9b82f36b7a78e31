"""Analysis: tokenisation, highlighting and (later) metadata extraction, dedup and validity."""
