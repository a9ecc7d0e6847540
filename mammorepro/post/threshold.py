"""Turning probability maps into masks: a fixed threshold, or Otsu's threshold per image.

The p1 authors' released evaluation (``utils/Evaluate.py``) binarises each predicted map with
Otsu's threshold (Otsu 1979) instead of 0.5, so every map yields some foreground; this module
lets a chapter score a model under that rule next to the fixed one.
"""

from __future__ import annotations

import cv2
import numpy as np

from mammorepro.errors import ConfigError


def otsu_threshold(prob: np.ndarray) -> float:
    """Otsu's threshold of one probability map (values in [0, 1]), on 256 grey levels.
    A constant map has no threshold to find: 0.5 is returned."""
    grey = np.clip(np.rint(np.asarray(prob, dtype=np.float32) * 255), 0, 255).astype(np.uint8)
    if grey.min() == grey.max():
        return 0.5
    level, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return float(level) / 255.0


def binarize(probs: np.ndarray, threshold: float | str = 0.5) -> np.ndarray:
    """Masks (bool) from probabilities (N, H, W): ``p >= threshold``, or with ``"otsu"`` each
    image's own Otsu threshold (``p > t``, as cv2 and the authors' code apply it)."""
    probs = np.asarray(probs)
    if threshold == "otsu":
        return np.stack([p > otsu_threshold(p) for p in probs]) if len(probs) else probs.astype(bool)
    if not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise ConfigError(f"threshold={threshold!r}: use a number in (0, 1) or 'otsu'")
    return probs >= threshold
