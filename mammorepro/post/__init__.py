"""Post-processing of probability maps: the fully connected CRF of p1 (:mod:`mammorepro.post.crf`)."""

from mammorepro.post.crf import CRFParams, dense_crf

__all__ = ["CRFParams", "dense_crf"]
