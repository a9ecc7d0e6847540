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
    from mammorepro.data.cache import _convert

    for case in index.cases[:3]:
        _convert((case, CFG, ("mass",), parts / f"{case.case_id}.npy"))
    receipt = cache.build(index.cases, CFG, workers=1, progress=False)
    assert receipt["converted_now"] == 3 and cache.case_ids() == [c.case_id for c in index.cases]


def test_key_depends_on_parameters_and_cache_stays_outside_the_data(mias_tree, tmp_path):
    a = PreprocessedCache.for_dataset("mias", mias_tree, CFG, root=tmp_path / "cache")
    b = PreprocessedCache.for_dataset("mias", mias_tree, PreprocessConfig(image_size=64, clahe=False), root=tmp_path / "cache")
    assert a.folder != b.folder
    with pytest.raises(ConfigError, match="outside"):
        PreprocessedCache.for_dataset("mias", mias_tree, CFG, root=mias_tree / "cache")
