"""Exports of query results and compilations: booklets (DOCX, PDF), datasets (CSV, JSONL,
XLSX) and citations (RIS, BibTeX, GB/T 7714-2015). Formats are chosen by name through
`compilations.export.writer.FORMATS`."""
