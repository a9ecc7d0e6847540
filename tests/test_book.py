"""The Jupyter Book builds offline with warnings as errors from the smoke-executed notebooks, and
the built site passes the reader's check (images, links, no traceback; screenshots where a
headless Chromium exists)."""

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
    from mammorepro.report.site_check import check_site

    assert check_site(html) == []  # every image and internal link resolves, no traceback in any output
    assert (html / "result-files" / "p1" / "phantom" / "default" / "metrics.json").is_file()  # result files served beside the pages
    claims_page = (html / "book" / "executed" / "claims.html").read_text()
    assert "mechanism shown on the phantom" in claims_page and "forest" in claims_page.lower()


def test_the_site_check_finds_broken_images_links_and_tracebacks(tmp_path):
    from mammorepro.report.site_check import check_site

    (tmp_path / "index.html").write_text('<a href="page.html">ok</a><a href="https://example.org">out</a><a href="#top">in</a>')
    (tmp_path / "page.html").write_text(
        '<img src="missing.png"><a href="gone.html#x">x</a><div class="cell_output"><pre>Traceback (most recent call last):\n  ...</pre></div>'
    )
    found = check_site(tmp_path)
    assert found == ["page.html: broken image missing.png", "page.html: broken link gone.html#x", "page.html: a cell output holds a Python traceback"]


def test_screenshots_need_a_browser_and_say_so(tmp_path, monkeypatch):
    from mammorepro.errors import ConfigError
    from mammorepro.report import site_check

    (tmp_path / "index.html").write_text("<p>x</p>")
    if site_check.chromium() is None:
        with pytest.raises(ConfigError, match="no headless Chromium"):
            site_check.screenshots(tmp_path, tmp_path / "shots")
        pytest.skip("no headless Chromium on this machine: screenshots untested here (the link and image checks run without it)")
    made = site_check.screenshots(tmp_path, tmp_path / "shots", ["index.html"])
    assert made and made[0].stat().st_size > 0
