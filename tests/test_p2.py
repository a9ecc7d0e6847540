"""p2 (MultiRes U-Net vs U-Net): configuration checks, the smoke notebook's result files and
pinned metrics, and the claims table's all-background column."""

import json

import pytest
from tests_helpers import assert_pinned_run, assert_refused_in_one_line, load_smoke_run

from mammorepro.papers import p2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"n_seeds": 0}, "n_seeds"),
        ({"image_size": 40}, "multiple of 16"),
        ({"augment": "yes"}, "True or False"),
        ({"patience": -1}, "patience"),
    ],
)
def test_bad_parameters_fail_in_one_line_before_any_work(params, message, tmp_path):
    assert_refused_in_one_line(p2.configure, tmp_path, message, **params)


def test_parameter_counts_follow_ibtehaz_and_rahman(tmp_path):
    table = p2.parameter_counts(p2.configure("smoke", results_root=str(tmp_path / "results")))
    paper = table[table["U"] == 32].iloc[0]
    assert paper["MultiRes U-Net"] < paper["U-Net"] and paper["MultiRes / U-Net"] > 0.85
    # alpha scales the MultiRes widths only
    wider = p2.parameter_counts(p2.configure("smoke", results_root=str(tmp_path / "results"), alpha=2.5))
    assert wider["MultiRes U-Net"].iloc[0] > table["MultiRes U-Net"].iloc[0] and wider["U-Net"].iloc[0] == table["U-Net"].iloc[0]


@pytest.fixture(scope="module")
def smoke_p2(smoke_book):
    return load_smoke_run(smoke_book["results"], "p2")


@pytest.mark.notebook
def test_p2_smoke_writes_every_table_and_figure(smoke_p2):
    run, metrics = smoke_p2["run"], smoke_p2["metrics"]
    assert {p.name for p in (run / "figures").iterdir()} >= {"clahe.png", "training.png", "predictions.png"}
    assert set(metrics["methods"]) == {"U-Net", "MultiRes U-Net", "all-background"}
    # every reported number under each candidate definition, with the trivial prediction beside it
    claims = metrics["claims"]
    assert len(claims) == sum(len(p2.CANDIDATE_DEFINITIONS[r["metric"]]) for r in p2.REPORTED)
    by = {(c["method"], c["definition"]): c for c in claims}
    assert by[("U-Net", "pixel_accuracy")]["all-background"] == pytest.approx(metrics["methods"]["all-background"]["pixel_accuracy"], abs=1e-4)
    assert by[("U-Net", "pixel_accuracy")]["trivial reaches reported"] == (by[("U-Net", "pixel_accuracy")]["all-background"] >= 0.9934)
    assert metrics["comparisons"][0]["comparison"] == "MultiRes U-Net - U-Net"
    # p2's Fig. 6 needs accuracy and IoU on training and validation for every epoch
    assert {"train_accuracy", "train_iou", "val_accuracy", "val_iou", "val_loss"} <= set(metrics["runs"][0]["history"][0])
    assert json.loads((run / "config.json").read_text())["train"]["optimizer"] == "adam"


# Pinned from the smoke run (2 epochs, 14 training images, U = 4, 64 x 64, CPU, deterministic
# kernels). All-background values are exact; trained values within 1e-3 (metrics, absolute)
# and 2e-3 (losses, relative). After 2 epochs both models still mark every pixel as mass: the
# smoke profile checks the wiring, the default profile's results are the test of learning.
PINNED_METRICS = {
    "all-background": {"iou_pooled": 0.0, "pixel_accuracy": 0.995239, "miou_fg_bg": 0.497620},
    "U-Net": {"iou_pooled": 0.004761, "pixel_accuracy": 0.004761},
    "MultiRes U-Net": {"iou_pooled": 0.004761, "pixel_accuracy": 0.004761},
}
PINNED_LOSSES = {"U-Net": [0.84273, 0.816], "MultiRes U-Net": [0.82126, 0.81019]}


@pytest.mark.notebook
def test_p2_smoke_metrics_match_pinned_values(smoke_p2):
    metrics = smoke_p2["metrics"]
    assert_pinned_run(metrics, PINNED_METRICS, PINNED_LOSSES)
    assert metrics["n_test"] == 6 and [r["epochs_run"] for r in metrics["runs"]] == [2, 2]
