"""The Jupyter Book builds offline with warnings as errors, from the smoke-executed tour."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO


@pytest.mark.book
def test_book_builds_without_warnings(smoke_book, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(REPO / name, site / name)
    shutil.copytree(REPO / "book", site / "book", ignore=shutil.ignore_patterns("executed", "_build"))
    (site / "book" / "executed").mkdir()
    for name, path in smoke_book["executed"].items():
        shutil.copy(path, site / "book" / "executed" / f"{name}.ipynb")
    jb = Path(sys.executable).parent / "jupyter-book"
    res = subprocess.run(
        [str(jb), "build", str(site), "--warningiserror", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    html = site / "_build" / "html"
    assert (html / "index.html").is_file()
    tour = (html / "book" / "executed" / "00_tour.html").read_text()
    assert "dice_per_image" in tour and "all-background" in tour  # the executed table is rendered
