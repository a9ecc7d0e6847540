"""Reporting: result folders with provenance, and tables for the book."""

from mammorepro.report.results import RunRecorder, atomic_write_text, commit_label, environment, file_sha256, read_env, read_metrics, write_json

__all__ = ["RunRecorder", "atomic_write_text", "environment", "file_sha256", "read_env", "read_metrics", "commit_label", "write_json"]
