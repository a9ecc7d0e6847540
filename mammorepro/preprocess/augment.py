"""Training-time augmentation with albumentations (rotation, flips, zoom, contrast; p2 sec 3.3).

``NO_ALBUMENTATIONS_UPDATE`` is set before albumentations is imported: otherwise it asks the
network for a newer version at import time, which fails offline.
"""

from __future__ import annotations

import os
import warnings

import numpy as np


class Augmentation:
    """A picklable albumentations pipeline (so DataLoader workers can be spawned) whose random
    stream is reseeded explicitly: ``reseed(seed)`` at each epoch makes a rerun, a resumed run
    and every DataLoader worker draw reproducible, distinct augmentations."""

    def __init__(self, flip: bool, rotate: float, zoom: float, contrast: float, p: float, seed: int):
        self.params = {"flip": flip, "rotate": rotate, "zoom": zoom, "contrast": contrast, "p": p}
        self.seed = seed
        self._pipeline = None

    def __getstate__(self):
        return {"params": self.params, "seed": self.seed, "_pipeline": None}

    def _build(self):
        os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
        with warnings.catch_warnings():
            # albumentations pulls in huggingface_hub, which imports tqdm.auto: without ipywidgets
            # that warns in every notebook; no progress bar is ever shown from here
            warnings.filterwarnings("ignore", message="IProgress not found")
            import albumentations as A
        import cv2

        k = self.params
        steps = []
        if k["flip"]:
            steps += [A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5)]
        if k["rotate"] or k["zoom"]:
            steps.append(
                A.Affine(
                    rotate=(-k["rotate"], k["rotate"]),
                    scale=(1 - k["zoom"], 1 + k["zoom"]),
                    border_mode=cv2.BORDER_CONSTANT,
                    fill=0,
                    fill_mask=0,
                    p=k["p"],
                )
            )
        if k["contrast"]:
            steps.append(A.RandomBrightnessContrast(brightness_limit=k["contrast"], contrast_limit=k["contrast"], p=k["p"]))
        return A.Compose(steps, seed=self.seed)

    def reseed(self, seed: int) -> None:
        self.seed = int(seed) % 2**32
        self._pipeline = None

    def __call__(self, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._pipeline is None:
            self._pipeline = self._build()
        out = self._pipeline(image=image, mask=mask)
        return out["image"], out["mask"]


def build_augmentation(
    flip: bool = True, rotate: float = 15.0, zoom: float = 0.1, contrast: float = 0.1, p: float = 0.5, seed: int = 0
) -> Augmentation | None:
    """Random flips, rotation, zoom and contrast; ``None`` when every knob is off. Masks follow the
    geometry with nearest-neighbour interpolation."""
    if not (flip or rotate or zoom or contrast):
        return None
    return Augmentation(flip, rotate, zoom, contrast, p, seed)
