"""The built book checked as a reader meets it: every page opened, every image and internal link
followed, every cell output searched for a Python traceback; screenshots at 1280 px when a
headless Chromium is on the machine.

``python -m mammorepro check-book [_build/html] [--screenshots DIR]`` prints one line per
problem (exit 1 when any). The link and image checks parse the HTML files themselves, so they
run anywhere; screenshots need ``chromium``, ``chromium-browser`` or ``google-chrome`` on the
PATH (or ``$CHROMIUM``), and say so in one line where there is none.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mammorepro.errors import ConfigError

TRACEBACK = "Traceback (most recent call last)"
SCREENSHOT_WIDTH = 1280


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.targets: list[tuple[str, str]] = []  # (tag, url)
        self.ids: set[str] = set()
        self.text: list[str] = []
        self._output_depth = 0
        self.output_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "img" and a.get("src"):
            self.targets.append(("img", a["src"]))
        if tag == "a" and a.get("href"):
            self.targets.append(("a", a["href"]))
        classes = (a.get("class") or "").split()
        if self._output_depth or any(c in ("cell_output", "output") for c in classes):
            self._output_depth += 1

    def handle_endtag(self, tag):
        if self._output_depth:
            self._output_depth -= 1

    def handle_data(self, data):
        if self._output_depth:
            self.output_text.append(data)


def _local(url: str) -> str | None:
    """The path part of an internal URL, or None for an external / in-page / data URL."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith(("#", "mailto:", "javascript:", "data:")):
        return None
    return unquote(parts.path) or None


def check_site(html_dir: str | Path) -> list[str]:
    """Every problem of a built site, one line each: an image or internal link whose file does not
    exist, and a cell output that holds a Python traceback."""
    root = Path(html_dir)
    if not (root / "index.html").is_file():
        raise ConfigError(f"{root} has no index.html: build the book first (`make book`, or jupyter-book build .)")
    problems = []
    for page in sorted(root.rglob("*.html")):
        if "_static" in page.relative_to(root).parts or "_sources" in page.relative_to(root).parts:
            continue
        parser = _Page()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        rel = page.relative_to(root).as_posix()
        for tag, url in parser.targets:
            path = _local(url)
            if path is None:
                continue
            target = (root / path.lstrip("/")) if path.startswith("/") else (page.parent / path)
            if not target.exists():
                problems.append(f"{rel}: broken {'image' if tag == 'img' else 'link'} {url}")
        if TRACEBACK in "".join(parser.output_text):
            problems.append(f"{rel}: a cell output holds a Python traceback")
    return problems


def chromium() -> str | None:
    """The headless Chromium to take screenshots with, or None."""
    explicit = os.environ.get("CHROMIUM")
    if explicit and Path(explicit).is_file():
        return explicit
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")) if p), None)


def screenshots(html_dir: str | Path, out_dir: str | Path, pages: list[str] | None = None, width: int = SCREENSHOT_WIDTH) -> list[Path]:
    """PNG screenshots of ``pages`` (paths under the site; default every page) at ``width`` px."""
    browser = chromium()
    if browser is None:
        raise ConfigError("no headless Chromium on this machine (chromium, chromium-browser or google-chrome, or $CHROMIUM): install one to take screenshots; the link and image checks ran without it")
    root, out = Path(html_dir).resolve(), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for rel in pages or [p.relative_to(root).as_posix() for p in sorted(root.rglob("*.html")) if "_static" not in p.parts]:
        png = out / (rel.replace("/", "__").removesuffix(".html") + ".png")
        subprocess.run(
            [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={width},2400", f"--screenshot={png}", (root / rel).as_uri()],
            check=True,
            capture_output=True,
            timeout=120,
        )
        made.append(png)
    return made
