"""Detection metrics of Yan et al. sec. 4.1: average precision at IoU >= 0.5 (Table 1, Fig. 4),
FROC curves (Fig. 5) and TPR@FPavg of a fixed set of detections (Tables 2-3).

A detection is a true positive when its IoU with a not-yet-matched ground-truth mass is at
least ``iou`` (0.5, the PASCAL VOC rule the paper uses for AP); detections are matched in
decreasing score order, each mass at most once, so a second box on the same mass is a false
positive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mammorepro.detection.boxes import box_iou


@dataclass
class Matched:
    scores: np.ndarray  # (D,) every detection of every image, sorted by decreasing score
    hits: np.ndarray  # (D,) True where the detection is a true positive
    n_masses: int
    n_images: int


RULES = ("iou", "centre")


def match_detections(
    detections: Sequence[tuple[np.ndarray, np.ndarray]], truths: Sequence[np.ndarray], iou: float = 0.5, rule: str = "iou"
) -> Matched:
    """Match each image's ``(boxes, scores)`` to its ground-truth boxes (greedy by score).

    ``rule="iou"``: a hit needs IoU >= ``iou``. ``rule="centre"``: a hit needs the mass's centre
    inside the box (the looser criterion common in mammography CAD, used here to tell a missed
    mass from a found one whose box is too large or too small for the IoU rule)."""
    if rule not in RULES:
        raise ValueError(f"unknown hit rule {rule!r}: use one of {RULES}")
    scores, hits = [], []
    for (boxes, sc), gt in zip(detections, truths, strict=True):
        boxes, sc = np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(sc, np.float32).reshape(-1)
        gt = np.asarray(gt, np.float32).reshape(-1, 4)
        order = np.argsort(-sc, kind="stable")
        overlaps = box_iou(boxes[order], gt) if len(gt) else np.zeros((len(order), 0))
        if rule == "iou":
            ok = overlaps >= iou
        else:
            cx, cy = (gt[:, 0] + gt[:, 2]) / 2, (gt[:, 1] + gt[:, 3]) / 2
            b = boxes[order]
            ok = (b[:, None, 0] <= cx) & (cx < b[:, None, 2]) & (b[:, None, 1] <= cy) & (cy < b[:, None, 3])
        taken = np.zeros(len(gt), bool)
        for row, d in enumerate(order):
            hit = False
            if overlaps.shape[1]:
                cand = np.where(taken | ~ok[row], -1.0, overlaps[row])
                j = int(np.argmax(cand))
                if cand[j] >= 0:
                    taken[j], hit = True, True
            scores.append(sc[d])
            hits.append(hit)
    scores, hits = np.asarray(scores, np.float32), np.asarray(hits, bool)
    order = np.argsort(-scores, kind="stable")
    return Matched(scores[order], hits[order], int(sum(len(g) for g in truths)), len(truths))


def average_precision(m: Matched) -> float:
    """Area under the precision-recall curve with precision made monotone (all-point
    interpolation, PASCAL VOC 2010+). 0 when there is no mass; masses never detected lower
    the reachable recall."""
    if m.n_masses == 0:
        return float("nan")
    tp = np.cumsum(m.hits)
    fp = np.cumsum(~m.hits)
    recall = tp / m.n_masses
    precision = tp / np.maximum(tp + fp, 1)
    r = np.concatenate([[0.0], recall, [recall[-1] if len(recall) else 0.0]])
    p = np.concatenate([[1.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    return float(np.sum((r[1:] - r[:-1]) * p[1:]))


def precision_recall(m: Matched) -> tuple[np.ndarray, np.ndarray]:
    """(recall, precision) after each detection in score order (the paper's Fig. 4)."""
    tp = np.cumsum(m.hits)
    fp = np.cumsum(~m.hits)
    return tp / max(m.n_masses, 1), tp / np.maximum(tp + fp, 1)


def froc_curve(m: Matched) -> tuple[np.ndarray, np.ndarray]:
    """(FP per image, TPR) as the score threshold falls through every detection (Fig. 5)."""
    tp = np.cumsum(m.hits)
    fp = np.cumsum(~m.hits)
    return np.concatenate([[0.0], fp / max(m.n_images, 1)]), np.concatenate([[0.0], tp / max(m.n_masses, 1)])


def tpr_at_fp(m: Matched) -> tuple[float, float]:
    """TPR and average false positives per image of all the detections kept (Tables 2-3)."""
    return float(m.hits.sum() / max(m.n_masses, 1)), float((~m.hits).sum() / max(m.n_images, 1))


def tpr_at_fp_rate(m: Matched, fp_rate: float) -> float:
    """The FROC curve's TPR at ``fp_rate`` false positives per image (its last point at or below)."""
    fps, tpr = froc_curve(m)
    ok = fps <= fp_rate
    return float(tpr[ok].max()) if ok.any() else 0.0
