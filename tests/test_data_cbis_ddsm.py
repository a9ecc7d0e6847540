import shutil

import numpy as np
import pydicom
import pytest

from conftest import FIXTURES
from mammorepro.data import cbis_ddsm
from mammorepro.data.phantom import PhantomConfig, make_cases
from mammorepro.data.records import Case, Lesion
from mammorepro.errors import ConfigError, DataError
from tests_helpers import snapshot

REAL_CSVS = FIXTURES / "cbis-ddsm"
CFG = PhantomConfig(height=256, width=128)
N, SEED = 12, 0
MASS_TRAIN = "mass_case_description_train_set.csv"


@pytest.fixture(scope="module")
def phantom():
    """The phantom cases and the CBIS-DDSM folder each one is written to."""
    cases = make_cases(N, SEED, CFG)
    names = cbis_ddsm.phantom_names(cases)
    return {names[c.case_id]: c for c in cases if c.case_id in names}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return cbis_ddsm.write_phantom(tmp_path_factory.mktemp("cbis") / "CBIS-DDSM", N, SEED, "tcia", CFG)


@pytest.fixture
def tree(template, tmp_path):
    """A fresh copy of the phantom tree that a test may damage."""
    return shutil.copytree(template, tmp_path / "CBIS-DDSM")


def _one_problem(index, kind):
    assert len(index.problems) == 1, [str(p) for p in index.problems]
    problem = index.problems[0]
    assert problem.kind == kind and "\n" not in str(problem)
    return problem


def _lesion(index, folder, k=1):
    return next(les for c in index.cases for les in c.lesions if les.meta["lesion_folder"] == f"{folder}_{k}")


# --- the real CSVs ---------------------------------------------------------------------------


def test_real_csv_fixtures_keep_their_traps():
    for name in ("mass_case_description_train_set.csv", "mass_case_description_test_set.csv"):
        raw = (REAL_CSVS / name).read_bytes()
        assert raw.count(b'.dcm\n"\r\n') == 40  # ROI mask path ends in a newline, record in CRLF
    for name in ("calc_case_description_train_set.csv", "calc_case_description_test_set.csv"):
        raw = (REAL_CSVS / name).read_bytes()
        assert b"breast density," in raw.splitlines()[0] and raw.count(b'.dcm\n",') >= 40


@pytest.mark.parametrize(
    "name, n_rows, kind",
    [
        ("mass_case_description_train_set.csv", 40, "mass"),
        ("mass_case_description_test_set.csv", 40, "mass"),
        ("calc_case_description_train_set.csv", 40, "calcification"),
        ("calc_case_description_test_set.csv", 42, "calcification"),
    ],
)
def test_real_csvs_parse(name, n_rows, kind):
    rows = cbis_ddsm.read_description(REAL_CSVS / name)
    assert len(rows) == n_rows and {r["kind"] for r in rows} == {kind}
    for r in rows:
        assert r["breast_density"] in {"0", "1", "2", "3", "4"}  # both spellings of the column
        assert all(v == v.strip() for v in r.values() if isinstance(v, str))
        assert r["image_file_path"].endswith(".dcm") and r["roi_mask_file_path"].endswith(".dcm")
        assert cbis_ddsm._FOLDER.match(r["image_folder"]) and r["image_folder"].startswith(name[:4].capitalize())
        assert r["lesion_folder"] == f"{r['image_folder']}_{r['abnormality_id']}"
    features = ("mass_shape", "mass_margins") if kind == "mass" else ("calc_type", "calc_distribution")
    assert all(r[f] for r in rows for f in features)


def test_real_csvs_scan_without_images_reports_each_missing_mammogram(tmp_path):
    index = cbis_ddsm.scan(tmp_path, csv_dir=REAL_CSVS)
    rows = [r for p in sorted(REAL_CSVS.glob("*.csv")) for r in cbis_ddsm.read_description(p)]
    folders = {r["image_folder"] for r in rows}
    assert index.cases == [] and len(index.problems) == len(folders)
    assert {p.kind for p in index.problems} == {"missing-file"} and {p.where for p in index.problems} == folders
    assert "Mass-Test_P_00145_LEFT_CC" in folders  # the known size-mismatch case is in the excerpt


def test_no_csv_is_one_line_naming_the_four_files(tmp_path):
    with pytest.raises(DataError) as err:
        cbis_ddsm.scan(tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and all(n in msg for names in cbis_ddsm.CSV_FILES.values() for n in names)
    with pytest.raises(DataError, match="not a folder"):
        cbis_ddsm.scan(tmp_path / "absent")


def test_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match="kinds"):
        cbis_ddsm.scan(tmp_path, kinds=("masses",))
    with pytest.raises(ConfigError, match="naming"):
        cbis_ddsm.write_phantom(tmp_path, 1, naming="tcia2")


# --- phantom round trip ----------------------------------------------------------------------


@pytest.mark.parametrize("naming", ["tcia", "nbia"])
def test_phantom_tree_scans_back_exactly(naming, phantom, template, tmp_path):
    root = template if naming == "tcia" else cbis_ddsm.write_phantom(tmp_path / "CBIS-DDSM", N, SEED, naming, CFG)
    before = snapshot(root)
    index = cbis_ddsm.scan(root)
    assert index.problems == [] and index.dataset == "cbis-ddsm"
    assert {c.case_id for c in index.cases} == set(phantom)
    assert sum(len(c.lesions) for c in index.cases) == sum(len(p.lesions) for p in phantom.values())
    for case in index.cases:
        source = phantom[case.case_id]
        assert np.array_equal(case.image, source.image) and case.image.dtype == np.uint16
        masks = case.lesion_masks()
        assert len(masks) == len(source.lesion_masks)
        assert all(np.array_equal(a, b) for a, b in zip(masks, source.lesion_masks))
        assert (case.view, case.laterality) == (source.view, source.laterality)
        assert case.patient_id == case.case_id.split("_", 1)[1][:7]
        assert case.official_split == ("test" if case.case_id.startswith("Mass-Test") else "train")
        assert case.meta["breast_density"] == "ABCD".index(source.density) + 1
        assert [les.meta["abnormality_id"] for les in case.lesions] == list(range(1, len(masks) + 1))
    assert {c.official_split for c in index.cases} == {"train", "test"}
    splits = {}
    for c in index.cases:  # the train/test assignment is per patient
        assert splits.setdefault(c.patient_id, c.official_split) == c.official_split
    # both layouts occur: crop and mask in one series (only pixel size tells them apart) and in two
    in_one_series = [les.mask_path.parent == les.meta["crop_path"].parent for c in index.cases for les in c.lesions]
    assert any(in_one_series) and not all(in_one_series)
    assert snapshot(root) == before  # scanning and reading pixels wrote nothing under the root


def test_phantom_images_are_16bit_monochrome2_dicom(template):
    full = next(template.glob("Mass-*_CC/*/*/000000.dcm"))
    ds = pydicom.dcmread(full)
    assert ds.PhotometricInterpretation == "MONOCHROME2" and ds.BitsStored == 16
    assert ds.SeriesDescription == "full mammogram images" and ds.PatientID == full.parts[-4]
    assert ds.pixel_array.shape == (CFG.height, CFG.width)


def test_csvs_beside_the_root_or_in_csv_dir(template, tmp_path):
    beside = tmp_path / "download"
    root = shutil.copytree(template, beside / "CBIS-DDSM", ignore=shutil.ignore_patterns("*.csv"))
    for csv in template.glob("*.csv"):
        shutil.copy(csv, beside)
    assert len(cbis_ddsm.scan(root).cases) == len(cbis_ddsm.scan(template).cases)
    assert cbis_ddsm.scan(beside).problems == []  # the manifest folder holding CBIS-DDSM/ works too
    elsewhere = shutil.copytree(beside, tmp_path / "csvs", ignore=shutil.ignore_patterns("CBIS-DDSM"))
    for csv in beside.glob("*.csv"):
        csv.unlink()
    assert cbis_ddsm.scan(root, csv_dir=elsewhere).problems == []


def test_missing_calc_csvs_are_reported_unless_only_masses_are_asked_for(tree):
    for csv in tree.glob("calc_*.csv"):
        csv.unlink()
    index = cbis_ddsm.scan(tree)
    assert [p.kind for p in index.problems] == ["missing-file"] * 2 and index.cases
    assert cbis_ddsm.scan(tree, kinds=("mass",)).problems == []


# --- planted defects -------------------------------------------------------------------------


def _rewrite(path, pixels):
    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns = pixels.shape
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    ds.save_as(path)


def _records(csv_path):
    return csv_path.read_bytes().decode().split("\r\n")


def test_deleted_full_mammogram(tree, phantom):
    folder = sorted(phantom)[0]
    for dcm in (tree / folder).rglob("*.dcm"):
        dcm.unlink()
    index = cbis_ddsm.scan(tree)
    problem = _one_problem(index, "missing-file")
    assert problem.where == folder and "left out" in problem.message and problem.fix
    assert folder not in {c.case_id for c in index.cases} and len(index.cases) == len(phantom) - 1


def test_deleted_mask(tree, phantom):
    folder = sorted(phantom)[1]
    mask = _lesion(cbis_ddsm.scan(tree), folder).mask_path
    mask.unlink()
    index = cbis_ddsm.scan(tree)
    problem = _one_problem(index, "missing-file")
    assert problem.where == f"{folder}_1" and "ROI mask" in problem.message
    assert folder not in {c.case_id for c in index.cases}


@pytest.mark.parametrize("one_series, size", [(True, (CFG.height - 16, CFG.width)), (False, (8, 8))])
def test_mask_of_the_wrong_size(tree, one_series, size):
    # in one series only pixel size tells crop and mask apart; a tiny mask (smaller than its
    # crop) in its own series is still recognised, by its SeriesDescription
    case, les = next(
        (c, les) for c in cbis_ddsm.scan(tree).cases for les in c.lesions
        if (les.mask_path.parent == les.meta["crop_path"].parent) == one_series
    )  # fmt: skip
    _rewrite(les.mask_path, np.zeros(size, np.uint8))
    index = cbis_ddsm.scan(tree)
    problem = _one_problem(index, "size-mismatch")
    assert problem.where == les.meta["lesion_folder"]
    assert f"{size[0]}x{size[1]}" in problem.message and f"{CFG.height}x{CFG.width}" in problem.message
    assert case.case_id not in {c.case_id for c in index.cases}  # never stretched


def test_swapped_crop_and_mask_files_are_still_told_apart(tree, phantom):
    for les in (les for c in cbis_ddsm.scan(tree).cases for les in c.lesions):
        crop, mask = les.meta["crop_path"], les.mask_path
        crop_bytes = crop.read_bytes()
        crop.write_bytes(mask.read_bytes())
        mask.write_bytes(crop_bytes)
    index = cbis_ddsm.scan(tree)
    assert index.problems == []
    for case in index.cases:
        masks = case.lesion_masks()
        assert all(np.array_equal(a, b) for a, b in zip(masks, phantom[case.case_id].lesion_masks))


def test_duplicated_csv_row(tree):
    csv = tree / MASS_TRAIN
    records = _records(csv)
    n_lesions = sum(len(c.lesions) for c in cbis_ddsm.scan(tree).cases)
    csv.write_bytes("\r\n".join(records[:2] + records[1:]).encode())
    index = cbis_ddsm.scan(tree)
    problem = _one_problem(index, "duplicate")
    assert problem.where == f"{MASS_TRAIN} row 2" and "row 1" in problem.message
    assert sum(len(c.lesions) for c in index.cases) == n_lesions


def test_trailing_newline_and_spaces_in_paths_are_stripped(tree):
    csv = tree / MASS_TRAIN
    records = _records(csv)
    image_path = records[1].split(",")[11]
    records[1] = records[1].replace(f",{image_path},", f',"{image_path}\n",').replace("P_00001,", "P_00001 ,", 1)
    csv.write_bytes("\r\n".join(records).encode())
    index = cbis_ddsm.scan(tree)
    assert index.problems == []
    case = next(c for c in index.cases if c.case_id == image_path.split("/")[0])
    assert case.patient_id == "P_00001"


def _view(folder, kind, size=(40, 30)):
    """A hand-made case of ``folder`` with one lesion of ``kind`` drawn as a circle."""
    m = cbis_ddsm._FOLDER.match(folder)
    r = 5 if kind == "mass" else 20
    return Case(case_id=folder, patient_id=m.group(3), dataset="cbis-ddsm", image_path=None, view=m.group(5), laterality=m.group(4)[:1],
                lesions=[Lesion(kind=kind, circle=(r, 10, 3))], meta={"abnormality_type": kind, "size": size}, official_split=m.group(2).lower())


def test_one_view_in_a_mass_and_a_calc_folder_becomes_one_case_with_both_masks():
    both = [_view("Calc-Training_P_00001_LEFT_CC", "calcification"), _view("Mass-Training_P_00001_LEFT_CC", "mass")]
    alone = [_view("Mass-Test_P_00002_RIGHT_MLO", "mass"), _view("Calc-Test_P_00002_RIGHT_CC", "calcification")]
    apart = [_view("Mass-Training_P_00003_LEFT_CC", "mass"), _view("Calc-Training_P_00003_LEFT_CC", "calcification", size=(41, 30))]
    merged = cbis_ddsm.merge_views(both + alone + apart)
    assert [c.case_id for c in merged] == [
        "Mass-Training_P_00001_LEFT_CC+Calc-Training_P_00001_LEFT_CC",  # the Mass- copy first, its image kept
        "Mass-Test_P_00002_RIGHT_MLO",
        "Calc-Test_P_00002_RIGHT_CC",  # another view of the breast: not merged
        "Mass-Training_P_00003_LEFT_CC",
        "Calc-Training_P_00003_LEFT_CC",  # sizes differ: the masks would not overlay
    ]
    one = merged[0]
    assert sorted(les.kind for les in one.lesions) == ["calcification", "mass"] and one.meta["merged_folders"][0].startswith("Mass-")
    union = one.mask_for(("mass", "calcification"), shape=(40, 30))
    assert union[5, 10] and union[20, 10] and not union[35, 25]  # both lesions in the union, nothing else
    assert len(both) == 2 and both[0].case_id.startswith("Calc-")  # the input is left as it was


def test_mass_folders_drop_the_calc_copies():
    cases = [_view("Calc-Training_P_00001_LEFT_CC", "calcification"), _view("Mass-Training_P_00001_LEFT_CC", "mass"), _view("Calc-Test_P_00009_LEFT_MLO", "calcification")]
    assert [c.case_id for c in cbis_ddsm.mass_folders(cases)] == ["Mass-Training_P_00001_LEFT_CC"]


def test_p1_keeps_the_mass_folders_and_p5_merges_the_views(monkeypatch):
    from mammorepro.papers import common, p1, p5

    cases = [_view("Calc-Training_P_00001_LEFT_CC", "calcification"), _view("Mass-Training_P_00001_LEFT_CC", "mass")]
    monkeypatch.setattr(common, "load", lambda cfg: list(cases))
    ids = lambda cs: [c.case_id for c in cs]  # noqa: E731
    assert ids(p1.load({"dataset": "cbis-ddsm", "cbis_mass_folders": True})) == ["Mass-Training_P_00001_LEFT_CC"]
    assert ids(p1.load({"dataset": "cbis-ddsm", "cbis_mass_folders": False})) == ids(cases)
    assert ids(p5.load({"dataset": "cbis-ddsm", "merge_views": True})) == ["Mass-Training_P_00001_LEFT_CC+Calc-Training_P_00001_LEFT_CC"]
    assert ids(p5.load({"dataset": "cbis-ddsm", "merge_views": False})) == ids(cases)
    assert ids(p5.load({"dataset": "inbreast", "merge_views": True})) == ids(cases)  # other datasets as they come
