"""p4 (FCN / U-Net / Dilation10 / DeepLabv3 comparison): configuration checks, the staged
training, the smoke notebook's result files and pinned metrics, and the claims table's
derived columns."""

import json

import numpy as np
import pytest
from tests_helpers import assert_pinned_run, assert_refused_in_one_line, load_smoke_run

from mammorepro.papers import p4


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"models": "fcn8,segnet"}, "models="),
        ({"models": ""}, "models="),
        ({"n_seeds": 0}, "n_seeds"),
        ({"width": 1.5}, "width=1.5"),
        ({"crop_size": 48}, "crop_size=48"),
        ({"crop_size": 128}, "must not exceed image_size"),
        ({"monitor": "accuracy"}, "monitor="),
        ({"lr_drop": 3.0}, "step_factor=3.0"),
        ({"encoder_weights": "/nowhere/vgg16.pth"}, "needs width=1"),
    ],
)
def test_bad_parameters_fail_in_one_line_before_any_work(params, message, tmp_path):
    assert_refused_in_one_line(p4.configure, tmp_path, message, **params)


def test_staged_models_bring_the_stages_they_start_from(tmp_path):
    cfg = p4.configure("smoke", results_root=str(tmp_path / "results"), models="fcn8,dilation10-global")
    assert p4.model_keys(cfg) == ["fcn32", "fcn16", "fcn8", "dilation10-front", "dilation10-context", "dilation10-global"]
    cfg = p4.configure("smoke", results_root=str(tmp_path / "results"), models="unet")
    assert p4.model_keys(cfg) == ["unet"]


def test_table10_rows_and_the_implied_lesion_iou():
    assert len(p4.REPORTED) == 8 * 3 and len(p4.REPORTED_CITYSCAPES) == 8 * 3
    best = max((r for r in p4.REPORTED if r["metric"] == "pixel_accuracy"), key=lambda r: r["reported"])
    assert best["model"] == "dilation10-global" and best["reported"] == 0.9369  # the abstract's headline
    # 2 x 0.5791 - 0.9369: Dilation10 (global) must find at least a fifth of the tumour pixels' union
    assert p4.implied_lesion_iou(0.9369, 0.5791) == pytest.approx(0.2213)
    assert p4.implied_lesion_iou(0.8037, 0.4006) == 0.0  # FCN32's pair is consistent with finding nothing


def test_the_paper_split_is_a_70_30_holdout_by_patient(tmp_path):
    cfg = p4.configure("smoke", results_root=str(tmp_path / "results"), n_cases=40)
    prepared = p4.prepare(cfg, p4.load(cfg))
    n = {k: len(v) for k, v in prepared.parts.items()}
    assert n["test"] / sum(n.values()) == pytest.approx(0.3, abs=0.08) and n["val"] >= 1
    assert "70/30" in prepared.scheme and "holdout70" in prepared.split_path.name
    weights = p4.class_weights(cfg, prepared)
    # crops centred on masses hold more mass than whole images; w = 1 - x for each class
    assert weights["mass_share_crops"] > weights["mass_share_images"] > 0
    assert weights["mass_weight"] == pytest.approx(1 - weights["mass_share_crops"]) and weights["background_weight"] == pytest.approx(weights["mass_share_crops"])


@pytest.fixture(scope="module")
def smoke_p4(smoke_book):
    return load_smoke_run(smoke_book["results"], "p4")


@pytest.mark.notebook
def test_p4_smoke_writes_every_table_and_figure(smoke_p4):
    run, metrics = smoke_p4["run"], smoke_p4["metrics"]
    assert {p.name for p in (run / "figures").iterdir()} >= {"crops.png", "training.png", "metrics.png", "predictions.png"}
    assert set(metrics["methods"]) == {*p4.MODELS, "all-background"}
    # every stage of every seed trained, in the paper's order, on SGD with the piecewise schedule
    assert [r["variant"] for r in metrics["runs"]] == list(p4.MODELS) * 2 and metrics["seeds"] == [0, 1]
    train = json.loads((run / "config.json").read_text())["train"]
    assert (train["optimizer"], train["scheduler"], train["monitor"], train["weight_decay"]) == ("sgd", "step", "loss", 0.005)
    # the claims table: 24 rows of Table 10, the all-background value under the same definition
    claims = metrics["claims"]
    assert len(claims) == 24
    pa = next(c for c in claims if c["model"] == "FCN32" and c["metric"] == "pixel accuracy")
    assert pa["all-background"] == pytest.approx(metrics["methods"]["all-background"]["pixel_accuracy"], abs=1e-4)
    # mean over seeds and its interval come from the per-seed values
    row = next(r for r in metrics["over_seeds"] if r["model"] == "unet" and r["metric"] == "miou_fg_bg")
    per_seed = [s["miou_fg_bg"] for s in metrics["methods_by_seed"]["unet"]]
    assert row["mean"] == pytest.approx(np.mean(per_seed)) and row["n_seeds"] == 2
    assert {c["comparison"] for c in metrics["comparisons"]} >= {"FCN8 - FCN32", "Dilation10 - Global - Dilation10 - Context", "Dilation10 - Global - all-background"}
    # the generated findings name the all-background score of each metric
    assert len(metrics["findings"]) == 4 and f"{metrics['methods']['all-background']['pixel_accuracy']:.3f}" in metrics["findings"][0]


# Pinned from the smoke run (2 seeds x 8 stages, 2 epochs each, 13 training images, 32-pixel
# crops of 64 x 64 images, widths 1/16, CPU, deterministic kernels). All-background values are
# exact; trained values within 1e-3 (metrics) and 2e-3 (losses, relative); metrics are means over
# the two seeds, losses the last seed's. After 2 epochs the networks mark large areas as mass: the smoke
# profile checks the wiring, the default profile's results are the test of learning.
PINNED_METRICS = {
    "all-background": {"iou_pooled": 0.0, "pixel_accuracy": 0.992035, "miou_fg_bg": 0.496017},
    "fcn8": {"iou_pooled": 0.009609, "pixel_accuracy": 0.170212},
    "unet": {"iou_pooled": 0.007965, "pixel_accuracy": 0.007965},
    "dilation10-global": {"iou_pooled": 0.003983, "pixel_accuracy": 0.442352},
    "deeplabv3": {"iou_pooled": 0.007775, "pixel_accuracy": 0.268677},
}
PINNED_LOSSES = {"fcn32": [0.02668, 0.02613], "fcn8": [0.02758, 0.02597], "dilation10-global": [0.02659, 0.02599], "deeplabv3": [0.03258, 0.02857]}


@pytest.mark.notebook
def test_p4_smoke_metrics_match_pinned_values(smoke_p4):
    metrics = smoke_p4["metrics"]
    assert_pinned_run(metrics, PINNED_METRICS, PINNED_LOSSES)
    assert metrics["n_test"] == 8 and all(r["epochs_run"] == 2 for r in metrics["runs"])
