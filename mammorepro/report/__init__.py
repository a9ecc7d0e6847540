"""Reporting: result folders with provenance, and tables for the book."""

from mammorepro.files import atomic_write_text, file_sha256, write_json
from mammorepro.report.results import RunLock, RunRecorder, commit_label, environment, read_env

__all__ = ["RunLock", "RunRecorder", "atomic_write_text", "environment", "file_sha256", "read_env", "commit_label", "write_json"]
