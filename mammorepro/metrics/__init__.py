"""Metrics: one module, every definition named (see :mod:`mammorepro.metrics.segmentation`)."""

from mammorepro.metrics.segmentation import (
    DEFINITIONS,
    EMPTY_POLICIES,
    SegmentationScores,
    batch_pooled,
    bootstrap_ci,
    bootstrap_pooled_ci,
    bootstrap_pooled_difference,
    bootstrap_unpaired_difference,
    confusion_counts,
    dice_from_counts,
    dice_per_image,
    iou_from_counts,
    iou_per_image,
    pooled_from_totals,
    seed_interval,
    summarize_counts,
)

__all__ = [
    "DEFINITIONS",
    "EMPTY_POLICIES",
    "SegmentationScores",
    "batch_pooled",
    "bootstrap_ci",
    "bootstrap_pooled_ci",
    "bootstrap_pooled_difference",
    "bootstrap_unpaired_difference",
    "confusion_counts",
    "dice_from_counts",
    "dice_per_image",
    "iou_from_counts",
    "iou_per_image",
    "pooled_from_totals",
    "seed_interval",
    "summarize_counts",
]
