"""The pieces the real-data runs are judged by, each on hand-made inputs: the non-learned
brightest-region segmenter, the best-epoch rule (lesion images only), the degeneracy gate
against that baseline, and claims about methods ("holds / does not hold on <dataset>") with
seeds inside the CI and a Bonferroni-corrected level."""

import numpy as np
import pandas as pd
import pytest

from mammorepro import chapters, config
from mammorepro.engine import TrainConfig
from mammorepro.engine.training import selection_score
from mammorepro.errors import ConfigError
from mammorepro.metrics import ALL_BACKGROUND, NON_LEARNED
from mammorepro.models import non_learned
from mammorepro.report.claims import comparison_claims, verdict
from mammorepro.report.learned import VERSUS_BASELINE, learned_table


def blob_image(size=64, centre=(20, 40), radius=6, seed=0):
    """A breast-like ramp with one bright disc (the mass) and its mask."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    image = 0.3 + 0.1 * rng.random((size, size))
    image[:, : size // 8] = 0.0  # background outside the breast
    mask = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2
    image[mask] = 0.9
    return image.astype(np.float32), mask


def test_brightest_region_finds_the_bright_disc_and_nothing_outside_the_breast():
    image, mask = blob_image()
    pred = non_learned.brightest_region(image, 0.95)
    assert (pred & mask).sum() / mask.sum() > 0.8 and (pred & ~mask).sum() < 0.2 * mask.sum()
    assert not non_learned.brightest_region(np.zeros((16, 16), np.float32), 0.9).any()
    with pytest.raises(ConfigError, match="quantile"):
        non_learned.brightest_region(image, 1.0)


def test_the_quantile_is_fitted_on_lesion_images_and_a_large_mass_needs_a_lower_one():
    small = [blob_image(radius=4, seed=s) for s in range(3)]
    large = [blob_image(radius=16, centre=(32, 36), seed=s) for s in range(3)]
    q_small = non_learned.fit_quantile(np.stack([i for i, _ in small]), np.stack([m for _, m in small]))
    q_large = non_learned.fit_quantile(np.stack([i for i, _ in large]), np.stack([m for _, m in large]))
    assert q_large < q_small
    empty = np.zeros((2, 8, 8))
    assert non_learned.fit_quantile(empty, empty) == non_learned.QUANTILES[len(non_learned.QUANTILES) // 2]


def test_the_best_epoch_is_chosen_on_lesion_images_by_default():
    # an all-background epoch: perfect on the empty validation masks, zero on the lesion ones
    empty_epoch = {"val_dice": 0.8, "val_dice_lesion": 0.0, "val_loss": 0.1}
    learning_epoch = {"val_dice": 0.5, "val_dice_lesion": 0.4, "val_loss": 0.2}
    assert TrainConfig().monitor == "lesion_dice"
    assert selection_score(learning_epoch, "lesion_dice") > selection_score(empty_epoch, "lesion_dice")
    assert selection_score(empty_epoch, "dice") > selection_score(learning_epoch, "dice")  # why it is not the default
    with pytest.raises(ConfigError, match="lesion_dice"):
        TrainConfig(monitor="iou")


def test_every_chapter_has_the_real_profile_with_three_seeds_and_resumption():
    assert "real" in config.PROFILES
    for chapter in chapters.papers():
        cfg = chapter.load().configure("real")
        assert cfg["n_seeds"] >= 3 and cfg["resume"] is True, chapter.notebook


def _per_case(rows):
    return pd.DataFrame(rows, columns=["case_id", "method", "seed", "rule", "tp", "fp", "fn", "tn", "has_lesion", "dice", "iou"])


def _cases(method, seed, dice, n=30, lesion=True):
    return [[f"c{i}", method, seed, "p >= 0.5", 10, 5, 5, 80, lesion, d, d / (2 - d)] for i, d in enumerate(dice[:n])]


def test_a_method_worse_than_the_baseline_did_not_learn(tmp_path):
    rng = np.random.default_rng(0)
    rows = _cases(NON_LEARNED, -1, 0.5 + 0.05 * rng.random(30)) + _cases(ALL_BACKGROUND, -1, np.zeros(30))
    for s in range(3):
        rows += _cases("weak", s, 0.2 + 0.05 * rng.random(30)) + _cases("strong", s, 0.7 + 0.05 * rng.random(30))
    _per_case(rows).to_csv(tmp_path / "per_case.csv", index=False)
    t = learned_table(tmp_path).set_index("method")
    assert t.loc["weak", "reading"].startswith("beats all-background") and t.loc["weak", "versus_baseline"] == VERSUS_BASELINE[1]
    assert not t.loc["weak", "learned"] and t.loc["strong", "learned"]
    assert NON_LEARNED not in t.index and ALL_BACKGROUND not in t.index


def _comparison_folder(tmp_path, gain_per_seed, noise=0.02):
    rng = np.random.default_rng(1)
    rows = _cases(ALL_BACKGROUND, -1, np.zeros(30))
    for s, gain in enumerate(gain_per_seed):
        base = 0.4 + noise * rng.standard_normal(30)
        rows += _cases("B", s, base) + _cases("A", s, np.clip(base + gain + noise * rng.standard_normal(30), 0, 1))
    _per_case(rows).to_csv(tmp_path / "per_case.csv", index=False)
    return tmp_path


COMPARISON = [{"claim": "A beats B", "better": "A", "than": "B", "where": "Table 1"}, {"claim": "A beats nothing", "better": "A", "than": ALL_BACKGROUND, "where": "Table 1"}]


def _judged(folder, dataset="cdd-cesm"):
    out = comparison_claims(folder, "px", COMPARISON, learned_table(folder), "inbreast")
    for c in out:
        c.dataset = dataset
    return out


def test_a_method_claim_holds_when_every_seed_agrees(tmp_path):
    a_vs_b, a_vs_nothing = _judged(_comparison_folder(tmp_path, [0.1, 0.12, 0.09]))
    assert a_vs_b.kind == "comparison" and a_vs_b.n_seeds == 3 and a_vs_b.seeds_agree == 3 and a_vs_b.family == 2
    assert a_vs_b.ci_unit == "seed x image" and a_vs_b.ci_low > 0
    assert verdict(a_vs_b)[0] == "holds on the run's data" and "cdd-cesm" in verdict(a_vs_b)[1] and "97.5 % CI" in verdict(a_vs_b)[1]
    assert a_vs_nothing.n_seeds == 3 and verdict(a_vs_nothing)[0] == "holds on the run's data"  # the seedless side is the same on every seed
    assert verdict(_judged(tmp_path, "phantom")[0])[0] == "mechanism shown on the phantom"


def test_seed_variance_is_inside_the_ci(tmp_path):
    # one seed gains a lot, two lose: the image-only CI of the mean would exclude 0, the seeds x images one does not
    claim = _judged(_comparison_folder(tmp_path, [0.3, -0.05, -0.04], noise=0.01))[0]
    assert claim.reproduced > 0 and claim.seeds_agree == 1
    assert claim.ci_low < 0 < claim.ci_high
    v, why = verdict(claim)
    assert v == "does not hold on the run's data" and "no measurable difference" in why


def test_a_reversed_claim_says_the_opposite_holds(tmp_path):
    claim = _judged(_comparison_folder(tmp_path, [-0.1, -0.12, -0.11]))[0]
    assert verdict(claim)[0] == "does not hold on the run's data" and "the opposite" in verdict(claim)[1]


def test_a_claim_about_a_method_that_learned_nothing_is_not_judged(tmp_path):
    rows = _cases(ALL_BACKGROUND, -1, np.zeros(30), lesion=True)
    for s in range(3):
        rows += _cases("A", s, np.full(30, 0.5)) + [[f"c{i}", "B", s, "p >= 0.5", 0, 0, 15, 85, True, 0.0, 0.0] for i in range(30)]
    _per_case(rows).to_csv(tmp_path / "per_case.csv", index=False)
    claim = _judged(tmp_path)[0]
    assert claim.learned is False and "B" in claim.learned_note
    assert verdict(claim)[0] == "not testable at this budget"
