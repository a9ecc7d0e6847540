"""Turning probability maps into masks: a fixed threshold, or Otsu's threshold per image.

The p1 authors' released evaluation (``utils/Evaluate.py``) binarises each predicted map with
Otsu's threshold (Otsu 1979) instead of 0.5, so every map yields some foreground; this module
lets a chapter score a model under that rule next to the fixed one.
"""

from __future__ import annotations

import cv2
import numpy as np

from mammorepro.errors import ConfigError


def _grey(prob: np.ndarray) -> np.ndarray:
    """A probability map on 256 grey levels (0..255), as the authors' uint8 maps."""
    return np.clip(np.rint(np.asarray(prob, dtype=np.float32) * 255), 0, 255).astype(np.uint8)


def otsu_level(prob: np.ndarray) -> int | None:
    """Otsu's grey level (0..255) of one probability map; ``None`` for a constant map."""
    grey = _grey(prob)
    if grey.min() == grey.max():
        return None
    level, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return int(level)


def otsu_threshold(prob: np.ndarray) -> float:
    """Otsu's threshold of one probability map (values in [0, 1]) as a probability: the mask is
    the pixels whose grey level (``rint(255 p)``) is above ``255 * threshold``. A constant map has
    no threshold to find: 0.5 is returned."""
    level = otsu_level(prob)
    return 0.5 if level is None else level / 255.0


def otsu_mask(prob: np.ndarray) -> np.ndarray:
    """The authors' rule on one map: grey level above Otsu's level, compared on the 256-level
    map itself (so a confident background that rounds to 0 stays background). A constant map
    is thresholded at 0.5."""
    level = otsu_level(prob)
    if level is None:
        return np.asarray(prob) >= 0.5
    return _grey(prob) > level


def binarize(probs: np.ndarray, threshold: float | str = 0.5) -> np.ndarray:
    """Masks (bool) from probabilities (N, H, W): ``p >= threshold``, or with ``"otsu"`` each
    image's own Otsu rule (:func:`otsu_mask`)."""
    probs = np.asarray(probs)
    if isinstance(threshold, str) and threshold == "otsu":
        return np.stack([otsu_mask(p) for p in probs]) if len(probs) else probs.astype(bool)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise ConfigError(f"threshold={threshold!r}: use a number in (0, 1) or 'otsu'")
    return probs >= threshold
