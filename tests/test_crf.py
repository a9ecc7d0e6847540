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


# an edge-aware setting (pydensecrf's example values): the bilateral kernel does the work
EDGE_AWARE = CRFParams(gaussian_compat=3.0, bilateral_schan=13.0, bilateral_compat=10.0, prob_shift=0.0)


def test_crf_pulls_the_boundary_to_the_intensity_edge():
    image, truth, prob = _disc_case()
    refined = dense_crf(prob, image, EDGE_AWARE)
    assert refined.shape == prob.shape and refined.dtype == np.float32
    assert 0 <= refined.min() and refined.max() <= 1
    before = dice_per_image((prob >= 0.5)[None], truth[None])[0]
    after = dice_per_image((refined >= 0.5)[None], truth[None])[0]
    assert after > before + 0.05, (before, after)


def test_default_crf_is_the_released_setting_without_its_shift_and_is_not_edge_aware():
    p = CRFParams()
    assert (p.iterations, p.gaussian_sxy, p.bilateral_sxy, p.gaussian_compat, p.bilateral_compat) == (5, 3.0, 7.0, 1.0, 1.0)
    assert p.bilateral_schan == pytest.approx(0.001 * 255) and p.prob_shift == 0.0
    # an intensity std of 0.26 grey levels links almost no pixel pairs across the disc's edge:
    # the released kernels act as a light smoother (they remove the ragged noise of the 0.5
    # contour: +0.059 Dice here), the edge-aware one snaps the contour to the edge (+0.097); the
    # released + 0.1 shift grows the too-large contour further and cancels the smoother's gain
    image, truth, prob = _disc_case(3)

    def dice(q):
        return dice_per_image((q >= 0.5)[None], truth[None])[0]

    released_gain = dice(dense_crf(prob, image)) - dice(prob)
    shifted_gain = dice(dense_crf(prob, image, CRFParams(prob_shift=0.1))) - dice(prob)
    edge_gain = dice(dense_crf(prob, image, EDGE_AWARE)) - dice(prob)
    assert shifted_gain < 0.03 < released_gain < edge_gain - 0.02 and edge_gain > 0.08, (shifted_gain, released_gain, edge_gain)


@pytest.mark.parametrize("level", [0.42, 0.47, 0.49])
def test_a_flat_map_keeps_its_label_without_the_released_shift(level):
    """Why DS U-Net + CRF once labelled almost every pixel as mass: an unlearned network's flat map
    just below 0.5, lifted above 0.5 by the released code's + 0.1. Without the shift (the
    default) the CRF keeps it background; with it, every pixel turns into mass."""
    image, _, _ = _disc_case(0)
    flat = np.full(image.shape, level, np.float32)
    assert (dense_crf(flat, image) < 0.5).all()
    assert (dense_crf(np.full(image.shape, 1 - level, np.float32), image) >= 0.5).all()
    assert (dense_crf(flat, image, CRFParams(prob_shift=0.1)) >= 0.5).all()


def test_crf_parameters_are_checked_and_matter():
    image, _, prob = _disc_case(1)
    for bad in ({"iterations": 0}, {"iterations": 2.5}, {"gaussian_compat": -1.0}, {"prob_shift": 1.5}):
        with pytest.raises(ConfigError, match="iterations must be an integer"):
            CRFParams(**bad)
    with pytest.raises(ConfigError, match="same size"):
        dense_crf(prob, image[:10])
    weak = dense_crf(prob, image, CRFParams(gaussian_compat=0.01, bilateral_compat=0.01, prob_shift=0.0))
    assert np.abs(weak - prob).mean() < np.abs(dense_crf(prob, image, EDGE_AWARE) - prob).mean()
    # the shift moves probabilities towards the mass before the unary
    shifted = dense_crf(prob, image, CRFParams(gaussian_compat=0.01, bilateral_compat=0.01, prob_shift=0.1))
    assert shifted.mean() > weak.mean() + 0.05


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
    # a confident model: background probabilities round to grey level 0 and must stay background
    # (the authors' rule compares the 8-bit map; comparing raw p > 0 would mark every pixel)
    rng = np.random.default_rng(0)
    confident = rng.uniform(1e-5, 1e-3, (32, 32)).astype(np.float32)
    confident[10:20, 10:20] = 0.8
    mask = binarize(confident[None], "otsu")[0]
    assert mask.sum() == 100 and mask[10:20, 10:20].all()
    import cv2

    _, reference = cv2.threshold(np.rint(confident * 255).astype(np.uint8), 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    assert np.array_equal(mask, reference.astype(bool))
    with pytest.raises(ConfigError, match="otsu"):
        binarize(probs, 1.5)


@pytest.mark.parametrize(
    "params",
    [CRFParams(), CRFParams(gaussian_compat=3.0, bilateral_schan=13.0, bilateral_compat=10.0, prob_shift=0.0)],
    ids=["paper", "edge-aware"],
)
def test_torch_crf_agrees_with_pydensecrf(params):
    from mammorepro.metrics import dice_per_image
    from mammorepro.post.crf import dense_crf_batch, refine

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:48, :48]
    mass = ((yy - 20) ** 2 / 80 + (xx - 26) ** 2 / 40) < 1
    images = np.clip(0.4 + 0.3 * mass + 0.05 * rng.standard_normal((2, 48, 48)), 0, 1).astype(np.float32)
    probs = np.clip(0.6 * mass + 0.2 + 0.15 * rng.standard_normal((2, 48, 48)), 0, 1).astype(np.float32)
    reference = dense_crf_batch(probs, images, params)
    ours = refine(probs, images, params, backend="torch", device="cpu")
    assert ours.shape == reference.shape and ours.dtype == np.float32
    assert np.abs(ours - reference).mean() < 0.01  # the lattice approximates the kernels; the window truncates them
    assert dice_per_image(ours >= 0.5, reference >= 0.5).mean() > 0.98
    assert not np.allclose(ours, probs, atol=0.05)  # it did refine


def test_crf_backend_is_checked():
    from mammorepro.post.crf import refine

    with pytest.raises(ConfigError, match="crf_backend="):
        refine(np.zeros((1, 8, 8), np.float32), np.zeros((1, 8, 8), np.float32), backend="gpu")
