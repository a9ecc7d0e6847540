import json

import numpy as np
import pytest

from mammorepro.data import mias
from mammorepro.data.cache import PreprocessedCache
from mammorepro.data.phantom import PhantomConfig
from mammorepro.errors import ConfigError
from mammorepro.preprocess import PreprocessConfig, preprocess_case
from tests_helpers import snapshot

CFG = PreprocessConfig(image_size=64)


@pytest.fixture()
def mias_tree(tmp_path):
    return mias.write_phantom(tmp_path / "data" / "mias", n=6, seed=4, config=PhantomConfig(height=256, width=128))


def test_cache_equals_direct_preprocessing_and_is_reused(mias_tree, tmp_path):
    index = mias.scan(mias_tree)
    before = snapshot(mias_tree)
    cache = PreprocessedCache.for_dataset("mias", mias_tree, CFG, root=tmp_path / "cache")
    receipt = cache.build(index.cases, CFG, workers=2, progress=False)
    assert receipt["converted_now"] == 6 and cache.complete
    images, masks = cache.select([c.case_id for c in index.cases])
    for i, case in enumerate(index.cases):
        x, m = preprocess_case(case.image, case.mask, CFG)
        assert np.allclose(images[i], x, atol=1e-3) and np.array_equal(masks[i], m)
    again = cache.build(index.cases, CFG, progress=False)
    assert again == json.loads((cache.folder / "index.json").read_text())  # nothing converted again
    assert snapshot(mias_tree) == before  # the data root is never written


def test_interrupted_build_resumes(mias_tree, tmp_path):
    index = mias.scan(mias_tree)
    cache = PreprocessedCache.for_dataset("mias", mias_tree, CFG, root=tmp_path / "cache")
    cache.build(index.cases[:4], CFG, workers=1, progress=False)
    # simulate an interruption: per-case files of a bigger build exist, no consolidated index yet
    (cache.folder / "index.json").unlink()
    parts = cache.folder / "cases"
    parts.mkdir()
    from mammorepro.data.cache import _convert, case_fingerprint

    for case in index.cases[:3]:
        _convert((case, CFG, ("mass",), parts / f"{case.case_id}.{case_fingerprint(case)}.npz"))
    receipt = cache.build(index.cases, CFG, workers=1, progress=False)
    assert receipt["converted_now"] == 3 and cache.case_ids() == [c.case_id for c in index.cases]


def test_key_depends_on_parameters_and_cache_stays_outside_the_data(mias_tree, tmp_path):
    a = PreprocessedCache.for_dataset("mias", mias_tree, CFG, root=tmp_path / "cache")
    b = PreprocessedCache.for_dataset("mias", mias_tree, PreprocessConfig(image_size=64, clahe=False), root=tmp_path / "cache")
    assert a.folder != b.folder
    with pytest.raises(ConfigError, match="outside"):
        PreprocessedCache.for_dataset("mias", mias_tree, CFG, root=mias_tree / "cache")


def test_a_changed_image_or_annotation_is_converted_again(mias_tree, tmp_path):
    """The cache is keyed on file content, not only the root: replacing an image or editing an
    Info.txt circle under the same root converts those cases again (before, the old pixels and
    masks were served); the unchanged cases are reused."""
    import cv2

    cache = PreprocessedCache.for_dataset("mias", mias_tree, CFG, root=tmp_path / "cache")
    cache.build(mias.scan(mias_tree).cases, CFG, workers=1, progress=False)
    first = mias.scan(mias_tree).cases
    img = cv2.imread(str(first[0].image_path), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(first[0].image_path), 255 - img)  # another image, same name
    info = mias_tree / "Info.txt"
    lines = info.read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("mdb") and "CIRC" in line and not line.startswith(first[0].case_id))
    ref, bg, cls, sev, x, y, r = lines[k].split()
    lines[k] = " ".join([ref, bg, cls, sev, str(int(x) + 20), y, r])  # the circle moves
    info.write_text("\n".join(lines) + "\n")
    cases = mias.scan(mias_tree).cases
    receipt = cache.build(cases, CFG, workers=1, progress=False)
    assert receipt["converted_now"] == 2
    images, masks = cache.select([c.case_id for c in cases])
    for i, case in enumerate(cases):
        x_, m_ = preprocess_case(case.image, case.mask, CFG)
        assert np.allclose(images[i], x_, atol=1e-3) and np.array_equal(masks[i], m_), case.case_id


def test_the_cache_keeps_each_image_extent_on_its_padded_canvas(mias_tree, tmp_path):
    from mammorepro.preprocess import image_extent

    index = mias.scan(mias_tree)
    cache = PreprocessedCache.for_dataset("mias", mias_tree, CFG, root=tmp_path / "cache")
    cache.build(index.cases, CFG, workers=1, progress=False)
    ids = [c.case_id for c in index.cases]
    extents = cache.extents(ids[::-1])
    assert extents.tolist() == [list(image_extent(c.image.shape, CFG)) for c in index.cases[::-1]]
    assert extents[0].tolist() == [0, 0, 64, 64]  # mini-MIAS images are square: nothing padded
    with pytest.raises(Exception, match="not in cache"):
        cache.extents(["nobody"])
