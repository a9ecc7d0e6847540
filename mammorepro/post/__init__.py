"""Post-processing of probability maps: the fully connected CRF of p1 (:mod:`mammorepro.post.crf`)
and thresholding rules (:mod:`mammorepro.post.threshold`)."""

from mammorepro.post.crf import CRFParams, dense_crf, dense_crf_batch
from mammorepro.post.threshold import binarize, otsu_mask, otsu_threshold

__all__ = ["CRFParams", "binarize", "dense_crf", "dense_crf_batch", "otsu_mask", "otsu_threshold"]
