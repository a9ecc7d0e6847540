"""The non-learned segmenter every real table is scored against: the brightest region.

Masses are denser than the fat around them, so they are among the brightest pixels of a
mammogram; so are glandular tissue, the pectoral muscle and labels, which is why this is a
baseline and not a method. For one image (grey levels in [0, 1], as the networks see it):

1. the breast is the pixels above :data:`BREAST_LEVEL` (the background is ~0 after the
   preprocessing chain);
2. the candidate is every breast pixel at or above the ``quantile`` of the breast's grey levels;
3. the mask is the largest 8-connected region of the candidate.

The one number, ``quantile``, is chosen on the training images (the grid :data:`QUANTILES`, by
mean Dice over the training images that hold a lesion), never on the test part. Nothing is
trained by gradient: a network that does not beat this has not shown it learned more than
"masses are bright".
"""

from __future__ import annotations

import cv2
import numpy as np

from mammorepro.errors import ConfigError

BREAST_LEVEL = 0.02
QUANTILES = (0.8, 0.85, 0.9, 0.95, 0.97, 0.99)


def brightest_region(image: np.ndarray, quantile: float) -> np.ndarray:
    """The mask (bool, H x W) of one image: the largest connected region of breast pixels at or
    above the breast's ``quantile`` grey level; empty when the image has no breast pixels."""
    if not 0 < quantile < 1:
        raise ConfigError(f"quantile={quantile} must be in (0, 1)")
    image = np.asarray(image, dtype=np.float32)
    breast = image > BREAST_LEVEL
    if not breast.any():
        return np.zeros(image.shape, bool)
    candidate = (image >= np.quantile(image[breast], quantile)) & breast
    n, labels, stats, _ = cv2.connectedComponentsWithStats(candidate.astype(np.uint8), connectivity=8)
    if n <= 1:
        return candidate
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels == largest


def segment(images: np.ndarray, quantile: float) -> np.ndarray:
    """Masks (N, H, W) bool of a stack of images (N, H, W)."""
    images = np.asarray(images)
    return np.stack([brightest_region(im, quantile) for im in images]) if len(images) else np.zeros(images.shape, bool)


def _dice(pred: np.ndarray, truth: np.ndarray) -> float:
    inter = np.logical_and(pred, truth).sum()
    total = pred.sum() + truth.sum()
    return float(2 * inter / total) if total else 1.0


def fit_quantile(images: np.ndarray, masks: np.ndarray, grid: tuple[float, ...] = QUANTILES) -> float:
    """The grid's quantile with the highest mean Dice over the training images that hold a
    lesion (the first of equal ones); the grid's middle value when no image holds one."""
    masks = np.asarray(masks) > 0
    lesion = [i for i in range(len(masks)) if masks[i].any()]
    if not lesion:
        return grid[len(grid) // 2]
    scores = [np.mean([_dice(brightest_region(images[i], q), masks[i]) for i in lesion]) for q in grid]
    return float(grid[int(np.argmax(scores))])
