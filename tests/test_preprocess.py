import numpy as np
import pytest

from mammorepro.errors import ConfigError
from mammorepro.preprocess import (
    PreprocessConfig,
    clahe,
    crop_border,
    median_filter,
    normalize,
    preprocess_case,
    preprocess_steps,
    resize_pad,
    to_8bit_jpeg,
)
from mammorepro.preprocess.augment import build_augmentation


def test_crop_border_removes_the_fraction_and_copies():
    img = np.arange(100 * 50, dtype=np.uint16).reshape(100, 50)
    out = crop_border(img, 0.1)
    assert out.shape == (80, 40) and out[0, 0] == img[10, 5]
    out[0, 0] = 0
    assert img[10, 5] != 0  # input untouched


def test_clahe_keeps_dtype_and_raises_local_contrast():
    rng = np.random.default_rng(0)
    img = (20000 + 500 * rng.standard_normal((128, 128))).clip(0, 65535).astype(np.uint16)
    out = clahe(img, 2.0, 8)
    assert out.dtype == np.uint16 and out.shape == img.shape
    assert out.std() > img.std()
    f = clahe(img.astype(np.float32) / 65535, 2.0, 8)
    assert f.dtype == np.float32 and 0 <= f.min() and f.max() <= 1


def test_median_filter_removes_salt():
    img = np.zeros((9, 9), dtype=np.uint8)
    img[4, 4] = 255
    assert median_filter(img, 3).max() == 0
    with pytest.raises(ConfigError, match="odd"):
        median_filter(img, 4)


def test_resize_pad_keeps_aspect_and_small_masks():
    img = np.ones((1024, 512), dtype=np.uint16) * 1000
    out, geo = resize_pad(img, 256)
    assert out.shape == (256, 256) and geo["resized"] == (256, 128)
    assert out[:, :64].max() == 0 and out[:, 64:192].min() == 1000  # centred, zero padding
    mask = np.zeros((1024, 512), dtype=np.uint8)
    mask[500:516, 200:216] = 1  # 16x16 lesion -> 4x4 after a 4x downscale
    m, _ = resize_pad(mask, 256, is_mask=True)
    assert m.sum() == 16 and set(np.unique(m)) == {0, 1}


def test_normalize_modes():
    img = np.array([[0, 65535]], dtype=np.uint16)
    assert normalize(img).tolist() == [[0.0, 1.0]]
    z = normalize(np.array([[1.0, 3.0]]), "zscore")
    assert z.mean() == pytest.approx(0) and z.std() == pytest.approx(1, abs=1e-3)
    with pytest.raises(ConfigError, match="normalisation"):
        normalize(img, "max")


def test_pipeline_applies_geometry_to_the_mask_only():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 65535, (400, 200)).astype(np.uint16)
    mask = np.zeros((400, 200), dtype=np.uint8)
    mask[100:200, 50:150] = 1
    cfg = PreprocessConfig(image_size=64, median=3)
    x, m = preprocess_case(img, mask, cfg)
    assert x.shape == m.shape == (64, 64) and x.dtype == np.float32 and m.dtype == np.uint8
    assert 0 <= x.min() and x.max() <= 1
    names = [n for n, _ in preprocess_steps(img, cfg)]
    assert names[0] == "input" and any("CLAHE" in n for n in names) and any("median" in n for n in names)
    with pytest.raises(ConfigError, match="never stretch"):
        preprocess_case(img, mask[:100], cfg)


def test_p5_order_jpeg_first_median_after_resize():
    img = np.zeros((400, 200), dtype=np.uint16)
    img[:, 100:] = 40000
    cfg = PreprocessConfig(image_size=64, median=3, jpeg_quality=95)
    names = [n for n, _ in preprocess_steps(img, cfg)]
    assert names[1].startswith("8-bit JPEG") and names.index("resize + pad to 64") < names.index("median 3x3")
    with pytest.raises(ConfigError, match="jpeg_quality"):
        PreprocessConfig(jpeg_quality=101)


def test_8bit_jpeg_rescales_the_own_range_and_loses_precision():
    ramp = np.tile(np.arange(1000, 3001), (32, 1)).astype(np.uint16)  # 2001 grey levels in a sub-range
    x8 = to_8bit_jpeg(ramp, 95)
    assert x8.dtype == np.uint8 and x8.shape == ramp.shape
    assert x8.min() <= 2 and x8.max() >= 253  # the own range is stretched to 0..255
    assert len(np.unique(ramp)) == 2001 and len(np.unique(x8)) <= 256  # the precision the paper gave up
    assert np.array_equal(to_8bit_jpeg(np.full((8, 8), 7, np.uint16)), np.zeros((8, 8), np.uint8))
    with pytest.raises(ConfigError, match="quality"):
        to_8bit_jpeg(ramp, 0)


def test_rgb_input_is_a_clear_error():
    with pytest.raises(ConfigError, match="2-D grayscale"):
        clahe(np.zeros((4, 4, 3), dtype=np.uint8))


def test_augmentation_is_seeded_and_moves_mask_with_image():
    img = np.zeros((64, 64), dtype=np.float32)
    img[10:20, 10:20] = 1
    mask = (img > 0).astype(np.uint8)
    a = build_augmentation(seed=3)
    b = build_augmentation(seed=3)
    xa, ma = a(img, mask)
    xb, mb = b(img, mask)
    assert np.array_equal(xa, xb) and np.array_equal(ma, mb)
    assert set(np.unique(ma)) <= {0, 1}
    assert build_augmentation(flip=False, rotate=0, zoom=0, contrast=0) is None


@pytest.mark.parametrize(("shape", "crop"), [((1024, 512), 0.01), ((300, 500), 0.0), ((257, 129), 0.03), ((512, 512), 0.01)])
def test_image_extent_is_where_the_resize_puts_the_image(shape, crop):
    from mammorepro.preprocess import image_extent

    cfg = PreprocessConfig(image_size=64, border_crop=crop, clahe=False)
    x, m = preprocess_case(np.full(shape, 200, np.uint8), np.ones(shape, np.uint8), cfg)
    y0, x0, y1, x1 = image_extent(shape, cfg)
    rows, cols = np.nonzero(m)
    assert (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1) == (y0, x0, y1, x1)
    assert (x > 0).sum() == (y1 - y0) * (x1 - x0)
    if shape[0] == shape[1]:
        assert (y0, x0, y1, x1) == (0, 0, 64, 64)  # a square image has no padding
