"""Every chapter runs on a real dataset's layout: each notebook that writes results is executed
with ``-p dataset mias`` on a tiny mini-MIAS-format tree (phantom cases written as PGMs and an
Info.txt), as a user runs it on their copy. Before, the tour failed on a real dataset (its
figures read phantom-only attributes)."""

import json

import pytest
from conftest import drop_checkpoints

from mammorepro import chapters
from mammorepro.data import mias
from mammorepro.data.phantom import PhantomConfig
from mammorepro.metrics import validate_result

from mammorepro.notebooks import notebook_parameters  # noqa: E402

# the chapters a user points at their own data (the data page shows every format at once)
WRITERS = [c for c in chapters.CHAPTERS if c.writes and "dataset" in notebook_parameters(c.notebook)]


@pytest.fixture(scope="module")
def mias_book(tmp_path_factory):
    base = tmp_path_factory.mktemp("mias-book")
    root = mias.write_phantom(base / "mias", n=16, seed=5, config=PhantomConfig(height=256, width=128))
    return {"root": root, "base": base, "results": base / "results"}


@pytest.mark.notebook
@pytest.mark.parametrize("chapter", WRITERS, ids=lambda c: c.notebook)
def test_chapter_runs_on_a_mini_mias_layout(chapter, mias_book, monkeypatch):
    from mammorepro.notebooks import execute

    monkeypatch.setenv("MAMMOREPRO_CACHE", str(mias_book["base"] / "cache"))  # the kernel inherits it
    wanted = {"profile": "smoke", "dataset": "mias", "data_root": str(mias_book["root"]), "results_root": str(mias_book["results"])}
    params = {k: v for k, v in wanted.items() if k in notebook_parameters(chapter.notebook)}
    execute(chapter.notebook, params, output_dir=mias_book["base"] / "executed")
    drop_checkpoints(mias_book["results"])
    folder = mias_book["results"] / chapter.writes / "mias" / "smoke"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["dataset"] == "mias"
    for name in ("metrics.json", "claims.json"):
        if (folder / name).is_file():
            assert validate_result(json.loads((folder / name).read_text())) == []
