"""Multi-scale fusion (MSF) of detections, Yan et al. sec. 3.2, eq. (1) and Fig. 3.

1. the detector runs on the same mammogram at several input scales;
2. each detected box ``B_i`` with confidence ``c_i`` becomes a mask ``M_i`` equal to ``c_i``
   inside the box and 0 elsewhere; the masks are fused as
   ``M_s = sum_i M_i / (N * max_i c_i)`` (eq. 1), ``N`` being the number of scales, so a box
   found at every scale with the top confidence reaches 1;
3. ``M_s >= lambda`` is kept (majority voting), its connected components are labelled and each
   component gives one box, half-open ``[min_x, max_x) x [min_y, max_y)``.

``lambda = 0`` is read as the paper describes it ("we keep all the detections"): every pixel
covered by at least one box (``M_s > 0``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mammorepro.errors import ConfigError


@dataclass
class Fused:
    boxes: np.ndarray  # (K, 4) half-open boxes of the kept components
    scores: np.ndarray  # (K,) the largest M_s inside each component (used to rank them)
    fusion: np.ndarray  # M_s, the normalised confidence mask (H, W)


def confidence_mask(boxes: np.ndarray, scores: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The sum of the per-box masks ``M_i`` (box region = its confidence), unnormalised."""
    out = np.zeros(shape, np.float64)
    for (x0, y0, x1, y1), c in zip(np.asarray(boxes).reshape(-1, 4), np.asarray(scores).reshape(-1)):
        r0, r1 = int(np.clip(np.floor(y0), 0, shape[0])), int(np.clip(np.ceil(y1), 0, shape[0]))
        c0, c1 = int(np.clip(np.floor(x0), 0, shape[1])), int(np.clip(np.ceil(x1), 0, shape[1]))
        out[r0:r1, c0:c1] += float(c)
    return out


def component_boxes(keep: np.ndarray) -> list[np.ndarray]:
    """One half-open box per 8-connected component of a binary mask, in label order."""
    labels, _ = ndimage.label(keep, structure=np.ones((3, 3), bool))
    out = []
    for sl in ndimage.find_objects(labels):
        out.append(np.array([sl[1].start, sl[0].start, sl[1].stop, sl[0].stop], np.float32))
    return out


def fuse_scales(per_scale: Sequence[tuple[np.ndarray, np.ndarray]], shape: tuple[int, int], lam: float) -> Fused:
    """Fuse the detections of ``N = len(per_scale)`` scales, each ``(boxes (B, 4), scores (B,))``
    in the coordinates of an image of ``shape``, and keep ``M_s >= lam`` (eq. 1)."""
    if not 0 <= lam <= 1:
        raise ConfigError(f"lambda={lam} must be in [0, 1] (the paper tests 0, 0.5, 0.6, 0.7)")
    if not per_scale:
        raise ConfigError("multi-scale fusion needs the detections of at least one scale")
    all_scores = np.concatenate([np.asarray(s, np.float64).reshape(-1) for _, s in per_scale])
    if all_scores.size == 0:
        return Fused(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(shape, np.float64))
    total = sum(confidence_mask(b, s, shape) for b, s in per_scale)
    fusion = total / (len(per_scale) * all_scores.max())
    keep = fusion > 0 if lam == 0 else fusion >= lam
    boxes = component_boxes(keep)
    scores = [float(fusion[int(b[1]) : int(b[3]), int(b[0]) : int(b[2])].max()) for b in boxes]
    return Fused(np.stack(boxes) if boxes else np.zeros((0, 4), np.float32), np.asarray(scores, np.float32), fusion)
