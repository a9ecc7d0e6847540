"""Shared fixtures. Tests never read ../shared: real-format samples are in tests/fixtures."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"


def drop_checkpoints(results_root: Path) -> None:
    """Remove a finished run's resume checkpoints (results/.checkpoints): no test reads them after
    the run, and p3's VGG19 ones alone are over 1 GB per smoke book."""
    shutil.rmtree(Path(results_root) / ".checkpoints", ignore_errors=True)


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory):
    """Every notebook executed once with the smoke profile; results under a tmp results/."""
    from mammorepro.notebooks import NOTEBOOKS, execute, notebook_parameters

    base = tmp_path_factory.mktemp("book")
    results = base / "results"
    wanted = {"profile": "smoke", "results_root": str(results)}
    executed = {}
    for name in NOTEBOOKS:  # each notebook gets the ones it takes, as `run --all` passes them
        own = {k: v for k, v in wanted.items() if k in notebook_parameters(name)}
        executed[name] = execute(name, own, output_dir=base / "executed")
        drop_checkpoints(results)
    return {"executed": executed, "results": results}


@pytest.fixture(scope="session")
def smoke_tour(smoke_book):
    """The tour notebook's smoke run."""
    results = smoke_book["results"]
    return {"notebook": smoke_book["executed"]["00_tour"], "results": results, "run": results / "tour" / "phantom" / "smoke"}
