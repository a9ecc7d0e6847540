"""The integrity check names each planted defect in one line, and the CLI exits 1 on problems."""

import shutil
import subprocess
import sys

import cv2
import numpy as np
import pydicom

from conftest import REPO
from mammorepro.data import cbis_ddsm, mias, mini_ddsm
from mammorepro.data.check import check
from mammorepro.data.phantom import PhantomConfig
from tests_helpers import snapshot

SMALL = PhantomConfig(height=256, width=128)


def _kinds(report):
    return sorted(p.kind for p in report.problems)


def test_clean_trees_have_no_problems(tmp_path):
    for module in (mias, mini_ddsm, cbis_ddsm):
        root = module.write_phantom(tmp_path / module.__name__, n=4, seed=0, config=SMALL)
        report = check(module.scan(root), progress=False)
        assert report.ok, report.lines()


def test_unreadable_dicom_and_undecodable_transfer_syntax(tmp_path):
    root = cbis_ddsm.write_phantom(tmp_path / "cbis", n=6, seed=0, config=SMALL)
    index = cbis_ddsm.scan(root)
    first, second = index.cases[0].image_path, index.cases[1].image_path
    # a JPEG-LS header on uncompressed pixels: pydicom has no JPEG-LS decoder installed here
    ds = pydicom.dcmread(second)
    ds.PixelData = pydicom.encaps.encapsulate([ds.PixelData])
    ds.file_meta.TransferSyntaxUID = pydicom.uid.JPEGLSLossless
    ds.save_as(second, enforce_file_format=True)
    first.write_bytes(b"not a dicom at all")
    report = check(index, progress=False)
    lines = [str(p) for p in report.problems]
    assert any("[unreadable]" in line and first.name in line for line in lines), lines
    assert any("[transfer-syntax]" in line and "JPEG-LS" in line and "pylibjpeg" in line for line in lines), lines


def test_empty_mask_and_duplicate_pixels(tmp_path):
    root = mias.write_phantom(tmp_path / "mias", n=4, seed=1, config=SMALL)
    shutil.copy(root / "mdb001.pgm", root / "mdb005.pgm")
    with open(root / "Info.txt", "a") as fh:
        fh.write("mdb005 G NORM \n")
    mini = mini_ddsm.write_phantom(tmp_path / "mini", n=4, seed=1, config=SMALL)
    victim = next(mini.rglob("*_Mask.jpg"))
    cv2.imwrite(str(victim), np.zeros((256, 128), np.uint8))
    before = snapshot(root)
    dup = check(mias.scan(root), progress=False)
    assert any(p.kind == "duplicate" and "mdb001" in str(p) for p in dup.problems), dup.lines()
    empty = check(mini_ddsm.scan(mini), progress=False)
    assert "empty-mask" in _kinds(empty), empty.lines()
    assert snapshot(root) == before


def test_cli_report_exits_1_on_problems(tmp_path):
    root = mias.write_phantom(tmp_path / "mias", n=3, seed=2, config=SMALL)
    ok = subprocess.run([sys.executable, "-m", "mammorepro", "data", "check", "mias", "--root", str(root), "--no-progress"], cwd=REPO, capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("mias at") and "0 problems" in ok.stdout
    (root / "mdb002.pgm").unlink()
    bad = subprocess.run([sys.executable, "-m", "mammorepro", "data", "check", "mias", "--root", str(root), "--no-progress"], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 1 and "[missing-file]" in bad.stdout and "mdb002.pgm" in bad.stdout


def test_phantom_writers_never_write_into_existing_data(tmp_path):
    import pytest

    from mammorepro.data import inbreast
    from mammorepro.errors import DataError

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "mdb001.pgm").write_bytes(b"the user's image")
    for module in (mias, mini_ddsm, cbis_ddsm, inbreast):
        with pytest.raises(DataError, match="new or empty"):
            module.write_phantom(tmp_path / "mine", n=1, config=SMALL)
    assert (tmp_path / "mine" / "mdb001.pgm").read_bytes() == b"the user's image"
