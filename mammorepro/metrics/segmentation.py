"""Every segmentation metric definition the five papers use, each implemented once and named.

The papers report "Dice", "IoU" and "accuracy" under different, often unstated, definitions.
Here each definition has its own name, so a paper's number is reported under its own
definition AND under a strict lesion-level one, next to the all-background prediction:

=====================  =========================================================================
name                   definition
=====================  =========================================================================
dice_per_image         foreground Dice 2TP / (2TP + FP + FN) per image, then the mean over images
iou_per_image          foreground IoU (Jaccard) TP / (TP + FP + FN) per image, then the mean
dice_lesion_images     foreground Dice per image, mean over the images that hold a lesion only
                       (what a test set of mass images, e.g. CBIS-DDSM's, reports; p1)
dice_pooled            foreground Dice from TP, FP, FN summed over all images ("global" Dice)
iou_pooled             foreground IoU from the pooled counts
miou_fg_bg             mean over the two classes (background, mass) of the pooled IoU; this is
                       what semantic-segmentation toolkits call "mean IoU" (p4 Table 10); the
                       background term is near 1 on mammograms, so a prediction that finds
                       nothing already scores just under 0.5
pixel_accuracy         (TP + TN) / all pixels, pooled (p2, p4)
mean_class_accuracy    mean of sensitivity and specificity, pooled (p4 "mean accuracy")
sensitivity_per_image  TP / (TP + FN) per image, mean over images with a lesion
=====================  =========================================================================

Empty-mask policy (per-image metrics): when an image has no lesion in the ground truth AND the
prediction is empty, Dice and IoU are 1 (a correct "no mass" answer); an empty ground truth
with any predicted pixel scores 0. Pass ``empty="nan"`` to drop those images instead, or
``empty="zero"`` to score them 0. The policy is part of every result's metadata. Pooled
metrics on a set with no lesion pixel at all take the same convention as the "one" policy
(Dice 1 for an empty prediction, sensitivity 1 inside ``mean_class_accuracy``); such a set says
nothing about mass segmentation and the tables show how many test images hold a lesion.

Functions take binary arrays (any shape, the leading axis indexes images where noted);
:class:`SegmentationScores` accumulates per-image counts batch by batch (MONAI-style cumulative
metric) and returns the per-case table and every summary definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mammorepro.errors import ConfigError

EMPTY_POLICIES = ("one", "nan", "zero")

DEFINITIONS: dict[str, str] = {
    "dice_per_image": "foreground Dice per image, mean over images (empty policy applies)",
    "iou_per_image": "foreground IoU per image, mean over images (empty policy applies)",
    "dice_lesion_images": "foreground Dice per image, mean over images that contain a lesion",
    "dice_pooled": "foreground Dice from TP/FP/FN pooled over all images",
    "iou_pooled": "foreground IoU from TP/FP/FN pooled over all images",
    "miou_fg_bg": "mean of background and foreground IoU, pooled (background-inclusive mean IoU)",
    "pixel_accuracy": "(TP+TN)/pixels, pooled",
    "mean_class_accuracy": "mean of sensitivity and specificity, pooled",
    "sensitivity_per_image": "TP/(TP+FN) per image, mean over images that contain a lesion",
}


def confusion_counts(pred: np.ndarray, target: np.ndarray, extents=None) -> np.ndarray:
    """Per-image (TP, FP, FN, TN) for binary masks of shape (N, H, W[, ...]); returns int64 (N, 4).

    Inputs must already be binary (bool or 0/1): probabilities are thresholded by the caller,
    so the threshold is always explicit. ``extents`` (:func:`inside_extents`: boxes from
    :func:`mammorepro.preprocess.image_extent`, or boolean masks), where given, are each image's
    own region on a padded canvas: only its pixels are counted, so zero padding never adds true
    negatives (or false positives)."""
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.shape != target.shape:
        raise ConfigError(f"prediction shape {pred.shape} differs from target shape {target.shape}")
    if pred.ndim < 3:
        raise ConfigError(f"expected a batch of masks (N, H, W), got shape {pred.shape}: add the image axis, e.g. mask[None]")
    for name, arr in (("prediction", pred), ("target", target)):
        if arr.dtype != bool and np.any((arr != 0) & (arr != 1)):
            raise ConfigError(f"{name} is not binary: threshold probabilities first (e.g. probs >= 0.5)")
    pred, target = pred.astype(bool), target.astype(bool)
    p = pred.reshape(pred.shape[0], -1)
    t = target.reshape(target.shape[0], -1)
    if extents is None:
        pixels = np.full(len(p), p.shape[1])
    else:
        valid = inside_extents(extents, pred.shape).reshape(len(p), -1)
        if np.any(t & ~valid):
            raise ConfigError("a target has lesion pixels outside its extent: these extents belong to other masks (or another preprocessing)")
        p = p & valid
        pixels = np.count_nonzero(valid, axis=1)
    tp = np.count_nonzero(p & t, axis=1)
    fp = np.count_nonzero(p & ~t, axis=1)
    fn = np.count_nonzero(~p & t, axis=1)
    tn = pixels - tp - fp - fn
    return np.stack([tp, fp, fn, tn], axis=1).astype(np.int64)


def inside_extents(extents, shape) -> np.ndarray:
    """Boolean (N, H, W): True on each image's own pixels. ``extents`` is either one box per
    image (N x 4: y0, x0, y1, x1, what an aspect-keeping resize leaves unpadded) or the boolean
    masks themselves (N x H x W, e.g. after a rotation has moved the padding)."""
    if len(shape) != 3:
        raise ConfigError(f"extents need a batch of masks (N, H, W), not shape {tuple(shape)}")
    e = np.asarray(extents)
    if e.ndim == 3:
        if e.shape != tuple(shape):
            raise ConfigError(f"extent masks of shape {e.shape} do not fit masks of shape {tuple(shape)}")
        return e.astype(bool)
    b = e.astype(np.int64)
    if b.ndim != 2 or b.shape[1] != 4 or len(b) != shape[0]:
        raise ConfigError(f"extents of shape {b.shape} do not fit masks of shape {tuple(shape)}: give one (y0, x0, y1, x1) per image")
    if (b[:, 0] < 0).any() or (b[:, 1] < 0).any() or (b[:, 2] > shape[1]).any() or (b[:, 3] > shape[2]).any() or (b[:, 2] <= b[:, 0]).any() or (b[:, 3] <= b[:, 1]).any():
        raise ConfigError(f"an extent lies outside the {shape[1]} x {shape[2]} canvas or is empty: extents are (y0, x0, y1, x1) with y0 < y1, x0 < x1")
    rows = np.arange(shape[1])[None, :, None]
    cols = np.arange(shape[2])[None, None, :]
    return (rows >= b[:, 0, None, None]) & (rows < b[:, 2, None, None]) & (cols >= b[:, 1, None, None]) & (cols < b[:, 3, None, None])


def _ratio(num: np.ndarray, den: np.ndarray, empty: str) -> np.ndarray:
    if empty not in EMPTY_POLICIES:
        raise ConfigError(f"unknown empty-mask policy {empty!r}: use one of {EMPTY_POLICIES}")
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    fill = {"one": 1.0, "nan": np.nan, "zero": 0.0}[empty]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), fill)


def dice_from_counts(counts: np.ndarray, empty: str = "one") -> np.ndarray:
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    return _ratio(2 * tp, 2 * tp + fp + fn, empty)


def iou_from_counts(counts: np.ndarray, empty: str = "one") -> np.ndarray:
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    return _ratio(tp, tp + fp + fn, empty)


def dice_per_image(pred, target, empty: str = "one") -> np.ndarray:
    """Foreground Dice of each image (shape (N,)); see the module doc for the empty-mask policy."""
    return dice_from_counts(confusion_counts(pred, target), empty)


def iou_per_image(pred, target, empty: str = "one") -> np.ndarray:
    """Foreground IoU of each image (shape (N,))."""
    return iou_from_counts(confusion_counts(pred, target), empty)


POOLED = ("dice_pooled", "iou_pooled", "miou_fg_bg", "pixel_accuracy", "mean_class_accuracy")


def pooled_from_totals(totals: np.ndarray) -> dict[str, np.ndarray]:
    """The pooled definitions from summed (TP, FP, FN, TN) of shape (..., 4), vectorised over
    the leading axes (bootstrap resamples). The three of p4's Table 10 read as MATLAB's
    ``evaluateSemanticSegmentation`` data-set metrics: ``pixel_accuracy`` (GlobalAccuracy),
    ``miou_fg_bg`` (MeanIoU over the two classes) and ``mean_class_accuracy`` (MeanAccuracy)."""
    t = np.asarray(totals, dtype=np.float64)
    tp, fp, fn, tn = t[..., 0], t[..., 1], t[..., 2], t[..., 3]
    fg_iou = _ratio(tp, tp + fp + fn, "one")
    bg_iou = _ratio(tn, tn + fn + fp, "one")
    sens = _ratio(tp, tp + fn, "one")
    spec = _ratio(tn, tn + fp, "one")
    return {
        "dice_pooled": _ratio(2 * tp, 2 * tp + fp + fn, "one"),
        "iou_pooled": fg_iou,
        "miou_fg_bg": (fg_iou + bg_iou) / 2,
        "pixel_accuracy": (tp + tn) / t.sum(axis=-1),
        "mean_class_accuracy": (sens + spec) / 2,
    }


def summarize_counts(counts: np.ndarray, empty: str = "one") -> dict[str, float]:
    """Every named definition from per-image counts (N, 4)."""
    counts = np.asarray(counts, dtype=np.int64).reshape(-1, 4)
    if len(counts) == 0:
        raise ConfigError("no images were scored: the evaluation set is empty")
    pooled = {k: float(v) for k, v in pooled_from_totals(counts.sum(axis=0)).items()}
    has_lesion = counts[:, 0] + counts[:, 2] > 0
    per_sens = _ratio(counts[has_lesion, 0], counts[has_lesion, 0] + counts[has_lesion, 2], "nan")
    return {
        "dice_per_image": float(np.nanmean(dice_from_counts(counts, empty))),
        "iou_per_image": float(np.nanmean(iou_from_counts(counts, empty))),
        "dice_lesion_images": float(np.mean(dice_from_counts(counts[has_lesion], "one"))) if has_lesion.any() else float("nan"),
        "dice_pooled": pooled["dice_pooled"],
        "iou_pooled": pooled["iou_pooled"],
        "miou_fg_bg": pooled["miou_fg_bg"],
        "pixel_accuracy": pooled["pixel_accuracy"],
        "mean_class_accuracy": pooled["mean_class_accuracy"],
        "sensitivity_per_image": float(np.nanmean(per_sens)) if has_lesion.any() else float("nan"),
    }


def bootstrap_ci(
    values: np.ndarray, n_boot: int = 2000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean over cases (NaNs dropped)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(axis=1)
    return float(np.quantile(means, alpha / 2)), float(np.quantile(means, 1 - alpha / 2))


def bootstrap_pooled_ci(counts: list[np.ndarray], metric: str, n_boot: int = 2000, alpha: float = 0.05, seed: int = 0) -> tuple[float, float, float]:
    """A pooled metric over the same images scored by several runs (seeds): per-image counts
    (N, 4) per run, images resampled together for every run, the metric pooled per run and
    averaged over runs. Returns (value, CI low, CI high)."""
    runs = [np.asarray(c, dtype=np.int64) for c in counts]
    n = len(runs[0])
    if any(len(c) != n for c in runs):
        raise ValueError("runs scored different numbers of images: their pooled counts cannot be resampled together")
    if metric not in POOLED:
        raise ConfigError(f"{metric!r} is not a pooled metric: use one of {', '.join(POOLED)}")
    point = float(np.mean([pooled_from_totals(c.sum(axis=0))[metric] for c in runs]))
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    values = np.mean([pooled_from_totals(c[idx].sum(axis=1))[metric] for c in runs], axis=0)
    return point, float(np.quantile(values, alpha / 2)), float(np.quantile(values, 1 - alpha / 2))


def bootstrap_pooled_difference(
    counts_a: list[np.ndarray], counts_b: list[np.ndarray], metric: str, n_boot: int = 2000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float, float]:
    """Paired bootstrap of a pooled metric's difference A - B on the same images: each run's
    per-image counts (N, 4) (one array per seed), images resampled together for every run, the
    metric pooled per run and averaged over seeds. Returns (difference, CI low, CI high)."""
    runs = [np.asarray(c, dtype=np.int64) for c in (*counts_a, *counts_b)]
    n = len(runs[0])
    if any(len(c) != n for c in runs):
        raise ValueError("runs scored different numbers of images: a pooled difference cannot be paired")
    if metric not in POOLED:
        raise ConfigError(f"{metric!r} is not a pooled metric: use one of {', '.join(POOLED)}")

    def mean_over(group, idx=None):
        return np.mean([pooled_from_totals(c.sum(axis=0) if idx is None else c[idx].sum(axis=1))[metric] for c in group], axis=0)

    point = float(mean_over(counts_a) - mean_over(counts_b))
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    diffs = mean_over(counts_a, idx) - mean_over(counts_b, idx)
    return point, float(np.quantile(diffs, alpha / 2)), float(np.quantile(diffs, 1 - alpha / 2))


def batch_pooled(counts: np.ndarray, batch_size: int, smooth: float = 1e-5) -> dict[str, float]:
    """Foreground IoU and F1 as Keras ``segmentation_models`` computes them during
    ``model.evaluate`` (its ``IOUScore``/``FScore`` with ``threshold=0.5``, ``per_image=False``,
    the metrics of its binary-segmentation example that p5 follows): per batch of
    ``batch_size`` consecutive images, (TP + s) / (TP + FP + FN + s) and
    (2TP + s) / (2TP + FP + FN + s) from the batch's pooled counts with ``smooth`` s = 1e-5,
    then the mean over batches weighted by their number of images. A batch whose targets and
    predictions are all empty scores 1 by the smoothing alone.

    ``counts`` are per-image (TP, FP, FN, TN) in evaluation order, shape (N, 4)."""
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] != 4 or not len(c):
        raise ConfigError(f"counts must be per-image (TP, FP, FN, TN) of shape (N, 4), got {c.shape}")
    if batch_size < 1:
        raise ConfigError(f"batch_size={batch_size} must be >= 1")
    iou, f1, weight = [], [], []
    for start in range(0, len(c), batch_size):
        tp, fp, fn, _ = c[start : start + batch_size].sum(axis=0)
        iou.append((tp + smooth) / (tp + fp + fn + smooth))
        f1.append((2 * tp + smooth) / (2 * tp + fp + fn + smooth))
        weight.append(min(batch_size, len(c) - start))
    return {"iou": float(np.average(iou, weights=weight)), "f1": float(np.average(f1, weights=weight))}


def bootstrap_unpaired_difference(a, b, n_boot: int = 2000, alpha: float = 0.05, seed: int = 0) -> tuple[float, float, float]:
    """mean(a) - mean(b) for two different sets of images (e.g. two test parts of two splits),
    with a percentile bootstrap CI that resamples each set independently."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if not len(a) or not len(b):
        raise ConfigError("both sets need at least one value for a difference")
    rng = np.random.default_rng(seed)
    diffs = a[rng.integers(0, len(a), (n_boot, len(a)))].mean(axis=1) - b[rng.integers(0, len(b), (n_boot, len(b)))].mean(axis=1)
    return float(a.mean() - b.mean()), float(np.quantile(diffs, alpha / 2)), float(np.quantile(diffs, 1 - alpha / 2))


def seed_interval(values, alpha: float = 0.05, bounds: tuple[float, float] | None = (0.0, 1.0)) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval over runs (seeds); (mean, nan, nan) for one run.

    The interval is cut to ``bounds`` (default [0, 1]: every segmentation metric is a fraction,
    and a t-interval of a few seeds near 0 or 1 otherwise reaches values no run can have);
    ``bounds=None`` for an unbounded quantity."""
    from scipy import stats

    v = np.asarray(values, dtype=np.float64)
    mean = float(v.mean())
    if len(v) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(1 - alpha / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    lo, hi = mean - half, mean + half
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return mean, lo, hi


@dataclass
class SegmentationScores:
    """Cumulative scorer: ``update`` with batches of binary predictions and targets (and case
    ids), then ``per_case()`` for the table and ``summary()`` for every definition."""

    empty: str = "one"

    def __post_init__(self) -> None:
        if self.empty not in EMPTY_POLICIES:
            raise ConfigError(f"unknown empty-mask policy {self.empty!r}: use one of {EMPTY_POLICIES}")
        self._counts: list[np.ndarray] = []
        self._ids: list[str] = []

    def update(self, pred, target, case_ids=None, extents=None) -> np.ndarray:
        """Add a batch; ``extents`` limits each image to its own pixels (:func:`confusion_counts`)."""
        counts = confusion_counts(pred, target, extents)
        start = len(self._ids)
        ids = list(case_ids) if case_ids is not None else [str(start + i) for i in range(len(counts))]
        if len(ids) != len(counts):
            raise ConfigError(f"{len(ids)} case ids for {len(counts)} predictions")
        self._counts.append(counts)
        self._ids.extend(str(i) for i in ids)
        return counts

    @property
    def counts(self) -> np.ndarray:
        return np.concatenate(self._counts) if self._counts else np.zeros((0, 4), dtype=np.int64)

    def per_case(self):
        import pandas as pd

        c = self.counts
        return pd.DataFrame(
            {
                "case_id": self._ids,
                "tp": c[:, 0],
                "fp": c[:, 1],
                "fn": c[:, 2],
                "tn": c[:, 3],
                "has_lesion": (c[:, 0] + c[:, 2]) > 0,
                "dice": dice_from_counts(c, self.empty),
                "iou": iou_from_counts(c, self.empty),
            }
        )

    def summary(self) -> dict[str, float]:
        return summarize_counts(self.counts, self.empty)
