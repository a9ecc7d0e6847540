"""CDD-CESM: the redistributed images + masks copy and the official TCIA layout (VIA polygons,
ellipses, circles and polylines rasterised at each image's size) read into the same records,
lesion kinds from the official Findings, splits by patient."""

from pathlib import Path

import numpy as np
import pytest

from conftest import FIXTURES
from mammorepro.data import cdd_cesm, make_dataset_splits
from mammorepro.data.phantom import PhantomConfig, make_cases
from mammorepro.errors import DataError
from tests_helpers import snapshot

SHARED = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "cdd-cesm"


@pytest.mark.parametrize(
    ("findings", "kind"),
    [
        ("Postoperative scar with high density mass with speculated margin", "mass"),
        ("Multiple equal density  masses$Benign macrocalcifications", "mass"),
        ("Heterogenous non mass enhancement", "other"),  # not a mass
        ("Non-mass enhancement and clusters of microcalcifications", "calcification"),
        ("Architectural distortion", "other"),
    ],
)
def test_lesion_kind_comes_from_the_findings(findings, kind):
    assert cdd_cesm.lesion_kind(findings) == kind


def test_real_copy_fixture_reads_masks_and_kinds():
    index = cdd_cesm.scan(FIXTURES / "cdd-cesm")
    by_id = {c.case_id: c for c in index.cases}
    assert sorted(by_id) == ["P208_R_DM_CC", "P305_R_DM_CC"] and not index.problems
    mass, calc = by_id["P305_R_DM_CC"], by_id["P208_R_DM_CC"]
    assert mass.patient_id == "P305" and mass.view == "CC" and mass.laterality == "R"
    assert [les.kind for les in mass.lesions] == ["mass"] and [les.kind for les in calc.lesions] == ["calcification"]
    m = mass.mask
    assert m.shape == mass.image.shape == (512, 512) and set(np.unique(m)) == {0, 1}  # JPEG noise thresholded away
    assert 0.001 < m.mean() < 0.5 and not calc.mask.any()  # the calcification image has no mass pixel
    assert calc.mask_for(("calcification",)).any() and "microcalcifications" in calc.meta["findings"]


def test_official_layout_rasterises_every_shape_at_the_image_size():
    root = FIXTURES / "cdd-cesm-tcia"
    before = snapshot(root)
    index = cdd_cesm.scan(root)
    by_id = {c.case_id: c for c in index.cases}
    assert sorted(by_id) == ["P1_L_DM_CC", "P1_L_DM_MLO"]  # the recombined CM image is skipped
    cc, mlo = by_id["P1_L_DM_CC"], by_id["P1_L_DM_MLO"]
    assert [les.meta["shape"] for les in cc.lesions] == ["polygon", "ellipse"] and {les.kind for les in cc.lesions} == {"mass"}
    mask = cc.mask
    assert mask.shape == cc.image.shape == (180, 100)
    assert mask[50, 40] == 1 and mask[130, 50] == 1 and mask[100, 50] == 0  # the square and the ellipse
    assert mask[130, 50 + 25] == 0 and mask[130, 50 + 15] == 1  # rx 20 along x, not along y
    assert [les.meta["shape"] for les in mlo.lesions] == ["circle", "polyline"] and {les.kind for les in mlo.lesions} == {"other"}
    assert mlo.mask_for(("other",))[90, 50] == 1 and not mlo.mask.any()  # non-mass enhancement: no mass pixel
    text = [str(p) for p in index.problems]
    assert any("line 6" in t and "'point' is not one of" in t for t in text)
    assert any("line 8" in t and "not JSON" in t for t in text)
    assert snapshot(root) == before  # nothing under the root is written


def test_phantom_written_official_tree_scans_back(tmp_path):
    config = PhantomConfig(height=256, width=128)
    root = cdd_cesm.write_phantom(tmp_path / "cdd", n=6, seed=1, config=config)
    index = cdd_cesm.scan(root)
    phantom = make_cases(6, 1, config)
    assert [c.case_id for c in index.cases][:2] == ["P1_R_DM_CC", "P1_R_DM_MLO"] or len(index.cases) == 6
    for case, ph in zip(sorted(index.cases, key=lambda c: (int(c.case_id.split("_")[0][1:]), c.view)), phantom):
        if ph.mask.any():
            inter = (case.mask & ph.mask).sum()
            assert 2 * inter / (case.mask.sum() + ph.mask.sum()) > 0.85, case.case_id


def test_missing_pieces_are_one_line(tmp_path):
    with pytest.raises(DataError, match="neither 'Low energy images of CDD-CESM/'"):
        cdd_cesm.scan(tmp_path)
    (tmp_path / "images").mkdir()
    with pytest.raises(DataError, match="Radiology manual annotations.xlsx"):
        cdd_cesm.scan(tmp_path)


def test_splits_keep_each_patient_in_one_part():
    index = cdd_cesm.scan(FIXTURES / "cdd-cesm-tcia")
    ids = [c.case_id for c in index.cases] * 1
    splits = make_dataset_splits("cdd-cesm", ids, [c.patient_id for c in index.cases], seed=0)
    for parts in splits.values():
        owners = [{c.split("_")[0] for c in part} for part in parts.values() if part]
        assert sum(len(o) for o in owners) == len(set().union(*owners))


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared real-data folder is not on this machine (a user's clone has none)")
def test_the_shared_copy_has_146_mass_images_of_148_patients():
    index = cdd_cesm.scan(SHARED)
    assert len(index.cases) == 267 and not index.problems
    assert sum(c.has_mass for c in index.cases) == 146 and len({c.patient_id for c in index.cases}) == 148
