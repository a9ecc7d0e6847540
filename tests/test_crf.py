import numpy as np
import pytest

from mammorepro.errors import ConfigError
from mammorepro.metrics import dice_per_image
from mammorepro.post import CRFParams, dense_crf


def _disc_case(seed=0, size=64):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    truth = ((yy - 32) ** 2 + (xx - 30) ** 2 < 12**2).astype(np.uint8)
    image = (0.3 + 0.4 * truth + 0.03 * rng.standard_normal((size, size))).clip(0, 1).astype(np.float32)
    # a blurry, noisy network output whose 0.5 contour is too large and ragged
    from scipy import ndimage

    prob = ndimage.gaussian_filter(truth.astype(np.float32), 4) * 1.6 + 0.12 * rng.standard_normal((size, size))
    return image, truth, prob.clip(0, 1).astype(np.float32)


def test_crf_pulls_the_boundary_to_the_intensity_edge():
    image, truth, prob = _disc_case()
    refined = dense_crf(prob, image)
    assert refined.shape == prob.shape and refined.dtype == np.float32
    assert 0 <= refined.min() and refined.max() <= 1
    before = dice_per_image((prob >= 0.5)[None], truth[None])[0]
    after = dice_per_image((refined >= 0.5)[None], truth[None])[0]
    assert after > before + 0.05, (before, after)


def test_crf_parameters_are_checked_and_matter():
    image, _, prob = _disc_case(1)
    with pytest.raises(ConfigError, match="iterations"):
        CRFParams(iterations=0)
    with pytest.raises(ConfigError, match="same size"):
        dense_crf(prob, image[:10])
    weak = dense_crf(prob, image, CRFParams(gaussian_compat=0.01, bilateral_compat=0.01))
    assert np.abs(weak - prob).mean() < np.abs(dense_crf(prob, image) - prob).mean()


def test_crf_batch_equals_one_by_one_and_otsu_thresholds_each_map():
    from mammorepro.post import binarize, dense_crf_batch, otsu_threshold

    cases = [_disc_case(seed) for seed in (1, 2)]
    images = np.stack([c[0] for c in cases])
    probs = np.stack([c[2] for c in cases])
    batch = dense_crf_batch(probs, images)
    assert np.array_equal(batch[1], dense_crf(probs[1], images[1]))
    # Otsu on a two-level map lands between the levels; a constant map falls back to 0.5
    two = np.where(cases[0][1] > 0, 0.3, 0.1).astype(np.float32)
    assert 0.1 <= otsu_threshold(two) < 0.3
    assert np.array_equal(binarize(two[None], "otsu")[0], cases[0][1] > 0)
    assert otsu_threshold(np.full((4, 4), 0.2)) == 0.5
    with pytest.raises(ConfigError, match="otsu"):
        binarize(probs, 1.5)
