"""Pure array functions for mammogram preprocessing.

Each function takes a 2-D array and returns a new one; inputs are never modified. Used by
the papers as follows: CLAHE (p1 sec II.1, p2 sec 3.2, p5), border crop, median filter and the
conversion of 16-bit DICOM pixels to 8-bit JPEG (p5 sec 2.4), resize keeping the aspect ratio with zero padding (all: the papers resize to a square
256 x 256 or 224 x 224; padding instead of stretching keeps mass shapes intact), and
normalisation to [0, 1] or zero mean / unit variance.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from mammorepro.errors import ConfigError


def _check_2d(image: np.ndarray, name: str = "image") -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 2:
        shape = getattr(image, "shape", type(image).__name__)
        raise ConfigError(f"{name} must be a 2-D grayscale array, got shape {shape}: convert RGB to gray first")


def crop_border(image: np.ndarray, fraction: float = 0.01) -> np.ndarray:
    """Remove ``fraction`` of the height and width on every side (scanner borders, p5 sec 3.1)."""
    _check_2d(image)
    h, w = cropped_shape(image.shape, fraction)
    dy, dx = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
    return image[dy : dy + h, dx : dx + w].copy()


def cropped_shape(shape: tuple[int, int], fraction: float) -> tuple[int, int]:
    """The shape :func:`crop_border` leaves of an image of ``shape``."""
    if not 0 <= fraction < 0.5:
        raise ConfigError(f"border crop fraction {fraction} must be in [0, 0.5)")
    h, w = int(shape[0]), int(shape[1])
    dy, dx = int(round(h * fraction)), int(round(w * fraction))
    return h - 2 * dy, w - 2 * dx


def clahe(image: np.ndarray, clip_limit: float = 2.0, tile_grid: int = 8) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation (Zuiderveld 1994) with OpenCV.

    ``clip_limit`` follows OpenCV's convention (relative to the mean bin count) and
    ``tile_grid`` is the number of tiles per side. uint8 and uint16 inputs keep their dtype;
    float inputs in [0, 1] are processed at 16 bits and returned as float32 in [0, 1].
    """
    _check_2d(image)
    if clip_limit <= 0 or tile_grid < 1:
        raise ConfigError(f"CLAHE clip_limit={clip_limit} must be > 0 and tile_grid={tile_grid} >= 1")
    op = cv2.createCLAHE(clipLimit=float(clip_limit), tileGridSize=(int(tile_grid), int(tile_grid)))
    if image.dtype in (np.uint8, np.uint16):
        return op.apply(np.ascontiguousarray(image))
    as16 = np.round(np.clip(image, 0, 1) * 65535).astype(np.uint16)
    return op.apply(as16).astype(np.float32) / 65535.0


def to_8bit_jpeg(image: np.ndarray, quality: int = 95) -> np.ndarray:
    """The DICOM -> JPEG conversion of p5 sec 2.4: scale the image's own value range to 0..255
    (what DICOM converters do), round to 8 bits and round-trip through JPEG at ``quality``
    (OpenCV's default is 95; the paper names no quality). Returns uint8."""
    _check_2d(image)
    if not 1 <= int(quality) <= 100:
        raise ConfigError(f"JPEG quality {quality} must be in 1..100 (0 in a PreprocessConfig switches the step off)")
    x = image.astype(np.float32)
    lo, hi = float(x.min()), float(x.max())
    x8 = np.round((x - lo) / (hi - lo) * 255).astype(np.uint8) if hi > lo else np.zeros(image.shape, np.uint8)
    ok, buf = cv2.imencode(".jpg", x8, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV encodes any 2-D uint8 array
        raise ConfigError("OpenCV could not encode the image as JPEG")
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


def median_filter(image: np.ndarray, size: int = 3) -> np.ndarray:
    """Median filter with a ``size x size`` window (p5 sec 3.1 uses skimage's median)."""
    _check_2d(image)
    if size < 1 or size % 2 == 0:
        raise ConfigError(f"median filter size {size} must be an odd positive integer")
    return ndimage.median_filter(image, size=size, mode="reflect")


def resize_pad(
    image: np.ndarray, size: int, *, is_mask: bool = False, anchor: str = "center"
) -> tuple[np.ndarray, dict]:
    """Resize so the long side is ``size`` keeping the aspect ratio, then zero-pad to ``size x size``.

    Returns the array and the geometry (scale and offsets) needed to map predictions back.
    Images use area interpolation (anti-aliased downsampling); masks are resized as area
    fractions and thresholded at 0.5, so small masses are not lost to nearest-neighbour.
    """
    _check_2d(image, "mask" if is_mask else "image")
    g = pad_geometry(image.shape, size, anchor)
    (h, w), scale, (nh, nw), (oy, ox) = image.shape, g["scale"], g["resized"], g["offset"]
    src = image.astype(np.float32)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out = cv2.resize(src, (nw, nh), interpolation=interp)
    if is_mask:
        out = (out >= 0.5).astype(image.dtype)
    else:
        out = out.astype(image.dtype) if np.issubdtype(image.dtype, np.floating) else np.round(out).astype(image.dtype)
    canvas = np.zeros((size, size), dtype=out.dtype)
    canvas[oy : oy + nh, ox : ox + nw] = out
    return canvas, g


def pad_geometry(shape: tuple[int, int], size: int, anchor: str = "center") -> dict:
    """Where :func:`resize_pad` puts an image of ``shape`` on its ``size x size`` canvas: the
    scale, the resized (height, width), the offset of its top-left corner and the original shape.
    The image's own pixels are ``canvas[oy : oy + nh, ox : ox + nw]``; the rest is padding."""
    if size < 8:
        raise ConfigError(f"target size {size} must be at least 8 pixels")
    h, w = int(shape[0]), int(shape[1])
    scale = size / max(h, w)
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    oy = (size - nh) // 2 if anchor == "center" else 0
    ox = (size - nw) // 2 if anchor == "center" else 0
    return {"scale": scale, "offset": (oy, ox), "resized": (nh, nw), "original": (h, w)}


def normalize(image: np.ndarray, mode: str = "minmax") -> np.ndarray:
    """Scale to float32: ``minmax`` -> [0, 1] by the dtype's range (integers) or the data range
    (floats); ``zscore`` -> zero mean, unit variance over the image."""
    _check_2d(image)
    x = image.astype(np.float32)
    if mode == "minmax":
        if np.issubdtype(image.dtype, np.integer):
            return x / float(np.iinfo(image.dtype).max)
        lo, hi = float(x.min()), float(x.max())
        return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    if mode == "zscore":
        return (x - x.mean()) / (x.std() + 1e-6)
    raise ConfigError(f"unknown normalisation mode {mode!r}: use 'minmax' or 'zscore'")
