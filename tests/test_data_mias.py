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


def test_bad_info_lines_are_named_with_file_line_and_fix(tmp_path):
    """Each bad Info.txt line is one problem naming the file, the line and the fix, and its image
    is left out; before, a negative radius crashed in cv2, a radius of 999999 made a mask
    covering the image, and malformed, duplicate and non-UTF-8 lines vanished silently."""
    root = mias.write_phantom(tmp_path / "mias", n=6, seed=2, config=SMALL)
    info = root / "Info.txt"
    good = [line for line in info.read_text().splitlines() if line.startswith("mdb")]
    bad = {
        "mdb001": "mdb001 G CIRC B 100 100 -5",  # negative radius
        "mdb002": "mdb002 G CIRC B 100 100 999999",  # wider than the image
        "mdb003": "mdb003 G CIRC B 100 abc",  # malformed coordinates are "no coordinates"
    }
    lines = [bad.get(line.split()[0], line) for line in good]
    lines += [lines[-1], "mdb0x5 G CIRC"]  # a repeated line, a malformed refnum
    info.write_bytes("\n".join(lines).encode() + b"\nmdb006 G CIRC B 10\xff 10 5\n")
    index = mias.scan(root)
    text = [str(p) for p in index.problems]
    n = len(lines)

    def on(line: int, words: str) -> bool:
        return any(f"{info} line {line}" in t and words in t for t in text)

    assert on(1, "radius -5 is not a positive") and on(2, "radius 999999 is wider than half")
    assert on(n - 1, "repeats line") and on(n, "cannot be read") and on(n + 1, "not UTF-8")
    assert all("->" in t for t in text if str(info) in t)  # every line says what to do
    ids = {c.case_id for c in index.cases}
    assert not ids & {"mdb001", "mdb002"}
    assert all(c.mask.sum() < c.mask.size / 2 for c in index.cases)  # no mask covers the image
