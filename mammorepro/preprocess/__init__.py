"""Preprocessing: pure array operations, the configurable chain, and augmentation."""

from mammorepro.preprocess.ops import clahe, crop_border, median_filter, normalize, resize_pad, to_8bit_jpeg
from mammorepro.preprocess.pipeline import PreprocessConfig, image_extent, preprocess_case, preprocess_steps

__all__ = [
    "PreprocessConfig",
    "clahe",
    "crop_border",
    "image_extent",
    "median_filter",
    "normalize",
    "preprocess_case",
    "preprocess_steps",
    "resize_pad",
    "to_8bit_jpeg",
]
