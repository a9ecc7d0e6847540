"""The preprocessing chain as one configurable object, applied the same way to every dataset.

Order: [8-bit JPEG] -> border crop -> CLAHE -> resize with aspect kept (pad) -> [median filter]
-> normalise, the order of p5 sec 2.4 (the one paper that uses the JPEG and median steps: it
converts to JPEG first and filters the 224 x 224 image). Geometric steps (crop, resize) are
applied to the mask too; intensity steps are not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from mammorepro.errors import ConfigError
from mammorepro.preprocess import ops


@dataclass(frozen=True)
class PreprocessConfig:
    """Flat, serialisable preprocessing parameters (0 switches a step off where noted)."""

    image_size: int = 256
    border_crop: float = 0.01  # fraction removed on each side; 0 = off
    clahe: bool = True
    clahe_clip: float = 2.0
    clahe_tiles: int = 8
    median: int = 0  # window size, applied after the resize (p5); 0 = off
    jpeg_quality: int = 0  # 16-bit -> 8-bit JPEG round trip first (p5 sec 2.4); 0 = off
    normalize: str = "minmax"

    def __post_init__(self) -> None:
        if self.image_size < 8:
            raise ConfigError(f"image_size={self.image_size} is too small: use at least 8 (32 or more for U-Nets)")
        if self.median not in (0, 1) and self.median % 2 == 0:
            raise ConfigError(f"median={self.median} must be 0 (off) or an odd window size")
        if not 0 <= self.jpeg_quality <= 100:
            raise ConfigError(f"jpeg_quality={self.jpeg_quality} must be 0 (off) or a JPEG quality in 1..100")

    def to_dict(self) -> dict:
        return asdict(self)


def preprocess_steps(image: np.ndarray, cfg: PreprocessConfig) -> list[tuple[str, np.ndarray]]:
    """Every intermediate image of the chain, named, for display (the tour notebook shows them)."""
    out = [("input", image)]
    x = image
    if cfg.jpeg_quality:
        x = ops.to_8bit_jpeg(x, cfg.jpeg_quality)
        out.append((f"8-bit JPEG, quality {cfg.jpeg_quality}", x))
    if cfg.border_crop > 0:
        x = ops.crop_border(x, cfg.border_crop)
        out.append((f"border crop {cfg.border_crop:.0%}", x))
    if cfg.clahe:
        x = ops.clahe(x, cfg.clahe_clip, cfg.clahe_tiles)
        out.append((f"CLAHE clip {cfg.clahe_clip}, {cfg.clahe_tiles}x{cfg.clahe_tiles} tiles", x))
    x, _ = ops.resize_pad(x, cfg.image_size)
    out.append((f"resize + pad to {cfg.image_size}", x))
    if cfg.median > 1:
        x = ops.median_filter(x, cfg.median)
        out.append((f"median {cfg.median}x{cfg.median}", x))
    out.append((f"normalise ({cfg.normalize})", ops.normalize(x, cfg.normalize)))
    return out


def image_extent(shape: tuple[int, int], cfg: PreprocessConfig) -> tuple[int, int, int, int]:
    """(y0, x0, y1, x1): where an image of ``shape`` lies on the preprocessed square canvas after
    the border crop and the aspect-keeping resize; outside it is zero padding, which metrics
    never score (a 1024 x 512 image at 256 px covers 256 x 128 of the 256 x 256 canvas)."""
    h, w = ops.cropped_shape(shape, cfg.border_crop) if cfg.border_crop > 0 else tuple(shape)
    g = ops.pad_geometry((h, w), cfg.image_size)
    (oy, ox), (nh, nw) = g["offset"], g["resized"]
    return oy, ox, oy + nh, ox + nw


def preprocess_case(image: np.ndarray, mask: np.ndarray | None, cfg: PreprocessConfig):
    """Apply the chain to one image (and its mask). Returns (float32 image, uint8 mask or None)."""
    if mask is not None and mask.shape != image.shape:
        raise ConfigError(
            f"mask shape {mask.shape} differs from image shape {image.shape}: fix the pair, never stretch it"
        )
    x = preprocess_steps(image, cfg)[-1][1]
    if mask is None:
        return x, None
    m = ops.crop_border(mask, cfg.border_crop) if cfg.border_crop > 0 else mask
    m, _ = ops.resize_pad(m.astype(np.uint8), cfg.image_size, is_mask=True)
    return x, m
