"""Shared fixtures. Tests never read ../shared: real-format samples are in tests/fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture(scope="session")
def smoke_tour(tmp_path_factory):
    """The tour notebook executed once with the smoke profile; results under a tmp results/."""
    from mammorepro.notebooks import execute

    base = tmp_path_factory.mktemp("tour")
    results = base / "results"
    out = execute("00_tour", {"profile": "smoke", "results_root": str(results)}, output_dir=base / "executed")
    return {"notebook": out, "results": results, "run": results / "tour" / "smoke"}
