"""mini-MIAS (Suckling et al. 1994): 322 MLO mammograms, 1024 x 1024 8-bit PGM at 200 um/pixel.

Layout: ``mdb001.pgm ... mdb322.pgm`` and ``Info.txt`` in one folder. ``Info.txt`` has one
line per abnormality, ``REFNUM BG CLASS SEVERITY X Y RADIUS`` (e.g. ``mdb001 G CIRC B 535 425
197``); normal images have 3 fields; a few abnormal lines have no coordinates. BG is the
background tissue (F fatty, G glandular, D dense). Masses are the classes CIRC, SPIC and MISC;
CALC is calcification; ARCH (architectural distortion) and ASYM (asymmetry) are kept as "other".

Traps: the coordinate origin is the BOTTOM-left corner (row = 1023 - Y), and a lesion is only
a circle: its mask is the disc of the given radius, a COARSE approximation of the outline.
Every mask this module makes says so (``Lesion.coarse = True``, ``meta["mask"] = "circle"``).
Images come in left/right pairs of one woman (mdb001 + mdb002, ...): the patient id groups them.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from mammorepro.data.io import new_folder
from mammorepro.data.records import Case, DatasetIndex, Lesion, Problem
from mammorepro.errors import DataError

KIND = {"CIRC": "mass", "SPIC": "mass", "MISC": "mass", "CALC": "calcification", "ARCH": "other", "ASYM": "other"}
TISSUE = {"F": "fatty", "G": "fatty-glandular", "D": "dense-glandular"}
_LINE = re.compile(r"^(mdb\d{3})\s+([FGD])\s+([A-Z]+)(.*)$")


def patient_of(refnum: str) -> str:
    """mini-MIAS images are consecutive left/right pairs of one woman: mdb001+mdb002 -> P001."""
    return f"P{(int(refnum[3:]) + 1) // 2:03d}"


def parse_info(path: Path) -> tuple[dict[str, dict], list[Problem]]:
    """Parse Info.txt into {refnum: {"tissue", "lesions": [...]}} and the problems found: every
    line that starts like a record but cannot be read (bytes that are not text, a malformed line,
    a radius that is not positive, a line repeated) is named with its file and line number and
    left out, never dropped silently."""
    path = Path(path)
    records: dict[str, dict] = {}
    problems: list[Problem] = []
    seen: dict[tuple, int] = {}
    fmt = "REFNUM BG CLASS [SEVERITY X Y RADIUS], e.g. 'mdb001 G CIRC B 535 425 197'"
    for lineno, raw_bytes in enumerate(path.read_bytes().splitlines(), 1):
        where = f"{path} line {lineno}"
        try:
            raw = raw_bytes.decode("utf-8").strip()
        except UnicodeDecodeError:
            if raw_bytes.lstrip().startswith(b"mdb"):
                problems.append(Problem("metadata", where, "holds bytes that are not UTF-8 text", f"retype the line as plain text: {fmt}"))
            continue
        m = _LINE.match(raw)
        if not m:
            if raw.startswith("mdb"):
                problems.append(Problem("metadata", where, f"cannot be read: {raw[:60]!r}", f"write it as {fmt}"))
            continue  # licence text and blank lines around the table
        ref, bg, cls, rest = m.group(1), m.group(2), m.group(3), m.group(4).split()
        key = (ref, cls, *rest)
        if key in seen:
            problems.append(Problem("metadata", where, f"repeats line {seen[key]} ({raw})", "delete one of the two lines"))
            continue
        seen[key] = lineno
        rec = records.setdefault(ref, {"tissue": TISSUE[bg], "lesions": []})
        if cls == "NORM":
            continue
        if cls not in KIND:
            problems.append(Problem("metadata", where, f"unknown class {cls!r} for {ref}", f"use one of {', '.join(KIND)} or NORM"))
            continue
        severity = rest[0] if rest else ""
        coords = rest[1:4]
        if len(coords) < 3 or not all(c.lstrip("-").isdigit() for c in coords):
            rec["lesions"].append({"class": cls, "severity": severity, "located": False, "line": lineno})
            if KIND[cls] == "mass":
                problems.append(Problem("metadata", where, f"{ref} has a {cls} mass without coordinates", "the image is left out of mass segmentation (its mask would be empty)"))
            continue
        x, y, radius = (int(c) for c in coords)
        if radius <= 0:
            problems.append(Problem("metadata", where, f"{ref}: radius {radius} is not a positive number of pixels", "the image is left out; correct the radius (the 7th field)"))
            rec["lesions"].append({"class": cls, "severity": severity, "located": False, "bad": True, "line": lineno})
            continue
        rec["lesions"].append({"class": cls, "severity": severity, "x": x, "y": y, "radius": radius, "located": True, "line": lineno})
    return records, problems


def _read_pgm(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise DataError(f"{path} is not a readable PGM image: re-download it from the mini-MIAS archive")
    return img


def pgm_size(path: Path) -> tuple[int, int]:
    """(rows, cols) from a binary PGM header, without reading the pixels."""
    with open(path, "rb") as fh:
        head = fh.read(256)
    tokens = re.sub(rb"#[^\n]*", b" ", head).split()
    if len(tokens) < 3 or tokens[0] != b"P5":
        raise DataError(f"{path} is not a binary (P5) PGM: re-download it from the mini-MIAS archive")
    return int(tokens[2]), int(tokens[1])


def scan(root: Path) -> DatasetIndex:
    """Index a mini-MIAS folder (headers only; pixels are read on access)."""
    root = Path(root)
    info = root / "Info.txt"
    if not info.is_file():
        raise DataError(f"{root} has no Info.txt: point the mias root at the folder holding mdb001.pgm ... mdb322.pgm and Info.txt")
    records, problems = parse_info(info)
    cases: list[Case] = []
    listed = set(records)
    for ref in sorted(records):
        rec = records[ref]
        path = root / f"{ref}.pgm"
        if not path.is_file():
            problems.append(Problem("missing-file", str(path), "listed in Info.txt but absent", "copy the file or ignore it"))
            continue
        try:
            height, width = pgm_size(path)
        except (OSError, ValueError, DataError) as exc:
            problems.append(Problem("unreadable", str(path), str(exc), "re-download the file"))
            continue
        lesions = []
        unlocated_mass = False
        for les in rec["lesions"]:
            kind = KIND[les["class"]]
            if not les["located"]:
                unlocated_mass |= kind == "mass" or les.get("bad", False)
                continue
            row, col = height - 1 - les["y"], les["x"]  # origin bottom-left
            where = f"{info} line {les['line']}"
            if not (0 <= row < height and 0 <= col < width):
                problems.append(Problem("metadata", where, f"{ref}: lesion centre ({les['x']}, {les['y']}) lies outside the {width} x {height} image", "the image is left out; correct X and Y"))
                unlocated_mass = True
                continue
            if les["radius"] > max(height, width) // 2:
                problems.append(
                    Problem("metadata", where, f"{ref}: radius {les['radius']} is wider than half the {width} x {height} image (no lesion is)", "the image is left out; correct the radius (the 7th field)")
                )
                unlocated_mass = True
                continue
            lesions.append(
                Lesion(
                    kind=kind,
                    circle=(float(row), float(col), float(les["radius"])),
                    coarse=True,
                    meta={"class": les["class"], "severity": les["severity"], "mask": "circle"},
                )
            )
        if unlocated_mass:
            continue
        cases.append(
            Case(
                case_id=ref,
                patient_id=patient_of(ref),
                dataset="mias",
                image_path=path,
                view="MLO",
                lesions=lesions,
                meta={"tissue": rec["tissue"], "coarse_masks": "mini-MIAS masks are circles (centre + radius), not outlines"},
                image_reader=_read_pgm,
            )
        )
    for path in sorted(root.glob("mdb*.pgm")):
        if path.stem not in listed:
            problems.append(Problem("metadata", str(path), "image not listed in Info.txt", "add its line or remove the file"))
    return DatasetIndex("mias", root, cases, problems)


def write_phantom(root: Path, n: int = 12, seed: int = 0, config=None) -> Path:
    """Write phantom cases as a mini-MIAS folder: square 8-bit PGMs (the phantom padded on the
    side away from the chest wall) and an Info.txt whose masses are the circles enclosing each
    phantom mass (centre of mass, radius to its farthest pixel), Y from the bottom."""
    from mammorepro.data.phantom import make_cases

    root = new_folder(root)
    lines = []
    rng = np.random.default_rng(seed)
    for i, case in enumerate(make_cases(n, seed, config), start=1):
        ref = f"mdb{i:03d}"
        h, w = case.image.shape
        side = max(h, w)
        canvas = np.zeros((side, side), dtype=np.uint8)
        left = 0 if case.laterality == "L" else side - w
        canvas[:h, left : left + w] = (case.image >> 8).astype(np.uint8)
        cv2.imwrite(str(root / f"{ref}.pgm"), canvas)
        bg = {"A": "F", "B": "G", "C": "D", "D": "D"}[case.density]
        if not case.lesion_masks:
            lines.append(f"{ref} {bg} NORM ")
        for m in case.lesion_masks:
            rr, cc = np.nonzero(m)
            r0, c0 = rr.mean(), cc.mean() + left
            radius = int(np.ceil(np.sqrt(((rr - r0) ** 2 + (cc + left - c0) ** 2).max()))) + 1
            severity = "M" if rng.random() < 0.4 else "B"
            lines.append(f"{ref} {bg} CIRC {severity} {int(round(c0))} {side - 1 - int(round(r0))} {radius}")
    (root / "Info.txt").write_text("MINI-MIAS (phantom written by mammorepro)\n\n" + "\n".join(lines) + "\n")
    return root
