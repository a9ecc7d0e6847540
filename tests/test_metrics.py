"""Metrics pinned on tiny hand-computed masks (MONAI style), empty masks included."""

import math

import numpy as np
import pytest

from mammorepro.errors import ConfigError
from mammorepro.metrics import (
    DEFINITIONS,
    SegmentationScores,
    batch_pooled,
    bootstrap_ci,
    bootstrap_unpaired_difference,
    confusion_counts,
    dice_per_image,
    iou_per_image,
    summarize_counts,
)

# 4x4 target with 4 lesion pixels; prediction hits 2 of them and adds 2 false positives
TARGET = np.array([[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]], dtype=np.uint8)
PRED = np.array([[0, 0, 0, 0], [0, 1, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]], dtype=np.uint8)


def test_confusion_counts_by_hand():
    counts = confusion_counts(PRED[None], TARGET[None])
    assert counts.tolist() == [[2, 2, 2, 10]]


def test_dice_and_iou_by_hand():
    assert dice_per_image(PRED[None], TARGET[None])[0] == pytest.approx(2 * 2 / (2 * 2 + 2 + 2))  # 0.5
    assert iou_per_image(PRED[None], TARGET[None])[0] == pytest.approx(2 / 6)


def test_empty_mask_policies():
    empty = np.zeros((1, 2, 2), dtype=np.uint8)
    one_px = np.array([[[1, 0], [0, 0]]], dtype=np.uint8)
    assert dice_per_image(empty, empty, "one")[0] == 1.0
    assert math.isnan(dice_per_image(empty, empty, "nan")[0])
    assert dice_per_image(empty, empty, "zero")[0] == 0.0
    # a false positive on an empty image is wrong under every policy
    assert dice_per_image(one_px, empty, "one")[0] == 0.0
    # missing a lesion entirely scores 0
    assert iou_per_image(empty, one_px)[0] == 0.0
    with pytest.raises(ConfigError, match="empty-mask policy"):
        dice_per_image(empty, empty, "skip")


def test_summary_definitions_by_hand():
    # image 1: the 4x4 case above; image 2: empty target, empty prediction (16 TN)
    counts = np.array([[2, 2, 2, 10], [0, 0, 0, 16]])
    s = summarize_counts(counts)
    assert set(s) == set(DEFINITIONS)
    assert s["dice_per_image"] == pytest.approx((0.5 + 1.0) / 2)
    assert s["iou_per_image"] == pytest.approx((1 / 3 + 1.0) / 2)
    assert s["dice_pooled"] == pytest.approx(0.5)
    assert s["iou_pooled"] == pytest.approx(1 / 3)
    bg_iou = 26 / (26 + 2 + 2)
    assert s["miou_fg_bg"] == pytest.approx((1 / 3 + bg_iou) / 2)
    assert s["pixel_accuracy"] == pytest.approx(28 / 32)
    assert s["mean_class_accuracy"] == pytest.approx((2 / 4 + 26 / 28) / 2)
    assert s["sensitivity_per_image"] == pytest.approx(0.5)  # only image 1 has a lesion
    assert s["dice_lesion_images"] == pytest.approx(0.5)  # the empty image is left out
    # a false positive on the empty image lowers the per-image mean, not the lesion-image one
    s = summarize_counts(np.array([[2, 2, 2, 10], [0, 3, 0, 13]]))
    assert s["dice_per_image"] == pytest.approx(0.25) and s["dice_lesion_images"] == pytest.approx(0.5)


def test_all_background_prediction_reads_high_on_pixel_metrics():
    target = np.zeros((1, 10, 10), dtype=np.uint8)
    target[0, :1, :1] = 1  # 1 % of the pixels
    s = summarize_counts(confusion_counts(np.zeros_like(target), target))
    assert s["pixel_accuracy"] == pytest.approx(0.99)
    assert s["dice_per_image"] == 0.0 and s["dice_pooled"] == 0.0
    assert s["miou_fg_bg"] == pytest.approx(0.99 / 2)


def test_cumulative_scores_equal_one_shot():
    rng = np.random.default_rng(0)
    p = rng.random((6, 8, 8)) > 0.6
    t = rng.random((6, 8, 8)) > 0.7
    acc = SegmentationScores()
    acc.update(p[:4], t[:4], [f"c{i}" for i in range(4)])
    acc.update(p[4:], t[4:], ["c4", "c5"])
    assert acc.summary() == pytest.approx(summarize_counts(confusion_counts(p, t)))
    frame = acc.per_case()
    assert list(frame["case_id"]) == [f"c{i}" for i in range(6)]
    assert frame["dice"].to_numpy() == pytest.approx(dice_per_image(p, t))


def test_shape_mismatch_is_an_error():
    with pytest.raises(ConfigError, match="differs"):
        confusion_counts(np.zeros((1, 2, 2)), np.zeros((1, 3, 3)))


def test_bootstrap_ci_brackets_the_mean():
    v = np.random.default_rng(1).random(50)
    lo, hi = bootstrap_ci(v)
    assert lo < v.mean() < hi
    assert bootstrap_ci(np.array([0.5, 0.5])) == (0.5, 0.5)


def test_inputs_must_be_binary_batches():
    with pytest.raises(ConfigError, match="N, H, W"):
        dice_per_image(PRED, TARGET)  # a single 2-D mask is not silently read as H images
    with pytest.raises(ConfigError, match="threshold"):
        dice_per_image(PRED[None] * 0.7, TARGET[None])


def test_pooled_difference_by_hand_and_paired():
    from mammorepro.metrics import bootstrap_pooled_difference, pooled_from_totals

    # A finds the lesion of both images, B only of the first: pooled fg IoU 1.0 vs 0.5
    a = np.array([[10, 0, 0, 90], [10, 0, 0, 90]])
    b = np.array([[10, 0, 0, 90], [0, 0, 10, 90]])
    point, lo, hi = bootstrap_pooled_difference([a], [b], "iou_pooled", seed=0)
    assert point == pytest.approx(0.5) and 0 <= lo <= point <= hi <= 1
    # same predictions: the difference and its CI are exactly zero (resampling is paired)
    assert bootstrap_pooled_difference([a, b], [a, b], "pixel_accuracy") == (0.0, 0.0, 0.0)
    # vectorised over resamples: a (2, 4) block gives the per-row values
    rows = pooled_from_totals(np.array([[10, 0, 0, 90], [0, 0, 10, 90]]))
    assert rows["pixel_accuracy"] == pytest.approx([1.0, 0.9]) and rows["miou_fg_bg"] == pytest.approx([1.0, 0.45])
    assert rows["mean_class_accuracy"] == pytest.approx([1.0, 0.5])
    with pytest.raises(ConfigError, match="not a pooled metric"):
        bootstrap_pooled_difference([a], [b], "dice_per_image")


def test_seed_interval_is_a_t_interval():
    from mammorepro.metrics import seed_interval

    mean, lo, hi = seed_interval([0.5, 0.6, 0.7])
    # t(0.975, 2) = 4.303, sd = 0.1, n = 3
    assert mean == pytest.approx(0.6) and hi - mean == pytest.approx(4.303 * 0.1 / np.sqrt(3), rel=1e-3)
    assert np.isnan(seed_interval([0.5])[1])
    # a fraction's interval stays inside [0, 1] (FCN32's pixel accuracy over seeds: 0.56, 0.82, 0.99)
    mean, lo, hi = seed_interval([0.56, 0.82, 0.99])
    assert 0 <= lo < mean < hi == 1.0
    assert seed_interval([0.56, 0.82, 0.99], bounds=None)[2] > 1  # unbounded when asked


def test_batch_pooled_by_hand_keras_style():
    # batch 1: TP 2, FP 1, FN 1 -> IoU 2/4, F1 4/6; batch 2 (one image, empty target, empty
    # prediction) -> 1 by the smoothing alone; weights 2 and 1 images
    counts = np.array([[2, 1, 0, 10], [0, 0, 1, 10], [0, 0, 0, 13]])
    out = batch_pooled(counts, batch_size=2)
    assert out["iou"] == pytest.approx((2 * 0.5 + 1.0) / 3, abs=1e-5)
    assert out["f1"] == pytest.approx((2 * 4 / 6 + 1.0) / 3, abs=1e-5)
    assert batch_pooled(counts, batch_size=3)["iou"] == pytest.approx(0.5, abs=1e-5)  # one pooled batch
    assert batch_pooled(np.array([[0, 0, 0, 9]] * 4), 2) == pytest.approx({"iou": 1.0, "f1": 1.0})
    with pytest.raises(ConfigError, match="shape"):
        batch_pooled(np.zeros((3, 3)), 2)


def test_unpaired_difference_resamples_each_set():
    a, b = np.array([1.0, 1.0, 1.0]), np.array([0.0, 0.0, 0.0, 0.0])
    assert bootstrap_unpaired_difference(a, b) == (1.0, 1.0, 1.0)  # no spread, no interval
    point, lo, hi = bootstrap_unpaired_difference(np.array([0.0, 1.0] * 10), np.array([0.5] * 7), seed=1)
    assert point == pytest.approx(0.0) and lo < 0 < hi
    with pytest.raises(ConfigError, match="at least one"):
        bootstrap_unpaired_difference([], [1.0])


def test_bootstrap_pooled_ci_averages_runs_and_resamples_images_together():
    from mammorepro.metrics import bootstrap_pooled_ci

    a = np.array([[10, 0, 0, 90], [0, 10, 10, 80]])  # image 1 perfect, image 2 all wrong
    value, lo, hi = bootstrap_pooled_ci([a, a], "dice_pooled", n_boot=500)
    assert value == pytest.approx(20 / 40) and lo < value < hi
    value, lo, hi = bootstrap_pooled_ci([a[:1], a[:1]], "dice_pooled", n_boot=50)
    assert value == lo == hi == 1.0
    with pytest.raises(ValueError):
        bootstrap_pooled_ci([a, a[:1]], "dice_pooled")


def test_padding_outside_the_image_extent_is_never_scored():
    # the 4 x 4 image sits in columns 2..5 of a 4 x 8 canvas; the model paints the padding
    target = np.zeros((1, 4, 8), np.uint8)
    target[0, :, 2:6] = TARGET
    pred = np.ones((1, 4, 8), np.uint8)
    pred[0, :, 2:6] = PRED
    box = np.array([[0, 2, 4, 6]])
    assert confusion_counts(pred, target, box).tolist() == [[2, 2, 2, 10]]  # as if the canvas were the image
    assert confusion_counts(pred, target).tolist() == [[2, 18, 2, 10]]  # the canvas: 16 false positives more
    from mammorepro.metrics import inside_extents

    as_mask = inside_extents(box, pred.shape)
    assert as_mask.sum() == 16 and confusion_counts(pred, target, as_mask).tolist() == [[2, 2, 2, 10]]
    empty = np.zeros_like(pred)  # all-background: padding adds no true negatives
    assert confusion_counts(empty, target, box)[0, 3] == 12 and confusion_counts(empty, target)[0, 3] == 28
    scores = SegmentationScores()
    scores.update(pred, target, ["a"], extents=box)
    assert scores.per_case()["fp"].tolist() == [2]
    with pytest.raises(ConfigError, match="outside its extent"):
        confusion_counts(pred, target, np.array([[0, 0, 4, 3]]))  # a box that cuts the lesion off
    with pytest.raises(ConfigError, match="outside the 4 x 8 canvas"):
        confusion_counts(pred, target, np.array([[0, 2, 4, 9]]))
    with pytest.raises(ConfigError, match="one \\(y0, x0, y1, x1\\) per image"):
        confusion_counts(pred, target, np.array([[0, 2, 4, 6], [0, 2, 4, 6]]))
