"""The shared protocol: parameter checks, the smoke notebook's table and result files, and the
mini-MIAS path (five folds by patient, circle masks) on phantom cases written in its layout."""

import json

import numpy as np
import pandas as pd
import pytest
from tests_helpers import assert_refused_in_one_line, load_smoke_run

from mammorepro.data import PhantomConfig
from mammorepro.metrics import NON_LEARNED
from mammorepro.papers import real_data, side_by_side


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"methods": "U-Net,SegFormer"}, "methods="),
        ({"methods": "DS U-Net + CRF"}, "needs DS U-Net"),
        ({"folds": 2}, "folds=2"),
        ({"image_size": 96}, "image_size=96"),
        ({"patch_size": 48}, "patch_size=48"),
        ({"msf_lambda": 1.5}, "msf_lambda=1.5"),
    ],
)
def test_bad_parameters_fail_in_one_line_before_any_work(params, message, tmp_path):
    assert_refused_in_one_line(side_by_side.configure, tmp_path, message, **params)


def test_every_method_is_built_from_its_paper_module(tmp_path):
    cfg = side_by_side.configure("smoke", results_root=str(tmp_path / "results"))
    masks = np.zeros((2, 64, 64), np.uint8)
    masks[:, 20:30, 20:30] = 1
    for method in side_by_side.NETWORKS:
        model, loss = side_by_side.build(cfg, method, 0, masks)
        assert sum(p.numel() for p in model.parameters()) > 0 and loss is not None, method
    c3 = side_by_side.p3_config(cfg)
    assert c3["full_height"] == 64 and side_by_side.p3.scales(c3) == [(48, 48), (64, 64), (80, 80)] and side_by_side.p3.train_sizes(c3) == ((64, 64),)


@pytest.mark.notebook
def test_smoke_notebook_tables_every_method_against_the_baseline(smoke_book):
    got = load_smoke_run(smoke_book["results"], "side_by_side")
    m = got["metrics"]
    table = pd.DataFrame(m["table"]).set_index("method")
    assert list(table.index) == [*side_by_side.METHODS, side_by_side.BASELINE]
    assert table.loc["all-background", "dice_per_image"] == 0.0  # every scored test image shows a mass
    for metric in side_by_side.TABLE_METRICS:
        assert (table[f"{metric}_low"] <= table[metric] + 1e-9).all() and (table[metric] <= table[f"{metric}_high"] + 1e-9).all(), metric
    assert not np.isnan(table.loc[side_by_side.TWO_STAGE, "tpr"]) and np.isnan(table.loc["U-Net", "tpr"])
    per_case = pd.read_csv(got["run"] / "per_case.csv")
    # every method of the table, plus the non-learned baseline scored on the same images
    assert set(per_case["method"]) == set(table.index) | {NON_LEARNED} and (per_case["split"] == "default").all()
    assert m["methods"][NON_LEARNED]["dice_per_image"] == m["non_learned"]["dice_per_image"] and 0 < m["non_learned"]["quantile"] < 1
    assert per_case.groupby("method").size().nunique() == 1  # every method scored the same images
    from mammorepro.report import file_sha256

    assert m["split_sha256"] == file_sha256(smoke_book["results"] / "splits" / m["split_file"])
    assert {p.name for p in (got["run"] / "figures").iterdir()} >= {"ci.png", "predictions.png"}


def test_mias_runs_five_folds_by_patient_on_circle_masks(tmp_path):
    from mammorepro.data import mias

    root = mias.write_phantom(tmp_path / "mias", n=30, seed=3, config=PhantomConfig(height=256, width=128))
    results = tmp_path / "results"
    cfg = side_by_side.configure("smoke", dataset="mias", data_root=str(root), results_root=str(results), folds=2, methods="U-Net")
    cases = side_by_side.load(cfg)
    assert all(c.mass_masks() or not c.lesions for c in cases)
    splits, _, _ = side_by_side.data_mod.get_or_create_splits(
        results / "splits", "mias", [c.case_id for c in cases], [c.patient_id for c in cases], [None] * len(cases), 0
    )
    assert len(splits) == 5
    tests = [set(p["test"]) for p in splits.values()]
    assert set().union(*tests) == {c.case_id for c in cases} and sum(map(len, tests)) == len(cases)  # each image tested once
    circle = next(c for c in cases if c.mass_masks()).mass_masks()[0]
    rr, cc = np.nonzero(circle)
    r_max = np.sqrt((rr - rr.mean()) ** 2 + (cc - cc.mean()) ** 2).max()
    assert circle.sum() / (np.pi * r_max**2) > 0.85  # mini-MIAS masks are circles: they fill their radius
    result = side_by_side.run(cfg, cases)
    assert result.splits == ["fold1", "fold2"]
    table = side_by_side.results_table(cfg, result)
    out = side_by_side.record(cfg, result, table)
    assert out.relative_to(results).parts == ("side_by_side", "mias", "smoke")
    m = json.loads((out / "metrics.json").read_text())
    assert m["dataset"] == "mias" and m["splits"] == ["fold1", "fold2"]
    assert m["n_test"] == sum(len(p.parts["test"]) for p in result.prepared)
    # the baseline is fitted and scored fold by fold: every test image once, each fold's quantile kept
    per_case = pd.read_csv(out / "per_case.csv")
    baseline = per_case[per_case["method"] == NON_LEARNED]
    assert sorted(baseline["case_id"]) == sorted(per_case[per_case["method"] == "U-Net"]["case_id"])
    assert set(baseline["split"]) == {"fold1", "fold2"} and len(m["non_learned"]["per_fold"]) == 2
    runs = real_data.side_by_side_runs(results)
    assert real_data.runs_overview(runs)["dataset"].tolist() == ["mias"]
    assert "mias / smoke / cpu" in real_data.beside(runs).columns


def test_circle_of_a_disc_is_the_disc_and_of_a_thin_mass_is_not():
    yy, xx = np.mgrid[:64, :64]
    disc = (yy - 32) ** 2 + (xx - 32) ** 2 <= 10**2
    assert real_data.enclosing_circle(disc).sum() / disc.sum() == pytest.approx(1.0, abs=0.25)
    thin = np.zeros((64, 64), bool)
    thin[30:34, 10:54] = True

    class Case:
        def __init__(self, m):
            self.m = m

        def mass_masks(self):
            return [self.m]

    agreement = real_data.circle_agreement([Case(disc), Case(thin)])
    assert agreement["masses"] == 2 and agreement["dice"] < 0.7  # the thin mass's circle is mostly background
    assert agreement["dice_low"] <= agreement["dice"] <= agreement["dice_high"]


def test_learned_marks_a_method_whose_ci_does_not_clear_all_background(tmp_path):
    import pandas as pd

    rows = []
    for i in range(30):  # every test image holds a mass: all-background scores Dice 0 on each
        for method, tp, fp in (("all-background", 0, 0), ("U-Net", 60, 40), ("FCN8", 1 if i == 0 else 0, 300)):
            fn = 100 - tp
            rows.append({"split": "fold1", "case_id": f"c{i}", "method": method, "seed": 0, "rule": "p >= threshold", "tp": tp, "fp": fp, "fn": fn,
                         "tn": 10_000 - tp - fp - fn, "has_lesion": True, "dice": 2 * tp / (2 * tp + fp + fn)})
    pd.DataFrame(rows).to_csv(tmp_path / "per_case.csv", index=False)
    runs = [{"folder": tmp_path, "metrics": {"dataset": "mias", "profile": "default"}}]
    frame = real_data.learned(runs).set_index("method")
    assert frame.loc["U-Net", "reading"] == "beats all-background"
    assert frame.loc["FCN8", "reading"].startswith("no better than all-background")
    assert "all-background" not in frame.index


def test_detector_findings_say_why_a_pipeline_without_boxes_predicts_nothing():
    from mammorepro.papers.side_by_side import Result, detector_findings

    silent = Result([], [0], ["fold1"], {}, detection=[{"split": "fold1", "seed": 0, "tpr": 0.0, "fp_per_image": 0.0, "ap": 0.001}])
    lines = detector_findings({"det_iterations": 150}, silent)
    assert "found 0% of the test masses" in lines[0] and len(lines) == 2 and "150 detector iterations" in lines[1]
    found = Result([], [0], ["fold1"], {}, detection=[{"split": "fold1", "seed": 0, "tpr": 0.5, "fp_per_image": 1.2, "ap": 0.3}])
    assert len(detector_findings({"det_iterations": 150}, found)) == 1  # it proposed boxes: nothing to explain
    assert detector_findings({"det_iterations": 150}, Result([], [0], [], {})) == []
