import numpy as np
import pytest

from conftest import FIXTURES
from mammorepro.data import mias
from mammorepro.data.phantom import PhantomConfig, make_cases
from mammorepro.errors import DataError
from tests_helpers import snapshot

SMALL = PhantomConfig(height=256, width=128)


def test_real_fixture_parses_with_bottom_left_origin():
    index = mias.scan(FIXTURES / "mias")
    ids = [c.case_id for c in index.cases]
    assert ids == ["mdb001", "mdb003", "mdb005"]
    mdb001, mdb003, mdb005 = index.cases
    assert mdb003.lesions == [] and not mdb003.has_mass  # a normal image is kept
    assert mdb001.patient_id == "P001" and mdb003.patient_id == mias.patient_of("mdb004") == "P002"
    (les,) = mdb001.lesions
    assert les.circle == (1023 - 425, 535, 197) and les.coarse and les.kind == "mass"
    mask = mdb001.mask
    # row 1023-425+190 lies inside the disc only with a bottom-left origin, row 425-190 only without
    assert mask.shape == (1024, 1024) and mask[1023 - 425 + 190, 535] == 1 and mask[425 - 190, 535] == 0
    assert mask.sum() == pytest.approx(np.pi * 197**2, rel=0.01)
    assert len(mdb005.lesions) == 2  # two masses on one image, unioned in the mask
    assert "circles" in mdb001.meta["coarse_masks"]
    # the fixture holds 3 of the 322 images: every other listed image is one missing-file line
    missing = [p for p in index.problems if p.kind == "missing-file"]
    assert len(missing) == 322 - 3
    assert any("mdb059" in str(p) and "without coordinates" in str(p) for p in index.problems)


def test_phantom_written_tree_scans_back(tmp_path):
    root = mias.write_phantom(tmp_path / "mias", n=8, seed=1, config=SMALL)
    before = snapshot(root)
    index = mias.scan(root)
    phantom = make_cases(8, 1, SMALL)
    assert len(index.cases) == 8 and not index.problems
    for case, ph in zip(index.cases, phantom):
        assert case.image.shape == (256, 256)
        assert len(case.lesions) == len(ph.lesions)
        if ph.lesions:  # the circle encloses the phantom's exact mass
            side = 0 if ph.laterality == "L" else 128
            exact = np.zeros((256, 256), np.uint8)
            exact[:, side : side + 128] = ph.mask
            assert (case.mask[exact > 0]).mean() > 0.97
    assert snapshot(root) == before  # nothing under the root was written


def test_missing_info_is_one_line(tmp_path):
    with pytest.raises(DataError, match="Info.txt"):
        mias.scan(tmp_path)
