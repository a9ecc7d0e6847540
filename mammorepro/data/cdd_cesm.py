"""CDD-CESM (Khaled et al., Scientific Data 9, 2022; TCIA doi:10.7937/29kw-ae92): contrast-enhanced
spectral mammography of 326 women, with the radiologists' hand-drawn outlines of every finding.
Only the low-energy images (``_DM_`` in the name) are read here: they look like full-field digital
mammograms. File names are ``P<patient>_<L|R>_<DM|CM>_<CC|MLO>.jpg``.

Two layouts are read, through the same records:

* **the official TCIA layout**: ``Low energy images of CDD-CESM/*.jpg``, the segmentation file
  ``Radiology_hand_drawn_segmentations_v2.csv`` (VIA format: ``#filename, ..., region_id,
  region_shape_attributes`` with polygons, ellipses, circles and polylines in the ORIGINAL image's
  pixels) and ``Radiology manual annotations.xlsx`` (sheet ``all``: ``Image_name`` without
  ``.jpg``, ``Findings``, ``Pathology Classification/ Follow up``). Each region becomes one lesion,
  rasterised at the image's own size.
* **a redistributed copy** (the one in this project's real-data folder): ``images/X.jpg`` beside
  ``masks/X.jpg`` (filled 8-bit JPEG masks, thresholded at 127 for their JPEG noise) and the same
  annotation sheet. Such a copy may have been resized without keeping the aspect ratio; its mask
  is then the union of every outlined finding, so the image has one lesion whose kind comes from
  its findings.

Traps: a mask covers EVERY finding the radiologists outlined (masses, architectural distortion,
calcification clusters, asymmetries, skin thickening), so an image counts as a mass image only
when its ``Findings`` name a mass (``"non mass enhancement"`` is not one): its lesion kind is
then "mass", "calcification" when the findings name calcifications only, otherwise "other"; the
findings text is kept in ``meta``. There are no normal images in the malignant category. Split
by patient (``P<id>``): the two views of a breast and both breasts belong to one woman.

Nothing under the root is ever written; :func:`write_phantom` writes phantom cases in the
official layout for the tests and the book.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import cv2
import numpy as np

from mammorepro.data.io import new_folder, read_gray
from mammorepro.data.records import Case, DatasetIndex, Lesion, Problem
from mammorepro.errors import DataError

DATASET = "cdd-cesm"
IMAGES = "Low energy images of CDD-CESM"  # the official folder of the low-energy JPEGs
SEGMENTATIONS = "Radiology_hand_drawn_segmentations_v2.csv"
ANNOTATIONS = "Radiology manual annotations.xlsx"
SHEET_COLUMNS = ("Image_name", "Findings")
_NAME = re.compile(r"^P(\d+)_([LR])_(DM|CM)_(CC|MLO)$")
_NOT_MASS = re.compile(r"non[\s-]*mass", re.IGNORECASE)


def lesion_kind(findings: str) -> str:
    """The lesion kind an image's ``Findings`` give its outlined region: "mass" when they name
    a mass ("non mass enhancement" is not one), "calcification" when they name calcifications
    and no mass, otherwise "other"."""
    text = _NOT_MASS.sub(" ", str(findings or "")).lower()
    if "mass" in text:
        return "mass"
    if "calcif" in text:
        return "calcification"
    return "other"


def read_mask(path: Path) -> np.ndarray:
    """A filled JPEG mask thresholded at 127 (JPEG noise sits around 0 and 255)."""
    return (read_gray(path) > 127).astype(np.uint8)


def _read_sheet(path: Path) -> dict[str, dict]:
    """Image name -> {findings, pathology} from the official annotation sheet (sheet ``all``)."""
    import pandas as pd

    try:
        frame = pd.read_excel(path, sheet_name="all")
    except (ValueError, OSError, KeyError) as exc:
        raise DataError(f"{path} is unreadable ({type(exc).__name__}: {exc}): use the official file, sheet 'all'") from None
    missing = [c for c in SHEET_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{path} lacks the column(s) {missing}: use the official '{ANNOTATIONS}' (sheet 'all')")
    out = {}
    pathology = next((c for c in frame.columns if str(c).startswith("Pathology")), None)
    for row in frame.to_dict(orient="records"):
        name = str(row["Image_name"]).strip().removesuffix(".jpg")
        out[name] = {"findings": str(row["Findings"]).strip(), "pathology": str(row.get(pathology, "")).strip() if pathology else ""}
    return out


def _shape_polygon(shape: dict, where: str) -> np.ndarray:
    """A VIA region as a (K, 2) polygon of (row, col) vertices in the image's pixels."""
    name = shape.get("name")
    if name in ("polygon", "polyline"):
        xs, ys = shape.get("all_points_x") or [], shape.get("all_points_y") or []
        if len(xs) != len(ys) or len(xs) < 3:
            raise DataError(f"{where}: a {name} needs at least 3 points with as many x as y ({len(xs)} x, {len(ys)} y)")
        return np.stack([np.asarray(ys, float), np.asarray(xs, float)], axis=1)
    if name in ("ellipse", "circle"):
        cx, cy = float(shape["cx"]), float(shape["cy"])
        rx = float(shape.get("rx", shape.get("r", 0)))
        ry = float(shape.get("ry", shape.get("r", 0)))
        theta = float(shape.get("theta", 0.0))
        if rx <= 0 or ry <= 0:
            raise DataError(f"{where}: an {name} needs a positive radius")
        t = np.linspace(0, 2 * np.pi, 72, endpoint=False)
        x = cx + rx * np.cos(t) * np.cos(theta) - ry * np.sin(t) * np.sin(theta)
        y = cy + rx * np.cos(t) * np.sin(theta) + ry * np.sin(t) * np.cos(theta)
        return np.stack([y, x], axis=1)
    raise DataError(f"{where}: region shape {name!r} is not one of polygon, polyline, ellipse, circle")


def _read_regions(path: Path) -> tuple[dict[str, list[tuple[np.ndarray, str]]], list[Problem]]:
    """Image name -> [(polygon, shape name)] from the VIA segmentation CSV, and its problems."""
    regions: dict[str, list] = {}
    problems: list[Problem] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text: use the official {SEGMENTATIONS}") from None
    for number, row in enumerate(rows, 2):
        name = str(row.get("#filename") or row.get("filename") or "").strip().removesuffix(".jpg")
        where = f"{path} line {number}"
        try:
            shape = json.loads(row.get("region_shape_attributes") or "{}")
        except json.JSONDecodeError:
            problems.append(Problem("metadata", where, "region_shape_attributes is not JSON", "use the official segmentation file"))
            continue
        if not shape:
            continue  # an image listed without a region
        try:
            regions.setdefault(name, []).append((_shape_polygon(shape, where), shape["name"]))
        except (DataError, KeyError, ValueError, TypeError) as exc:
            problems.append(Problem("metadata", where, str(exc) if isinstance(exc, DataError) else f"region of {name}: {exc!r}", "the region is left out; check the line"))
    return regions, problems


def _case(name: str, image_path: Path, lesions: list[Lesion], info: dict, layout: str) -> Case:
    m = _NAME.match(name)
    patient, side, _, view = m.groups()
    return Case(
        case_id=name,
        patient_id=f"P{int(patient):03d}",
        dataset=DATASET,
        image_path=image_path,
        view=view,
        laterality=side,
        lesions=lesions,
        meta={"findings": info.get("findings", ""), "pathology": info.get("pathology", ""), "layout": layout},
    )


def scan(root: Path) -> DatasetIndex:
    """Index a CDD-CESM root in either layout (low-energy images only; pixels read on access)."""
    root = Path(root)
    sheet = root / ANNOTATIONS
    official = root / IMAGES
    copy = root / "images"
    if not (official.is_dir() or copy.is_dir()):
        raise DataError(f"{root} has neither '{IMAGES}/' (the TCIA layout) nor images/ + masks/ (a copy): point the cdd-cesm root at the folder holding one of them and '{ANNOTATIONS}'")
    if not sheet.is_file():
        raise DataError(f"{root} has no '{ANNOTATIONS}': copy the official annotation sheet there (it gives each image's findings)")
    info = _read_sheet(sheet)
    problems: list[Problem] = []
    cases: list[Case] = []
    if official.is_dir():
        seg = root / SEGMENTATIONS
        if not seg.is_file():
            raise DataError(f"{root} has no {SEGMENTATIONS}: copy the official segmentation file beside '{IMAGES}/'")
        regions, problems = _read_regions(seg)
        images, layout = sorted(official.glob("*.jpg")), "tcia"
    else:
        images, layout = sorted(copy.glob("*.jpg")), "images+masks"
    for path in images:
        name = path.stem
        if not _NAME.match(name):
            problems.append(Problem("metadata", str(path), "file name is not P<id>_<L|R>_<DM|CM>_<CC|MLO>.jpg", "rename it to the official name or remove it"))
            continue
        if "_DM_" not in name:
            continue  # recombined (CM) images are not mammograms
        if name not in info:
            problems.append(Problem("metadata", str(path), f"{name} is not in '{ANNOTATIONS}'", "the image is left out: it has no findings to label its lesions"))
            continue
        kind = lesion_kind(info[name]["findings"])
        if layout == "tcia":
            found = regions.get(name, [])
            lesions = [Lesion(kind=kind, polygon=poly, meta={"findings": info[name]["findings"], "shape": shape}) for poly, shape in found]
        else:
            mask = root / "masks" / path.name
            if not mask.is_file():
                problems.append(Problem("missing-file", str(mask), f"the mask of {name} is absent", "copy masks/ completely, or remove the image"))
                continue
            lesions = [Lesion(kind=kind, mask_path=mask, mask_reader=read_mask, meta={"findings": info[name]["findings"], "union": "every outlined finding"})]
        cases.append(_case(name, path, lesions, info[name], layout))
    return DatasetIndex(DATASET, root, cases, problems)


def write_phantom(root: Path, n: int = 12, seed: int = 0, config=None) -> Path:
    """Write phantom cases in the official TCIA layout: low-energy JPEGs named
    ``P<id>_<L|R>_DM_<CC|MLO>.jpg`` (two views per phantom patient), the VIA segmentation CSV
    (one polygon per mass, traced from its mask; a circle region for every third mass, as the
    file mixes shapes) and the annotation sheet with the findings."""
    import pandas as pd

    from mammorepro.data.phantom import make_cases

    root = new_folder(root)
    (root / IMAGES).mkdir(parents=True)
    seg_rows, sheet_rows = [], []
    for index, case in enumerate(make_cases(n, seed, config)):
        name = f"P{index // 2 + 1}_{case.laterality}_DM_{'CC' if index % 2 == 0 else 'MLO'}"
        cv2.imwrite(str(root / IMAGES / f"{name}.jpg"), (case.image >> 8).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 95])
        masks = case.lesion_masks
        for k, m in enumerate(masks):
            contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            c = max(contours, key=cv2.contourArea)[:, 0, :]
            if k % 3 == 2:
                (cx, cy), r = cv2.minEnclosingCircle(c)
                shape = {"name": "circle", "cx": round(cx), "cy": round(cy), "r": round(r)}
            else:
                shape = {"name": "polygon", "all_points_x": c[:, 0].tolist(), "all_points_y": c[:, 1].tolist()}
            seg_rows.append({"#filename": f"{name}.jpg", "region_id": k, "region_shape_attributes": json.dumps(shape)})
        findings = "Irregular high density mass" if masks else "Architectural distortion"
        sheet_rows.append({"Image_name": name, "Patient_ID": index // 2 + 1, "Side": case.laterality, "Type": "DM", "Findings": findings, "Pathology Classification/ Follow up": "Malignant"})
    with open(root / SEGMENTATIONS, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, ["#filename", "region_id", "region_shape_attributes"])
        writer.writeheader()
        writer.writerows(seg_rows)
    pd.DataFrame(sheet_rows).to_excel(root / ANNOTATIONS, sheet_name="all", index=False)
    return root
