import numpy as np
import pytest

from conftest import FIXTURES
from mammorepro.data import mini_ddsm
from mammorepro.data.phantom import PhantomConfig, make_cases
from mammorepro.errors import DataError
from tests_helpers import snapshot

SMALL = PhantomConfig(height=256, width=128)


def test_real_fixture_sheet_and_outline_mask():
    index = mini_ddsm.scan(FIXTURES / "mini-ddsm")
    (case,) = index.cases  # the fixture holds one of the 7,808 images; the rest are reported missing
    assert case.case_id == "C_0033_1.RIGHT_CC" and case.patient_id == "0033" and case.laterality == "R"
    assert len([p for p in index.problems if p.kind == "missing-file"]) == 7807
    (les,) = case.lesions
    assert les.kind == "mass" and les.meta["shape"] == "OVAL" and les.meta["pathology"] == "BENIGN"
    mask = case.mask
    assert mask.shape == case.image.shape == (2328, 1340)
    outline = (les.mask_reader.__module__, int((np.asarray(__import__("cv2").imread(str(les.mask_path), 0)) > 127).sum()))
    assert mask.sum() > 10 * outline[1]  # the outline (about 600 px) was filled into a region
    filled_rows = np.nonzero(mask.any(axis=1))[0]
    assert np.all(np.diff(filled_rows) == 1)  # one solid region, no holes between rows


def test_overlay_headers():
    path = FIXTURES / "mini-ddsm" / mini_ddsm.TOP / "Benign" / "0033" / "C_0033_1.RIGHT_CC.OVERLAY"
    (abn,) = mini_ddsm.parse_overlay(path)
    assert abn["lesion_type"] == "MASS" and abn["margins"] == "MICROLOBULATED" and abn["assessment"] == "4"


def test_phantom_written_tree_scans_back(tmp_path):
    root = mini_ddsm.write_phantom(tmp_path / "mini", n=10, seed=2, config=SMALL)
    before = snapshot(root)
    index = mini_ddsm.scan(root)
    phantom = make_cases(10, 2, SMALL)
    assert len(index.cases) == 10 and not index.problems
    for case, ph in zip(index.cases, phantom):
        assert case.image.shape == ph.image.shape
        assert len(case.lesions) == min(2, len(ph.lesions))
        assert all(les.kind == "mass" for les in case.lesions)
        if ph.lesions[:2]:
            exact = np.clip(sum(ph.lesion_masks[:2]), 0, 1)
            inter = (case.mask & exact).sum()
            assert 2 * inter / (case.mask.sum() + exact.sum()) > 0.9  # outline JPEG -> filled region
        assert (case.meta["status"] == "Normal") == (not ph.lesions)
    assert snapshot(root) == before


def test_planted_defects(tmp_path):
    root = mini_ddsm.write_phantom(tmp_path / "mini", n=6, seed=3, config=SMALL)
    victim = next(root.rglob("*_Mask.jpg"))
    victim.unlink()
    index = mini_ddsm.scan(root)
    assert any(p.kind == "missing-file" and victim.name in str(p) for p in index.problems)
    with pytest.raises(DataError, match="DataWMask.xlsx"):
        mini_ddsm.scan(tmp_path)


def test_the_sheet_inside_the_image_folder_is_accepted(tmp_path):
    """Both layouts people have: DataWMask.xlsx beside MINI-DDSM-Complete-JPEG-8/ (the archive)
    and inside it (before, the second was refused)."""
    import shutil

    root = mini_ddsm.write_phantom(tmp_path / "a", n=6, seed=3, config=PhantomConfig(height=256, width=128))
    beside = [c.case_id for c in mini_ddsm.scan(root).cases]
    shutil.move(str(root / "DataWMask.xlsx"), str(root / mini_ddsm.TOP / "DataWMask.xlsx"))
    assert [c.case_id for c in mini_ddsm.scan(root).cases] == beside  # the parent as root
    inside = mini_ddsm.scan(root / mini_ddsm.TOP)  # the image folder itself as root
    assert [c.case_id for c in inside.cases] == beside and not [p for p in inside.problems if p.kind == "missing-file"]
    with pytest.raises(DataError, match="neither DataWMask.xlsx nor Data.csv"):
        mini_ddsm.scan(tmp_path)
