"""INbreast loader: a hand-made fixture in the release layout, a phantom-written tree, planted defects."""

import plistlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from mammorepro.data.inbreast import lesion_kind, parse_roi_xml, scan, write_phantom
from mammorepro.data.phantom import PhantomConfig, make_cases
from mammorepro.errors import DataError

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "inbreast"
SMALL = PhantomConfig(height=256, width=128)
N, SEED = 12, 1  # seed 1: masses, calcifications and three mass-free images


def _tree_state(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * float((a & b).sum()) / float(a.sum() + b.sum())


@pytest.fixture(scope="module")
def phantom_tree(tmp_path_factory):
    return write_phantom(tmp_path_factory.mktemp("inbreast") / "root", n=N, seed=SEED, config=SMALL)


@pytest.fixture(scope="module")
def phantom_cases():
    return make_cases(N, SEED, SMALL)


# ----------------------------------------------------------------------------- hand-made fixture


def test_fixture_indexes_views_metadata_and_patients():
    index = scan(FIXTURE)
    assert index.problems == []
    assert [c.case_id for c in index.cases] == ["10000001", "10000002"]
    mlo, cc = index.cases
    assert (mlo.view, mlo.meta["view_original"], cc.view, cc.meta["view_original"]) == ("MLO", "ML", "CC", "CC")
    assert mlo.laterality == cc.laterality == "L"
    assert (mlo.meta["acr"], mlo.meta["density"], mlo.meta["birads"], cc.meta["birads"]) == ("2", "B", "4a", "1")
    # Patient ID reads "removed": both views are grouped by the file-name hash
    assert mlo.patient_id == cc.patient_id == "0123456789abcdef"
    assert mlo.meta["patient_id_source"] == "file-name hash"
    assert cc.lesions == [] and not cc.has_mass and cc.meta["xml"] is None


def test_fixture_pixels_are_read_exactly():
    mlo, cc = scan(FIXTURE).cases
    rows, cols = np.mgrid[:64, :48]
    assert mlo.image.dtype == np.uint16 and mlo.image.shape == (64, 48)
    assert np.array_equal(mlo.image, rows * 256 + cols)
    assert np.array_equal(cc.image, 16383 - (rows * 256 + cols))


def test_fixture_mass_polygon_fills_exactly_the_hand_counted_triangle():
    mlo = scan(FIXTURE).cases[0]
    assert [les.kind for les in mlo.lesions] == ["mass", "calcification", "other"]
    mass = mlo.lesions[0]
    assert np.array_equal(mass.polygon, [[30, 20], [30, 30], [40, 20]])  # (row, col) from "(x, y)"
    rows, cols = np.mgrid[:64, :48]
    triangle = (rows >= 30) & (cols >= 20) & ((rows - 30) + (cols - 20) <= 10)
    assert triangle.sum() == 66  # 11 + 10 + ... + 1, outline included
    assert np.array_equal(mlo.mask, triangle.astype(np.uint8))  # only the Mass: not the point, not the region


def test_fixture_point_roi_and_other_kinds():
    _, calc, region = parse_roi_xml(FIXTURE / "AllXML" / "10000001.xml")
    assert calc.meta == {"name": "Calcification", "roi_index": 1, "type": 19, "point": True}
    assert calc.coarse and calc.polygon is None
    assert calc.circle[:2] == pytest.approx((50.2, 40.4))
    drawn = calc.render((64, 48))
    assert drawn[50, 40] == 1 and 0 < drawn.sum() < 64
    assert region.meta["name"] == "Spiculated Region" and region.meta["point"] is False
    assert region.render((64, 48)).sum() == 50  # rows 2..6 x cols 2..11


@pytest.mark.parametrize(
    "name, kind",
    [("Mass", "mass"), (" mass ", "mass"), ("Calcification", "calcification"), ("Cluster", "calcification"),
     ("Spiculated Region", "other"), ("Assymetry", "other"), ("Distortion", "other")],
)
def test_only_mass_rois_are_masses(name, kind):
    assert lesion_kind(name) == kind


def test_csv_patient_id_is_used_when_real_and_contradictions_are_reported(tmp_path):
    root = tmp_path / "inbreast"
    shutil.copytree(FIXTURE, root)
    csv = root / "INbreast.csv"
    csv.write_text(csv.read_text().replace("removed;removed;L;MLO", "P7;61;R;MLO"))
    index = scan(root)
    mlo, cc = index.cases
    assert (mlo.patient_id, mlo.meta["patient_id_source"], cc.patient_id) == ("P7", "csv", "0123456789abcdef")
    assert mlo.laterality == "L"  # the file name wins
    assert len(index.problems) == 1 and index.problems[0].kind == "metadata" and "Laterality" in index.problems[0].message


# ----------------------------------------------------------------------------- phantom tree


def test_phantom_tree_scans_back(phantom_tree, phantom_cases):
    index = scan(phantom_tree)
    assert index.problems == []
    assert len(index.cases) == N
    for case, ph in zip(index.cases, phantom_cases):
        assert (case.view, case.laterality, case.meta["density"]) == (ph.view, ph.laterality, ph.density)
        assert case.meta["view_original"] == ("ML" if ph.view == "MLO" else "CC")
        assert np.array_equal(case.image, ph.image // 4) and case.image.max() < 2**14
    # the file-name hash groups exactly the phantom's patients
    groups = lambda ids: sorted(sorted(i for i, p in enumerate(ids) if p == q) for q in set(ids))  # noqa: E731
    assert groups([c.patient_id for c in index.cases]) == groups([p.patient_id for p in phantom_cases])


def test_phantom_masses_match_and_normal_images_are_kept(phantom_tree, phantom_cases):
    cases = scan(phantom_tree).cases
    assert [c.has_mass for c in cases] == [bool(p.lesions) for p in phantom_cases]
    normals = [c for c in cases if not c.has_mass]
    assert normals, "the seed must give mass-free images"
    assert any(c.meta["xml"] is None for c in normals) and any(c.meta["xml"] and not c.lesions for c in normals)
    for case, ph in zip(cases, phantom_cases):
        assert sum(les.kind == "mass" for les in case.lesions) == len(ph.lesions)
        if ph.lesions:
            assert _dice(case.mask, ph.mask) >= 0.97, case.case_id


def test_phantom_calcifications_are_point_rois_outside_the_mass_mask(phantom_tree, phantom_cases):
    cases = scan(phantom_tree).cases
    with_calc = [(c, p) for c, p in zip(cases, phantom_cases) if p.has_calcifications]
    assert with_calc
    for case, ph in with_calc:
        (calc,) = [les for les in case.lesions if les.kind == "calcification"]
        assert calc.meta["point"] and calc.circle is not None
        row, col = (int(round(v)) for v in calc.circle[:2])
        assert ph.mask[row, col] == 0
    assert all(les.kind == "mass" for c, p in zip(cases, phantom_cases) if not p.has_calcifications for les in c.lesions)


def test_write_phantom_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(DataError, match="new or empty"):
        write_phantom(tmp_path, n=1, config=SMALL)


# ----------------------------------------------------------------------------- defects


def _rewrite_plist(path: Path, change) -> None:
    plist = plistlib.loads(path.read_bytes())
    change(plist["Images"][0]["ROIs"][0])
    path.write_bytes(plistlib.dumps(plist, fmt=plistlib.FMT_XML))


def _dicom(root: Path, image_id: str) -> Path:
    (path,) = (root / "AllDICOMs").glob(f"{image_id}_*.dcm")
    return path


def _corrupt_xml(root):
    path = root / "AllXML" / "90000000.xml"
    path.write_bytes(path.read_bytes()[:300])


def _xml_without_dicom(root):
    shutil.copy(root / "AllXML" / "90000002.xml", root / "AllXML" / "90000099.xml")


def _malformed_point(root):
    _rewrite_plist(root / "AllXML" / "90000002.xml", lambda roi: roi["Point_px"].__setitem__(1, "(12.5; 40.0)"))


def _point_outside(root):
    _rewrite_plist(root / "AllXML" / "90000002.xml", lambda roi: roi["Point_px"].__setitem__(1, "(500.0, 40.0)"))


def _duplicate_id(root):
    shutil.copy(_dicom(root, "90000004"), root / "AllDICOMs" / "90000004_ffffffffffffffff_MG_R_ML_ANON.dcm")


def _dicom_missing(root):
    _dicom(root, "90000002").unlink()  # listed in the CSV and annotated in AllXML


DEFECTS = {
    "corrupt-xml": (_corrupt_xml, "unreadable", "AllXML/90000000.xml", "90000000"),
    "xml-without-dicom": (_xml_without_dicom, "missing-file", "AllDICOMs/90000099_*.dcm", None),
    "malformed-point": (_malformed_point, "metadata", "AllXML/90000002.xml", "90000002"),
    "point-outside-image": (_point_outside, "size-mismatch", "AllXML/90000002.xml", "90000002"),
    "duplicate-id": (_duplicate_id, "duplicate", "AllDICOMs/90000004_*", "90000004"),
    "dicom-missing": (_dicom_missing, "missing-file", "AllDICOMs/90000002_*.dcm", "90000002"),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_each_planted_defect_is_one_problem(defect, phantom_tree, tmp_path):
    plant, kind, where, left_out = DEFECTS[defect]
    root = tmp_path / "root"
    shutil.copytree(phantom_tree, root)
    plant(root)
    index = scan(root)
    assert len(index.problems) == 1, [str(p) for p in index.problems]
    (problem,) = index.problems
    assert (problem.kind, problem.where) == (kind, where)
    assert problem.fix and "\n" not in str(problem)
    ids = [c.case_id for c in index.cases]
    assert len(ids) == N - (left_out is not None) and left_out not in ids


def test_dicom_missing_names_both_csv_and_xml(phantom_tree, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(phantom_tree, root)
    _dicom_missing(root)
    (problem,) = scan(root).problems
    assert "INbreast.csv" in problem.message and "AllXML/90000002.xml" in problem.message


def test_parse_roi_xml_raises_one_line_data_error(tmp_path):
    bad = tmp_path / "12345678.xml"
    bad.write_text("<plist><dict><key>Images</key>")
    with pytest.raises(DataError) as err:
        parse_roi_xml(bad)
    assert "\n" not in str(err.value) and "INbreast" in str(err.value)


@pytest.mark.parametrize("missing", ["AllDICOMs", "AllXML", "INbreast.csv"])
def test_incomplete_root_is_one_line_data_error(missing, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(FIXTURE, root)
    target = root / missing
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(DataError, match=missing) as err:
        scan(root)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("which", ["fixture", "phantom"])
def test_nothing_under_the_root_is_modified(which, phantom_tree):
    root = FIXTURE if which == "fixture" else phantom_tree
    before = _tree_state(root)
    for case in scan(root).cases:
        case.image, case.mask, case.mask_for(("calcification", "other"))
    assert _tree_state(root) == before
