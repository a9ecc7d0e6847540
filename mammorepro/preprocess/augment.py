"""Training-time augmentation with albumentations (rotation, flips, zoom, contrast; p2 sec 3.3).

``NO_ALBUMENTATIONS_UPDATE`` is set before albumentations is imported: otherwise it asks the
network for a newer version at import time, which fails offline.
"""

from __future__ import annotations

import os

import numpy as np


def build_augmentation(
    flip: bool = True, rotate: float = 15.0, zoom: float = 0.1, contrast: float = 0.1, p: float = 0.5, seed: int = 0
):
    """Return a callable ``(image, mask) -> (image, mask)`` applying random geometric and contrast
    changes; ``None`` when every knob is off. Masks follow the geometry with nearest-neighbour."""
    if not (flip or rotate or zoom or contrast):
        return None
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    import albumentations as A
    import cv2

    steps = []
    if flip:
        steps += [A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5)]
    if rotate or zoom:
        steps.append(
            A.Affine(
                rotate=(-rotate, rotate),
                scale=(1 - zoom, 1 + zoom),
                border_mode=cv2.BORDER_CONSTANT,
                fill=0,
                fill_mask=0,
                p=p,
            )
        )
    if contrast:
        steps.append(A.RandomBrightnessContrast(brightness_limit=contrast, contrast_limit=contrast, p=p))
    pipeline = A.Compose(steps, seed=seed)  # seeded: same augmentations on every rerun

    def apply(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = pipeline(image=image, mask=mask)
        return out["image"], out["mask"]

    return apply
