"""The two-stage pipeline of p3 (Yan et al., sec. 3): candidate boxes from a detector, fused over
scales (MSF, eq. 1), each candidate cropped to a square equalised patch, segmented, and the patch
probabilities stitched back into the full image. The p3 chapter and the shared protocol both
call it here; their detector and segmenter recipes stay in the chapter (``papers/p3.py``).

Every function takes plain arrays and settings (no chapter config), so a detector of any kind
and any patch segmenter fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from torch import nn

from mammorepro.detection.boxes import square_crop_box
from mammorepro.detection.evaluation import match_detections, tpr_at_fp
from mammorepro.detection.msf import fuse_scales
from mammorepro.engine import ArraySegmentationDataset, TrainConfig, predict

Detections = list[tuple[np.ndarray, np.ndarray]]  # per image: boxes (K, 4) x0 y0 x1 y1, scores (K,)


@dataclass
class FullImages:
    """Full mammograms at the run's resolution with their masses."""

    case_ids: list[str]
    patient_ids: list[str]
    images: np.ndarray  # (N, H, W) float32 in [0, 1]
    masks: np.ndarray  # (N, H, W) uint8: union of the masses
    boxes: list[np.ndarray]  # per image (K, 4): one box per mass

    def subset(self, ids: list[str]) -> FullImages:
        pos = {c: i for i, c in enumerate(self.case_ids)}
        idx = [pos[c] for c in ids]
        return FullImages(list(ids), [self.patient_ids[i] for i in idx], self.images[idx], self.masks[idx], [self.boxes[i] for i in idx])

    def __len__(self) -> int:
        return len(self.case_ids)


# ----------------------------------------------------------------------------- stage 1: candidates


def kept(dets: Detections, score: float) -> Detections:
    """Only the detections scoring at least ``score``."""
    return [(b[s >= score], s[s >= score]) for b, s in dets]


def msf_candidates(per_scale: list[Detections], shape: tuple[int, int], lam: float, min_score: float) -> Detections:
    """Fused boxes per image at ``lam`` (eq. 1) from every scale's candidates scoring at least
    ``min_score``."""
    out = []
    for i in range(len(per_scale[0])):
        fused = fuse_scales([kept([scale[i]], min_score)[0] for scale in per_scale], shape, lam)
        out.append((fused.boxes, fused.scores))
    return out


def tpr_fp(candidates: Detections, truths: list[np.ndarray], hit_iou: float) -> dict:
    """TPR and FP per image of a fixed candidate set, under the IoU rule (a hit overlaps a mass
    with IoU >= ``hit_iou``) and the centre rule (the mass centre lies in the box)."""
    t, f = tpr_at_fp(match_detections(candidates, truths, hit_iou))
    tc, fc = tpr_at_fp(match_detections(candidates, truths, rule="centre"))
    return {"tpr": t, "fp_per_image": f, "tpr_centre": tc, "fp_per_image_centre": fc}


# ----------------------------------------------------------------------------- stage 2: patches


def equalize(x: np.ndarray) -> np.ndarray:
    """Histogram equalisation of a [0, 1] image on 256 grey levels (p3 sec. 4.2)."""
    return cv2.equalizeHist(np.clip(np.round(x * 255), 0, 255).astype(np.uint8)).astype(np.float32) / 255.0


def resize(a: np.ndarray, hw: tuple[int, int], mask: bool = False) -> np.ndarray:
    """Area interpolation when shrinking, bilinear when enlarging; a mask is re-binarised at 0.5."""
    interp = cv2.INTER_AREA if hw[0] < a.shape[0] else cv2.INTER_LINEAR
    out = cv2.resize(a.astype(np.float32), (hw[1], hw[0]), interpolation=interp)
    return (out >= 0.5).astype(np.uint8) if mask else out


def crop_patch(image: np.ndarray, box: np.ndarray, size: int, margin: float) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The equalised ``size`` x ``size`` patch cut around a box (a square window, ``margin``
    of the box's side added), and its window (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = square_crop_box(box, margin, image.shape)
    return equalize(resize(image[y0:y1, x0:x1], (size, size))), (x0, y0, x1, y1)


def patches(images: FullImages, size: int, margin: float, boxes: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, list[str], list[tuple]]:
    """Patches around ``boxes`` (default: the ground-truth masses) with their mask crops, ids
    ``<case>#<k>`` and windows ``(image index, x0, y0, x1, y1)``."""
    boxes = images.boxes if boxes is None else boxes
    xs, ys, ids, windows = [], [], [], []
    for i, (img, msk, bx) in enumerate(zip(images.images, images.masks, boxes)):
        for k, b in enumerate(np.asarray(bx).reshape(-1, 4)):
            x, (x0, y0, x1, y1) = crop_patch(img, b, size, margin)
            xs.append(x)
            ys.append(resize(msk[y0:y1, x0:x1], (size, size), mask=True))
            ids.append(f"{images.case_ids[i]}#{k}")
            windows.append((i, x0, y0, x1, y1))
    if not xs:
        return np.zeros((0, size, size), np.float32), np.zeros((0, size, size), np.uint8), [], []
    return np.stack(xs), np.stack(ys), ids, windows


def paste(probs: np.ndarray, windows: list[tuple], n: int, shape: tuple[int, int]) -> np.ndarray:
    """Put each patch's probabilities back into its window of the full image (the maximum where
    windows overlap); pixels outside every window are background."""
    full = np.zeros((n, *shape), np.float32)
    for p, (i, x0, y0, x1, y1) in zip(probs, windows):
        full[i, y0:y1, x0:x1] = np.maximum(full[i, y0:y1, x0:x1], resize(p, (y1 - y0, x1 - x0)))
    return full


def segment_candidates(model: nn.Module, images: FullImages, candidates: list[np.ndarray], size: int, margin: float, infer: TrainConfig | None = None) -> np.ndarray:
    """Stage 2 on full images: each candidate box cropped, segmented by ``model`` and pasted
    back; full-image probabilities (N, H, W), all background where there is no candidate."""
    x, _, ids, windows = patches(images, size, margin, candidates)
    if len(x) == 0:
        return np.zeros(images.masks.shape, np.float32)
    probs = predict(model, ArraySegmentationDataset(x, np.zeros(x.shape, np.uint8), ids), infer)
    return paste(probs, windows, len(images), images.images.shape[1:])
