"""Notebook sources are clean and thin; the tour runs end to end with the smoke profile and its
recorded metrics hold what must hold on any CPU."""

import ast
import json
import math

import nbformat
import pytest

from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_source_notebook_is_clean_and_thin(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not any(c.get("outputs") or c.get("execution_count") for c in code), "outputs committed"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    tree = ast.parse(params[0].source)
    for node in tree.body:  # flat scalars only
        assert isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant), ast.dump(node)
    for c in code:
        source = "\n".join(line for line in c.source.splitlines() if not line.lstrip().startswith("%"))  # magics
        for node in ast.walk(ast.parse(source)):
            assert not isinstance(node, (ast.FunctionDef, ast.ClassDef)), "logic belongs in mammorepro/"
            if isinstance(node, ast.ImportFrom):
                assert all(a.name != "*" for a in node.names), "no star imports"
    assert any("Deviations" in c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_and_script_are_paired(path):
    import jupytext

    script = path.with_suffix(".py")
    assert script.is_file(), f"{script.name} missing: run jupytext --sync {path}"
    a = [(c.cell_type, c.source.strip()) for c in nbformat.read(path, as_version=4).cells]
    b = [(c.cell_type, c.source.strip()) for c in jupytext.read(script).cells]
    assert a == b, f"{path.name} and {script.name} differ: run jupytext --sync"


@pytest.mark.notebook
def test_tour_smoke_writes_results_with_provenance(smoke_tour):
    run = smoke_tour["run"]
    for name in ("config.json", "metrics.json", "per_case.csv", "env.json"):
        assert (run / name).is_file(), name
    assert {p.name for p in (run / "figures").iterdir()} >= {"cases.png", "preprocessing.png", "history.png", "predictions.png"}
    metrics = json.loads((run / "metrics.json").read_text())
    split = smoke_tour["results"] / "splits" / metrics["split_file"]
    from mammorepro.report import file_sha256

    assert metrics["split_sha256"] == file_sha256(split)
    env = json.loads((run / "env.json").read_text())
    assert env["git"]["commit"] is None or len(env["git"]["commit"]) == 40
    executed = nbformat.read(smoke_tour["notebook"], as_version=4)
    assert any(o.get("output_type") == "display_data" for c in executed.cells for o in c.get("outputs", []))
    tags = [c.metadata.get("tags", []) for c in executed.cells if c.cell_type == "code"]
    assert all("hide-cell" in t for t in tags if "parameters" in t or "injected-parameters" in t)  # results first: plumbing folded
    configure = [c.metadata.get("tags", []) for c in executed.cells if c.cell_type == "code" and ".configure(" in c.source]
    assert configure and all("hide-cell" in t for t in configure)  # the resolved config dict is folded too
    assert all(("hide-input" in t) != ("hide-cell" in t) for t in tags)  # every other cell: output shown, code a click away


# What the tour's smoke run must show on every CPU and torch build: the all-background
# prediction's values exactly (they depend only on the phantom and the split), the U-Net's as
# properties. After 2 epochs on 14 images the smoke U-Net's numbers move with the CPU's kernels
# (benchmarks/cpu_code_paths.py measures by how much); tests/test_calibration.py and
# tests/test_determinism.py test learning and reproducibility.
# scored inside each image: the phantom's padding (half of every canvas) adds no true negatives,
# so 1 - pixel accuracy is twice what it was on the whole canvas
EXACT = {"all-background": {"dice_per_image": 0.0, "dice_pooled": 0.0, "iou_pooled": 0.0, "pixel_accuracy": 0.990478515625, "miou_fg_bg": 0.4952392578125}}


@pytest.mark.notebook
def test_tour_smoke_run_properties(smoke_tour):
    from tests_helpers import assert_run_properties

    metrics = json.loads((smoke_tour["run"] / "metrics.json").read_text())
    assert_run_properties(metrics, EXACT)
    assert all(math.isfinite(row[name]) and row[name] > 0 for row in metrics["history"] for name in ("train_loss", "val_loss"))
    assert metrics["epochs_run"] == 2 and metrics["n_test"] == 6 and metrics["n_test_with_lesion"] == 6


@pytest.mark.notebook
def test_data_chapter_reads_every_layout(smoke_book):
    metrics = json.loads((smoke_book["results"] / "data" / "phantom" / "smoke" / "metrics.json").read_text())
    phantom = metrics["phantom"]
    from mammorepro.data.check import LOADERS

    assert set(phantom) == set(LOADERS) == {"cbis-ddsm", "inbreast", "mini-ddsm", "mias", "cdd-cesm"}
    for name, entry in phantom.items():
        assert entry["counts"]["images"] > 0 and entry["counts"]["problems"] == 0, (name, entry["problems"][:3])
    assert metrics["real"]["mias"]["counts"]["images"] == 3 and metrics["real"]["cdd-cesm"]["counts"]["images"] == 2


@pytest.mark.notebook
@pytest.mark.parametrize("name", ["00_tour", "p1_ds_unet_crf", "p2_multires_unet", "p3_two_stage_msf", "p4_model_comparison", "p5_efficientnet_unet", "side_by_side"])
def test_chapter_page_opens_with_its_finding(smoke_book, name):
    """The first markdown cell pastes the glued finding, and the run glued one generated from its
    result folder (the data, which methods learned, the verdicts)."""
    import nbformat

    nb = nbformat.read(smoke_book["executed"][name], as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    assert "{glue:md} finding" in first.source
    glued = [o for c in nb.cells for o in c.get("outputs", []) if o.get("metadata", {}).get("scrapbook", {}).get("name") == "finding"]
    assert len(glued) == 1
    # glued with display=False: the bundle's keys carry myst-nb's "application/papermill.record/" prefix
    text = next(v for k, v in glued[0]["data"].items() if k.endswith("text/markdown"))
    assert text.startswith("**Finding** on phantom (smoke profile") and "learned" in text
