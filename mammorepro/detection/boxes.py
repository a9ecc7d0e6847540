"""Boxes from masks, scaled between image sizes, and their overlaps.

A box is ``(x0, y0, x1, y1)`` in pixels with half-open intervals, as Yan et al. define the
fused boxes (sec. 3.2): a box covers columns ``x0 <= x < x1`` and rows ``y0 <= y < y1``, so
its width is ``x1 - x0``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def mask_box(mask: np.ndarray) -> np.ndarray | None:
    """The half-open bounding box of a mask's non-zero pixels, or None when it is empty."""
    rows = np.flatnonzero(np.any(mask, axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(np.any(mask, axis=0))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=np.float32)


def boxes_from_masks(masks: Sequence[np.ndarray]) -> np.ndarray:
    """One box per non-empty lesion mask, as an (N, 4) float32 array (one mass, one box)."""
    boxes = [b for b in (mask_box(m) for m in masks) if b is not None]
    return np.stack(boxes) if boxes else np.zeros((0, 4), np.float32)


def scale_boxes(boxes: np.ndarray, from_hw: tuple[int, int], to_hw: tuple[int, int]) -> np.ndarray:
    """Boxes of an image of size ``from_hw`` expressed on the same image resized to ``to_hw``."""
    sy, sx = to_hw[0] / from_hw[0], to_hw[1] / from_hw[1]
    return np.asarray(boxes, np.float32).reshape(-1, 4) * np.array([sx, sy, sx, sy], np.float32)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) boxes -> (N, M)."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def square_crop_box(box: np.ndarray, margin: float, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The square window around a box used to cut a segmentation patch: side = the box's long
    side times ``1 + 2 * margin``, centred on the box, shifted to stay inside the image when it
    fits (it is clipped only when the image is smaller). Integer, half-open ``(x0, y0, x1, y1)``."""
    x0, y0, x1, y1 = (float(v) for v in box)
    side = max(x1 - x0, y1 - y0, 1.0) * (1 + 2 * margin)
    side = int(np.ceil(min(side, shape[0], shape[1])))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left = int(round(cx - side / 2))
    top = int(round(cy - side / 2))
    left = min(max(left, 0), max(shape[1] - side, 0))
    top = min(max(top, 0), max(shape[0] - side, 0))
    return left, top, min(left + side, shape[1]), min(top + side, shape[0])
