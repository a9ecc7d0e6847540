import numpy as np
import pytest

from mammorepro.data.phantom import MASS_SHAPES, PhantomConfig, make_case, make_cases, power_law_noise
from mammorepro.errors import ConfigError


def test_deterministic_from_seed():
    a, b = make_case(3, seed=7), make_case(3, seed=7)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    assert not np.array_equal(a.image, make_case(3, seed=8).image)


def test_image_format_and_mask():
    cases = make_cases(30, seed=1)
    for c in cases:
        assert c.image.dtype == np.uint16 and c.image.shape == (1024, 512)
        assert c.mask.dtype == np.uint8 and set(np.unique(c.mask)) <= {0, 1}
        union = np.zeros_like(c.mask)
        for les, m in zip(c.lesions, c.lesion_masks):
            r0, r1, c0, c1 = les.bbox
            assert m[r0:r1, c0:c1].sum() == m.sum() == les.area  # the bbox holds the whole lesion
            union |= m
        assert np.array_equal(union, c.mask)
    n_masses = [len(c.lesions) for c in cases]
    assert min(n_masses) == 0 and max(n_masses) >= 2  # normals and multi-mass images both occur
    assert {c.view for c in cases} == {"CC", "MLO"} and {c.laterality for c in cases} == {"L", "R"}
    fractions = [c.mask.mean() for c in cases if c.lesions]
    assert 0.001 < np.median(fractions) < 0.03  # masses cover about 1 % of the image


def test_tissue_is_bright_on_dark_background_and_masses_are_denser():
    c = next(c for c in make_cases(10, seed=2) if c.lesions)
    corner = c.image[400:600, :20] if c.laterality == "R" else c.image[400:600, -20:]
    assert corner.mean() < 0.1 * 65535  # background beside the breast is dark
    m = c.lesion_masks[0].astype(bool)
    ring = np.zeros_like(m)
    r0, r1, c0, c1 = c.lesions[0].bbox
    pad = max(r1 - r0, c1 - c0)
    ring[max(0, r0 - pad) : r1 + pad, max(0, c0 - pad) : c1 + pad] = True
    ring &= ~m
    assert c.image[m].mean() > c.image[ring & (c.image > 0.1 * 65535)].mean()


def test_right_breasts_have_the_chest_wall_on_the_right():
    for c in make_cases(12, seed=3):
        left_half, right_half = c.image[:, :256].mean(), c.image[:, 256:].mean()
        assert (right_half > left_half) == (c.laterality == "R")


def test_config_knobs_and_validation():
    cfg = PhantomConfig(height=256, width=128, n_mass_probs=(0, 0, 0, 1), shapes=("spiculated",), p_film_artifacts=0)
    c = make_case(0, 0, cfg)
    assert c.image.shape == (256, 128)
    assert all(les.shape == "spiculated" for les in c.lesions) and len(c.lesions) >= 2
    with pytest.raises(ConfigError, match="sum"):
        PhantomConfig(density_probs=(1, 1, 0, 0))
    with pytest.raises(ConfigError, match="shape"):
        PhantomConfig(shapes=("star",))
    with pytest.raises(ConfigError, match="negative"):
        make_cases(-1)
    assert set(MASS_SHAPES) == {"round", "oval", "lobulated", "irregular", "spiculated"}


def test_power_law_noise_has_the_requested_slope():
    rng = np.random.default_rng(0)
    field = power_law_noise((256, 256), 3.0, rng)
    assert abs(field.mean()) < 1e-4 and field.std() == pytest.approx(1, abs=1e-3)
    spec = np.abs(np.fft.fft2(field)) ** 2
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(256), np.fft.fftfreq(256)))
    sel = (f > 0.02) & (f < 0.3)
    slope = np.polyfit(np.log(f[sel]), np.log(spec[sel]), 1)[0]
    assert slope == pytest.approx(-3.0, abs=0.2)


def test_calcification_regions_are_kept_apart_from_masses():
    cases = make_cases(12, seed=0)
    with_calc = [c for c in cases if c.has_calcifications]
    assert with_calc and all(c.calcification_mask is None for c in cases if not c.has_calcifications)
    for c in with_calc:
        region = c.calcification_mask
        assert region.shape == c.mask.shape and 0 < region.mean() < 0.02
        both = c.mask_for(("mass", "calcification"))
        assert np.array_equal(both, c.mask | region) and np.array_equal(c.mask_for(("mass",)), c.mask)
        assert np.array_equal(c.mask_for(("calcification",)), region)
