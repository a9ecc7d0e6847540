"""Anchor boxes by k-means on the training boxes (YOLOv2 sec. "Dimension Clusters", used by
YOLOv3 and by Yan et al. sec. 3.2: "k-means clustering is used to recompute the 9 anchor
settings to adapt YOLOv3 to the target mammography datasets").

The distance is ``1 - IoU`` between boxes aligned at a common corner, so large boxes do not
dominate as they would with Euclidean distance.
"""

from __future__ import annotations

import numpy as np

from mammorepro.errors import ConfigError


def wh_iou(wh: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """IoU of (N, 2) widths/heights against (K, 2) anchors, boxes sharing one corner -> (N, K)."""
    inter = np.minimum(wh[:, None, 0], anchors[None, :, 0]) * np.minimum(wh[:, None, 1], anchors[None, :, 1])
    union = (wh[:, 0] * wh[:, 1])[:, None] + (anchors[:, 0] * anchors[:, 1])[None, :] - inter
    return inter / union


def kmeans_anchors(wh: np.ndarray, k: int = 9, seed: int = 0, iterations: int = 300) -> np.ndarray:
    """``k`` anchors (K, 2) as (width, height), sorted by area, from box sizes ``wh`` (N, 2).

    Lloyd iterations with the median as the cluster centre (robust to a few huge boxes);
    starts from ``k`` distinct boxes drawn with ``seed``. With fewer distinct boxes than ``k``
    the missing anchors repeat the largest ones, so the detector keeps its 9 outputs."""
    wh = np.asarray(wh, np.float64).reshape(-1, 2)
    if len(wh) == 0:
        raise ConfigError("no training boxes to cluster into anchors: the training part has no masses")
    if np.any(wh <= 0):
        raise ConfigError("box sizes for k-means anchors must be positive")
    distinct = np.unique(wh, axis=0)
    rng = np.random.default_rng(seed)
    centres = distinct[rng.choice(len(distinct), size=min(k, len(distinct)), replace=False)]
    for _ in range(iterations):
        nearest = np.argmax(wh_iou(wh, centres), axis=1)
        new = np.array([np.median(wh[nearest == j], axis=0) if np.any(nearest == j) else centres[j] for j in range(len(centres))])
        if np.allclose(new, centres):
            break
        centres = new
    centres = centres[np.argsort(centres[:, 0] * centres[:, 1])]
    if len(centres) < k:
        centres = np.concatenate([centres, np.repeat(centres[-1:], k - len(centres), axis=0)])
    return centres.astype(np.float32)


def mean_best_iou(wh: np.ndarray, anchors: np.ndarray) -> float:
    """The average IoU of each box with its best anchor (YOLOv2's "Avg IOU")."""
    return float(np.mean(np.max(wh_iou(np.asarray(wh, np.float64), np.asarray(anchors, np.float64)), axis=1)))
