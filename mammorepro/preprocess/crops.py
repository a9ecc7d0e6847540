"""Class-balanced crop sampling (p4 sec. 3.1.2, Khan et al.).

The paper's rule for a crop of size ``x``: list the labels present in the image, drop the two
that are present in nearly every crop (background and mammary gland), pick one of the rest
uniformly, and centre the crop on a pixel of that label drawn uniformly. With the two classes
of this project (mass, everything else) that reads: an image with a mass gets its crop centred
on a uniformly drawn mass pixel; an image without one gets a uniformly drawn centre. The crop
is shifted to stay inside the image (zero-padded when the image is smaller than the crop).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from mammorepro.errors import ConfigError


def balanced_crop_centre(mask: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    """(row, col) of the crop centre: a uniform mass pixel if there is one, else a uniform pixel."""
    rows, cols = np.nonzero(mask)
    if rows.size:
        k = int(rng.integers(rows.size))
        return int(rows[k]), int(cols[k])
    return int(rng.integers(mask.shape[0])), int(rng.integers(mask.shape[1]))


def crop_at(array: np.ndarray, centre: tuple[int, int], size: int) -> np.ndarray:
    """A ``size`` x ``size`` window centred on ``centre`` as far as the image allows."""
    h, w = array.shape
    if h < size or w < size:
        array = np.pad(array, ((0, max(0, size - h)), (0, max(0, size - w))))
        h, w = array.shape
    top = min(max(centre[0] - size // 2, 0), h - size)
    left = min(max(centre[1] - size // 2, 0), w - size)
    return array[top : top + size, left : left + size]


class BalancedCropDataset(Dataset):
    """Training crops drawn afresh at every access with the balanced rule, then a horizontal
    flip and a contrast change, each with probability 0.5 (p4 sec. 3.2). Yields the engine's
    ``(image, mask, index)`` tuples; ``set_epoch`` reseeds it so reruns draw the same crops."""

    def __init__(self, images: np.ndarray, masks: np.ndarray, size: int, case_ids=None, seed: int = 0, contrast: float = 0.2):
        if len(images) != len(masks):
            raise ConfigError(f"{len(images)} images but {len(masks)} masks")
        if size < 8:
            raise ConfigError(f"crop size {size} is too small")
        self.images, self.masks, self.size, self.contrast = images, masks, size, contrast
        self.case_ids = list(case_ids) if case_ids is not None else [str(i) for i in range(len(images))]
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def set_epoch(self, seed: int, epoch: int) -> None:
        self.rng = np.random.default_rng([seed, epoch, self.seed])

    def __len__(self) -> int:
        return len(self.images)

    def mass_fraction(self, epochs: int = 4) -> float:
        """The fraction of mass pixels in the crops this dataset draws (``epochs`` passes with
        its own generator; its training stream is left untouched): the "x %" of the class
        weights, since the paper trains on the crop dataset."""
        rng = np.random.default_rng([self.seed, 7919])
        total = count = 0
        for _ in range(epochs):
            for mask in self.masks:
                crop = crop_at(mask, balanced_crop_centre(mask, rng), self.size)
                total += int(np.count_nonzero(crop))
                count += crop.size
        return total / max(count, 1)

    def __getitem__(self, i: int):
        centre = balanced_crop_centre(self.masks[i], self.rng)
        x = crop_at(self.images[i], centre, self.size).astype(np.float32)
        y = crop_at(self.masks[i], centre, self.size)
        if self.rng.random() < 0.5:
            x, y = x[:, ::-1], y[:, ::-1]
        if self.rng.random() < 0.5:
            factor = 1 + self.rng.uniform(-self.contrast, self.contrast)
            x = np.clip((x - x.mean()) * factor + x.mean(), 0, 1)
        x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]
        y = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))[None]
        return x, y, i
