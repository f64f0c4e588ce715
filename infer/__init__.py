"""Chunked inference and the restore chain: arrives with issue 4."""
