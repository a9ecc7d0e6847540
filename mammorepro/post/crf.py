"""Fully connected (dense) CRF refinement of a foreground probability map (p1 sec. II.1, Fig. 2).

Mean-field inference of Krähenbühl & Koltun (2011) with pydensecrf2 (import name
``pydensecrf``). The unary term is -log of the network's probabilities, shifted by
``prob_shift`` towards the mass and clipped to (0, 1). A Gaussian kernel (spatial std
``gaussian_sxy`` pixels) smooths labels. A bilateral kernel (spatial std ``bilateral_sxy``,
intensity std ``bilateral_schan`` in grey levels 0..255 of the grayscale image) pulls labels
along intensity edges.

The defaults are the values of the authors' released ``utils/PostProcessing.py`` (a function
left inside a string literal there, but the only statement of their settings): spatial stds
3 and 7, intensity std 0.001 on a [0, 1] image (0.255 grey levels), both compatibilities 1,
5 iterations -- except its ``probabilities + 0.1``, which is ``prob_shift=0.1``, not the default.
That shift is why DS U-Net + CRF labelled almost every pixel as mass on the phantom: a network
that has not learned outputs a flat map just below 0.5 (0.42-0.49); +0.1 lifts every pixel above
0.5, the unary then prefers mass everywhere, and the nearly pixel-local kernels have no evidence
to undo it. The paper states a unary "from the probabilities" and no shift, so the default is
0: a map below 0.5 everywhere stays background, one above 0.5 stays mass
(tests/test_crf.py::test_a_flat_map_keeps_its_label_without_the_released_shift).

With so small an intensity std the bilateral kernel links almost no pixel pairs, so the
released CRF acts mostly as a light Gaussian smoother: the p1 chapter says so, and every value is a parameter (pydensecrf's own example uses intensity std
13 and compatibilities 3 and 10).
"""

from __future__ import annotations

import numpy as np

from mammorepro.errors import ConfigError
from mammorepro.post.crf_params import CRFParams


def dense_crf(prob: np.ndarray, image: np.ndarray, params: CRFParams | None = None) -> np.ndarray:
    """Refine a foreground probability map (H x W, values in [0, 1]) with the grayscale image
    (H x W; uint8, uint16 or float in [0, 1]). Returns the refined foreground probability."""
    try:
        import pydensecrf.densecrf as dcrf
        from pydensecrf.utils import create_pairwise_bilateral, create_pairwise_gaussian, unary_from_softmax
    except ImportError:
        raise ConfigError("the dense CRF needs pydensecrf2: pip install pydensecrf2 (it builds from source in about a minute)") from None
    p = params or CRFParams()
    prob = np.asarray(prob, dtype=np.float32)
    if prob.ndim != 2 or image.shape != prob.shape:
        raise ConfigError(f"CRF needs a 2-D probability map and an image of the same size, got {prob.shape} and {image.shape}")
    if np.issubdtype(image.dtype, np.integer):
        grey = image.astype(np.float32) * (255.0 / np.iinfo(image.dtype).max)
    else:
        grey = np.clip(image.astype(np.float32), 0, 1) * 255.0
    h, w = prob.shape
    eps = 1e-6
    fg = np.clip(prob + p.prob_shift, eps, 1 - eps)
    softmax = np.stack([1 - fg, fg])
    crf = dcrf.DenseCRF(h * w, 2)
    crf.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(softmax)))
    crf.addPairwiseEnergy(create_pairwise_gaussian(sdims=(p.gaussian_sxy, p.gaussian_sxy), shape=(h, w)), compat=p.gaussian_compat)
    bilateral = create_pairwise_bilateral(
        sdims=(p.bilateral_sxy, p.bilateral_sxy), schan=(p.bilateral_schan,), img=grey[:, :, None], chdim=2
    )
    crf.addPairwiseEnergy(bilateral, compat=p.bilateral_compat)
    q = np.array(crf.inference(p.iterations), dtype=np.float32)
    return q[1].reshape(h, w)


def dense_crf_batch(probs: np.ndarray, images: np.ndarray, params: CRFParams | None = None) -> np.ndarray:
    """:func:`dense_crf` over a batch (N, H, W) of probability maps and their images."""
    if len(probs) != len(images):
        raise ConfigError(f"{len(probs)} probability maps but {len(images)} images")
    return np.stack([dense_crf(p, i, params) for p, i in zip(probs, images)]) if len(probs) else np.asarray(probs, np.float32)


BACKENDS = ("pydensecrf", "torch")


def refine(probs: np.ndarray, images: np.ndarray, params: CRFParams | None = None, backend: str = "pydensecrf", device: str = "auto") -> np.ndarray:
    """The dense CRF over a batch with either backend: ``pydensecrf`` (the reference, CPU) or
    ``torch`` (:func:`mammorepro.post.crf_torch.dense_crf_torch`, on ``device``; a GPU when
    there is one)."""
    if backend == "pydensecrf":
        return dense_crf_batch(probs, images, params)
    if backend == "torch":
        from mammorepro.post.crf_torch import dense_crf_torch

        return dense_crf_torch(probs, images, params, device=device)
    raise ConfigError(f"crf_backend={backend!r}: use one of {', '.join(BACKENDS)}")
