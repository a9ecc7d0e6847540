"""The contract every registered chapter keeps (mammorepro.chapters.CHAPTERS), and the layering
that lets a sixth paper be added without touching the others: report/ reads JSON and imports no
chapter, data/ imports nothing above it, and no module imports a module that imports it back."""

import ast
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest import REPO
from mammorepro import chapters, config
from mammorepro.notebooks import NOTEBOOKS, READERS, notebook_parameters

PACKAGE = REPO / "mammorepro"


@pytest.mark.parametrize("chapter", chapters.CHAPTERS, ids=lambda c: c.notebook)
def test_chapter_keeps_the_contract(chapter):
    module = chapter.load()
    # a notebook pair, one parameters cell of flat scalars naming every profile setting it lets a user change
    for suffix in (".py", ".ipynb"):
        assert (REPO / "notebooks" / f"{chapter.notebook}{suffix}").is_file()
    params = notebook_parameters(chapter.notebook)
    assert params.get("profile", "default") == "default" and all(v is None or isinstance(v, (bool, int, float, str)) for v in params.values())
    assert set(module.PROFILES) == set(config.PROFILES) and callable(module.configure)
    # the page: listed in the table of contents under the registry's title, ends with its deviations
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    entries = {e["file"]: e.get("title") for part in toc["parts"] for e in part["chapters"]}
    assert entries.get(f"book/executed/{chapter.notebook}") == chapter.title
    nb = nbformat.read(REPO / "notebooks" / f"{chapter.notebook}.ipynb", as_version=4)
    headings = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines() if line.startswith("## ")]
    assert headings and headings[-1].lower().startswith("## deviations"), f"{chapter.notebook} must end with a 'Deviations' section"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "notebooks/ holds sources without outputs"
    if chapter.writes:
        assert module.PAPER == chapter.writes and chapter.notebook not in READERS
    else:
        assert chapter.notebook in READERS
    if chapter.has_claims:  # a paper: its numbers as data and its claims computed from result files
        assert module.REPORTED and chapter in chapters.papers()


def test_registry_is_the_only_list_of_notebooks():
    assert list(NOTEBOOKS) == [c.notebook for c in chapters.CHAPTERS]
    on_disk = {p.stem for p in (REPO / "notebooks").glob("*.py")}
    assert on_disk == set(NOTEBOOKS), "a notebook that is not registered (or a registered one that is missing)"


def _imports(path: Path) -> set[str]:
    """The mammorepro modules a file imports (at any depth, lazy imports included)."""
    name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            base = node.module if node.level == 0 else ".".join(name.split(".")[: -node.level] + [node.module])
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    modules = {m for m in out if m.startswith("mammorepro")}
    return {m for m in modules if _is_module(m)}


def _is_module(name: str) -> bool:
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


GRAPH = {".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): _imports(p) for p in PACKAGE.rglob("*.py")}


def test_report_reads_json_and_imports_no_chapter():
    for module, imported in GRAPH.items():
        if module.startswith("mammorepro.report"):
            assert not {m for m in imported if m.startswith("mammorepro.papers") or m in ("mammorepro.tour", "mammorepro.data_tour", "mammorepro.chapters")}, module


def test_data_imports_nothing_above_it():
    allowed = ("mammorepro.data", "mammorepro.errors", "mammorepro.files", "mammorepro.preprocess")
    for module, imported in GRAPH.items():
        if module.startswith("mammorepro.data."):
            above = sorted(m for m in imported if not m.startswith(allowed) and m != "mammorepro")  # the package itself: __version__
            assert not above, (module, above)


def test_no_import_cycle_between_subpackages():
    """Packages (data, metrics, post, report, papers, ...) form a directed acyclic graph."""

    def package(m: str) -> str:
        parts = m.split(".")
        return ".".join(parts[:2])

    edges = {}
    for module, imported in GRAPH.items():
        for m in imported:
            a, b = package(module), package(m)
            if a != b and a != "mammorepro" and b != "mammorepro":
                edges.setdefault(a, set()).add(b)
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in edges.get(node, ()):
            if state.get(nxt) == "open":
                raise AssertionError("import cycle: " + " -> ".join([*path, node, nxt]))
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = "done"

    for node in list(edges):
        if node not in state:
            visit(node, [])
