"""Result files store numbers as numbers: every committed metrics.json and claims.json passes the
schema (:func:`mammorepro.metrics.validate_result`), every claims.json is what its chapter's
``claims()`` computes from the folder's other files, and the records keep CIs inside the range of
what they measure."""

import json

import numpy as np
import pytest

from conftest import REPO
from mammorepro import chapters
from mammorepro.metrics import Estimate, format_ci, format_estimate, over_images, over_seeds, paired_difference, validate_result
from mammorepro.metrics.records import DIFFERENCE, FRACTION
from mammorepro.report import claims

COMMITTED = sorted((REPO / "results").glob("*/*/*/metrics.json")) + sorted((REPO / "results").glob("*/*/*/claims.json"))


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(REPO / "results")))
def test_every_committed_result_file_passes_the_schema(path):
    problems = validate_result(json.loads(path.read_text()), str(path.relative_to(REPO)))
    assert not problems, "\n".join(problems[:10])


def test_every_paper_result_folder_has_current_claim_records():
    assert chapters.refresh_claims(REPO / "results", check=True) == [], "run `python -m mammorepro claims` and commit the claims.json files"
    for c in claims.collect(REPO / "results"):
        if not np.isnan(c.ci_low):
            assert c.ci_unit in ("image", "seed", "seed x image") and c.n_images > 0 and c.n_seeds >= 1, c
            assert (c.ci_unit == "image") == (c.n_seeds == 1) or c.ci_unit == "seed", c  # several seeds: seeds inside the CI


def test_schema_finds_numbers_stored_as_text_and_intervals_out_of_range():
    bad = {
        "claims": [{"CI over seeds": "[0.250, 1.328]"}, {"x": "0.1055"}, {"d": "+0.100 [-0.060, +0.256]"}, {"sd": "0.4 ± 0.1"}],
        "table": [{"metric": "dice_per_image", "ci_low": -0.01, "ci_high": 0.2}, {"ap": 0.1, "ap_low": 0.2, "ap_high": 0.1}],
        "diff": {"dice_difference": 0.0, "ci_low": -1.2, "ci_high": 0.1},
        "estimate": Estimate(0.5, 0.2, 1.1, "dice_per_image", "seed", 0, 10, 3).to_dict(),
        "nan": float("nan"),
    }
    problems = validate_result(bad)
    assert sum("stored as text" in p for p in problems) == 4
    assert sum("outside the quantity's range" in p for p in problems) == 3
    assert any("above CI high" in p for p in problems) and any("null" in p for p in problems)
    good = {"split": "T1", "versions": "2.14.1", "fp_per_image_low": 0.5, "fp_per_image_high": 3.2, "note": "0.5 of the images", "n": 3}
    assert validate_result(good) == []


def test_estimates_carry_how_their_interval_was_made():
    rng = np.random.default_rng(0)
    e = over_images(rng.uniform(0, 1, 40), "dice_per_image", n_seeds=3)
    assert (e.unit, e.n_images, e.n_seeds, e.n_resamples) == ("image", 40, 3, 2000) and 0 <= e.ci_low <= e.value <= e.ci_high <= 1
    s = over_seeds([0.01, 0.02, 0.6], "pixel_accuracy", n_images=12)
    assert s.unit == "seed" and s.n_seeds == 3 and (s.lower, s.upper) == FRACTION and s.ci_low == 0.0  # cut at 0, not below
    assert over_seeds([0.3], "dice_per_image", 5).unit == "none"
    d = paired_difference(np.ones(20), np.zeros(20), "dice_per_image")
    assert (d.lower, d.upper) == DIFFERENCE and d.value == 1.0 and validate_result(d.to_dict()) == []
    assert format_estimate(d, signed=True) == "+1.000 [+1.000, +1.000]" and format_ci(float("nan"), 1.0) == ""


def test_the_seed_level_enters_the_interval():
    """Three seeds that disagree widen the CI beyond the images-only one of their mean: the
    training variance is inside the interval (before, only test images were resampled)."""
    from mammorepro.metrics import over_seeds_and_images

    rng = np.random.default_rng(1)
    base = rng.uniform(0.3, 0.5, 60)
    seeds = np.stack([base - 0.2, base, base + 0.2])  # the same images, three training outcomes
    both = over_seeds_and_images(seeds, "dice_per_image")
    images_only = over_images(seeds.mean(axis=0), "dice_per_image", n_seeds=3)
    assert both.unit == "seed x image" and (both.n_seeds, both.n_images) == (3, 60)
    assert both.ci_high - both.ci_low > 3 * (images_only.ci_high - images_only.ci_low)
    assert abs(both.value - images_only.value) < 1e-12 and validate_result(both.to_dict()) == []
    assert over_seeds_and_images(seeds[:1], "dice_per_image").unit == "image"


PADDED = [p for p in sorted((REPO / "results").glob("*/phantom/*/metrics.json")) if p.parts[-4] in ("p1", "p2", "p4", "p5", "side_by_side", "tour")]


@pytest.mark.parametrize("path", PADDED, ids=lambda p: str(p.relative_to(REPO / "results")))
def test_committed_phantom_folders_score_inside_each_image(path):
    # the phantom's 1024 x 512 views fill half of the square canvas: a folder scored on the
    # whole canvas would count the padding as true negatives (rerun the chapter to remake it)
    m = json.loads(path.read_text())
    assert m.get("scored_pixels") == "inside each image's extent", f"{path.parent} was scored on the padded canvas: rerun it"
    assert m["padding_share"] == pytest.approx(0.5, abs=0.02)
