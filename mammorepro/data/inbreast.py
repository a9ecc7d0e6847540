"""INbreast (Moreira et al., Academic Radiology 19(2):236-248, 2012): 410 full-field digital
mammograms of 115 women, with expert outlines of masses and marks of calcifications.

INbreast needs a signed agreement, so no sample of it is stored here; this module reads the
layout of the release (Moreira I.C., Amaral I., Domingues I., Cardoso A., Cardoso M.J.,
Cardoso J.S., "INbreast: toward a full-field digital mammographic database"):

* ``AllDICOMs/<id>_<hash>_MG_<L|R>_<CC|ML>_ANON.dcm``: one 14-bit image (3328 x 4084 or
  2560 x 3328 pixels); ``<id>`` is 8 digits and ``ML`` means MLO (normalised to "MLO" here, the
  original kept in ``meta["view_original"]``).
* ``AllXML/<id>.xml``: the OsiriX ROI export of that image, an XML property list (``plistlib``):
  ``Images[0] -> {ImageIndex, NumberOfROIs, ROIs}``; each ROI has ``Name`` ("Mass",
  "Calcification", "Cluster", "Spiculated Region", "Assymetry", "Distortion", ...) and
  ``Point_px``, strings "(x, y)" with x the column and y the row, origin top-left. An image
  without findings has no XML (or one without ROIs): it is a normal image, not a problem.
* ``INbreast.csv``: ``;``-separated ``Patient ID;Patient age;Laterality;View;Acquisition date;
  File Name;ACR;Bi-Rads``; ``File Name`` is the 8-digit id, ``ACR`` the density 1-4 (mapped
  to A-D in ``meta["density"]``), ``Bi-Rads`` a category such as ``4a`` (kept as text).

Lesions: only ROIs named "Mass" are masses (filled polygons). "Calcification" and "Cluster"
are kind "calcification", every other name (including "Spiculated Region") kind "other"; the
name is in ``meta["name"]``. ROIs of 1 or 2 points are point marks (typical for
calcifications): they become small circles with ``meta["point"] = True`` and ``coarse=True``.

Patients: the release anonymises ``Patient ID`` ("removed"), so the CSV value is used only
where it is a real id; otherwise images are grouped by the hash in the DICOM file name, which
the release shares between the views of one woman (``meta["patient_id_source"]`` says which).
The DICOM ``PatientID`` tag is kept in ``meta["dicom_patient_id"]`` but not trusted for grouping.

Nothing under the root is ever written; :func:`write_phantom` writes phantom cases in this
layout for the tests and the book.
"""

from __future__ import annotations

import csv
import hashlib
import plistlib
import re
from dataclasses import dataclass
from pathlib import Path
from xml.parsers.expat import ExpatError

import cv2
import numpy as np

from mammorepro.data.io import new_folder, read_gray, write_dicom
from mammorepro.data.records import Case, DatasetIndex, Lesion, Problem
from mammorepro.errors import DataError

DATASET = "inbreast"
LAYOUT = ("AllDICOMs", "AllXML", "INbreast.csv")
CSV_COLUMNS = ("Patient ID", "Patient age", "Laterality", "View", "Acquisition date", "File Name", "ACR", "Bi-Rads")
VIEWS = {"CC": "CC", "ML": "MLO", "MLO": "MLO"}
ACR_DENSITY = {"1": "A", "2": "B", "3": "C", "4": "D"}
POINT_RADIUS = 3.0  # pixels (~0.2 mm at 70 um) for the circle drawn around a point mark
BOUNDS_TOLERANCE = 1.0  # pixels a vertex may lie beyond the image edge
_DICOM_NAME = re.compile(r"^(\d{8})_([^_]+)_MG_([LR])_(CC|MLO?)_ANON\.dcm$", re.IGNORECASE)
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_POINT = re.compile(rf"^\(\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\)$")
_ANONYMISED = {"", "removed", "anonymised", "anonymized", "nan", "none", "-"}
_MAMMO_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"  # Digital Mammography X-Ray Image Storage
REEXTRACT = "re-extract it from the INbreast archive"


class AnnotationError(DataError):
    """One defective XML annotation file: ``kind`` is the :class:`Problem` kind it maps to."""

    def __init__(self, path: Path, kind: str, message: str, fix: str):
        super().__init__(f"{path}: {message} -> {fix}")
        self.kind, self.message, self.fix = kind, message, fix


# ----------------------------------------------------------------------------- XML annotations


def lesion_kind(name: str) -> str:
    """Lesion kind of an ROI name: only "Mass" is a mass."""
    name = name.strip().casefold()
    if name == "mass":
        return "mass"
    return "calcification" if name in ("calcification", "cluster") else "other"


def _parse_point(text, path: Path, index: int) -> tuple[float, float]:
    """(row, col) of one "(x, y)" string of ``Point_px``."""
    m = _POINT.match(text.strip()) if isinstance(text, str) else None
    if not m:
        message = f"ROI #{index} has a malformed Point_px entry {text!r}"
        raise AnnotationError(path, "metadata", message, 'each point must read "(x, y)"; fix or remove the ROI')
    return float(m.group(2)), float(m.group(1))


def _lesion_from_roi(roi, path: Path, index: int) -> Lesion:
    if not isinstance(roi, dict) or not isinstance(roi.get("Point_px"), list) or not roi["Point_px"]:
        raise AnnotationError(path, "metadata", f"ROI #{index} has no Point_px list", "fix or remove the ROI")
    name = str(roi.get("Name", ""))
    kind = lesion_kind(name)
    points = np.array([_parse_point(p, path, index) for p in roi["Point_px"]], dtype=np.float64)
    meta = {"name": name, "roi_index": index, "type": roi.get("Type"), "point": len(points) < 3}
    if len(points) >= 3:
        return Lesion(kind=kind, polygon=points, meta=meta)
    if kind == "mass":
        message = f"Mass ROI #{index} has {len(points)} point(s), no outline"
        raise AnnotationError(path, "empty-mask", message, "redraw the outline or remove the ROI")
    row, col = points.mean(axis=0)
    radius = max(POINT_RADIUS, float(np.hypot(*(points[0] - points[-1]))) / 2)
    return Lesion(kind=kind, circle=(float(row), float(col), radius), coarse=True, meta=meta)


def _read_plist(path: Path) -> list:
    """The ROI dicts of an OsiriX plist (all entries of ``Images``)."""
    try:
        with open(path, "rb") as fh:
            plist = plistlib.load(fh)
    except (plistlib.InvalidFileException, ExpatError, ValueError, OSError) as exc:
        message = f"not a readable plist ({type(exc).__name__})"
        raise AnnotationError(path, "unreadable", message, REEXTRACT) from None
    images = plist.get("Images") if isinstance(plist, dict) else None
    valid = isinstance(images, list) and all(isinstance(im, dict) and isinstance(im.get("ROIs", []), list) for im in images)
    if not valid:
        raise AnnotationError(path, "unreadable", "no Images -> ROIs list (not an OsiriX ROI export)", REEXTRACT)
    return [roi for im in images for roi in im.get("ROIs", [])]


def parse_roi_xml(path: Path) -> list[Lesion]:
    """The lesions of one ``AllXML/<id>.xml`` (OsiriX plist, Moreira et al. 2012), in file order.

    Polygons are (row, col); 1-2 point ROIs become small circles (``meta["point"]``). Raises
    :class:`AnnotationError` (a :class:`DataError`) for an unreadable file or a malformed ROI.
    """
    path = Path(path)
    return [_lesion_from_roi(roi, path, i) for i, roi in enumerate(_read_plist(path))]


def _vertices(lesion: Lesion) -> np.ndarray:
    return lesion.polygon if lesion.polygon is not None else np.array([lesion.circle[:2]])


def _check_bounds(lesions: list[Lesion], shape: tuple[int, int], path: Path) -> None:
    limit = np.array(shape, dtype=np.float64) - 1 + BOUNDS_TOLERANCE
    for les in lesions:
        pts = _vertices(les)
        if (pts < -BOUNDS_TOLERANCE).any() or (pts > limit).any():
            raise AnnotationError(
                path,
                "size-mismatch",
                f"ROI #{les.meta['roi_index']} ({les.meta['name']}) reaches outside the {shape[0]}x{shape[1]} image",
                "check that the XML belongs to this DICOM; the image is left out",
            )


# ----------------------------------------------------------------------------- CSV and DICOMs


def _image_id(value: str) -> str | None:
    m = re.fullmatch(r"(\d{8})(?:\.0+)?", value.strip())
    return m.group(1) if m else None


def _read_table(path: Path) -> tuple[dict[str, dict], list[Problem]]:
    """Rows of INbreast.csv by 8-digit id (column names stripped), and the problems found."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    reader = csv.DictReader(text.splitlines(), delimiter=";")
    fields = [f.strip() for f in reader.fieldnames or []]
    if "File Name" not in fields:
        raise DataError(
            f"{path} has no 'File Name' column (found {fields}): use the INbreast.csv of the release, "
            f"';'-separated with columns {';'.join(CSV_COLUMNS)}"
        )
    rows: dict[str, dict] = {}
    problems: list[Problem] = []
    for lineno, row in enumerate(reader, 2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(row.values()):
            continue
        image_id, where = _image_id(row.get("File Name", "")), f"INbreast.csv line {lineno}"
        if image_id is None:
            problems.append(Problem("metadata", where, f"File Name {row.get('File Name')!r} is not an 8-digit id", "fix the line"))
        elif image_id in rows:
            problems.append(Problem("duplicate", where, f"id {image_id} is listed twice", "delete one line; the first is used"))
        else:
            rows[image_id] = row
    return rows, problems


@dataclass
class _Dicom:
    path: Path
    image_id: str
    hash: str
    laterality: str
    view: str  # as in the file name (CC or ML)
    shape: tuple[int, int]
    dicom_patient_id: str


def _read_header(path: Path) -> tuple[tuple[int, int], str]:
    """(rows, cols) and PatientID of a DICOM, without reading its pixels."""
    import pydicom

    ds = pydicom.dcmread(str(path), stop_before_pixels=True, specific_tags=["Rows", "Columns", "PatientID"])
    return (int(ds.Rows), int(ds.Columns)), str(ds.get("PatientID", "") or "")


def _find_dicoms(root: Path) -> tuple[dict[str, _Dicom], set[str], list[Problem]]:
    """DICOMs by id, the ids found more than once (left out) and the problems found."""
    found: dict[str, list[Path]] = {}
    problems: list[Problem] = []
    for path in sorted((root / "AllDICOMs").glob("*.dcm")):
        m = _DICOM_NAME.match(path.name)
        if m:
            found.setdefault(m.group(1), []).append(path)
        else:
            message = "name is not <8-digit id>_<hash>_MG_<L|R>_<CC|ML>_ANON.dcm"
            problems.append(Problem("metadata", _rel(path, root), message, "rename it as in the release or remove it"))
    dicoms: dict[str, _Dicom] = {}
    duplicates = {image_id for image_id, paths in found.items() if len(paths) > 1}
    for image_id, paths in found.items():
        if image_id in duplicates:
            names = ", ".join(p.name for p in paths)
            message = f"{len(paths)} DICOMs share id {image_id} ({names})"
            problems.append(Problem("duplicate", f"AllDICOMs/{image_id}_*", message, "keep one of them; the id is left out"))
            continue
        path = paths[0]
        try:
            shape, dicom_patient = _read_header(path)
        except Exception as exc:  # pydicom raises many types for damaged files
            message = f"DICOM header unreadable ({type(exc).__name__})"
            problems.append(Problem("unreadable", _rel(path, root), message, REEXTRACT))
            continue
        _, file_hash, side, view = _DICOM_NAME.match(path.name).groups()
        dicoms[image_id] = _Dicom(path, image_id, file_hash, side.upper(), view.upper(), shape, dicom_patient)
    return dicoms, duplicates, problems


def _find_xmls(root: Path) -> tuple[dict[str, Path], list[Problem]]:
    xmls, problems = {}, []
    for path in sorted((root / "AllXML").glob("*.xml")):
        if re.fullmatch(r"\d{8}", path.stem):
            xmls[path.stem] = path
        else:
            fix = "rename it after its DICOM's id or remove it"
            problems.append(Problem("metadata", _rel(path, root), "name is not <8-digit id>.xml", fix))
    return xmls, problems


def _missing_dicoms(table: dict, xmls: dict, present: set[str]) -> list[Problem]:
    """One problem per id that the CSV or an XML names but no DICOM has."""
    problems = []
    for image_id in sorted((set(table) | set(xmls)) - present):
        sources = [s for s, ids in (("INbreast.csv", table), (f"AllXML/{image_id}.xml", xmls)) if image_id in ids]
        message = f"named by {' and '.join(sources)} but absent"
        problems.append(Problem("missing-file", f"AllDICOMs/{image_id}_*.dcm", message, "copy the DICOM from the INbreast archive"))
    return problems


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _patient(row: dict, dicom: _Dicom) -> tuple[str, str]:
    """(patient id, where it comes from): the CSV's when it is a real id, else the file-name hash."""
    value = row.get("Patient ID", "")
    if value.casefold() not in _ANONYMISED:
        return value, "csv"
    return dicom.hash, "file-name hash"


def _disagreements(row: dict, dicom: _Dicom) -> list[str]:
    """Fields where the CSV contradicts the file name."""
    out = []
    if row.get("Laterality") and row["Laterality"].upper() != dicom.laterality:
        out.append(f"Laterality {row['Laterality']!r}")
    if row.get("View") and VIEWS.get(row["View"].upper()) != VIEWS[dicom.view]:
        out.append(f"View {row['View']!r}")
    return out


def _make_case(dicom: _Dicom, row: dict, lesions: list[Lesion], xml: str | None) -> Case:
    patient_id, source = _patient(row, dicom)
    acr = row.get("ACR", "")
    meta = {
        "view_original": dicom.view,
        "acr": acr,
        "density": ACR_DENSITY.get(acr),
        "birads": row.get("Bi-Rads", ""),
        "age": row.get("Patient age", ""),
        "acquisition_date": row.get("Acquisition date", ""),
        "file_hash": dicom.hash,
        "dicom_patient_id": dicom.dicom_patient_id,
        "patient_id_source": source,
        "shape": dicom.shape,
        "xml": xml,
    }
    return Case(
        case_id=dicom.image_id,
        patient_id=patient_id,
        dataset=DATASET,
        image_path=dicom.path,
        view=VIEWS[dicom.view],
        laterality=dicom.laterality,
        lesions=lesions,
        meta=meta,
        image_reader=read_gray,
    )


def _require_layout(root: Path) -> None:
    if not root.is_dir():
        raise DataError(f"INbreast root {root} is not a folder: point it at the folder holding {', '.join(LAYOUT)}")
    missing = [name for name in LAYOUT if not (root / name).exists()]
    if missing:
        raise DataError(
            f"INbreast root {root} lacks {', '.join(missing)}: point it at the extracted release, "
            f"which holds {', '.join(LAYOUT)}"
        )


def scan(root: Path) -> DatasetIndex:
    """Index an INbreast root (Moreira et al., Academic Radiology 19(2), 2012).

    Reads INbreast.csv, the DICOM headers and every XML; pixels are read on access. Images with
    a defective annotation (unreadable XML, malformed ROI, ROI outside the image), duplicated
    ids and unreadable DICOMs are left out and each reported as one :class:`Problem`; an
    image without XML is a normal image.
    """
    root = Path(root)
    _require_layout(root)
    table, problems = _read_table(root / "INbreast.csv")
    dicoms, duplicates, found = _find_dicoms(root)
    xmls, xml_problems = _find_xmls(root)
    problems += found + xml_problems + _missing_dicoms(table, xmls, set(dicoms) | duplicates)
    cases = []
    for image_id, dicom in sorted(dicoms.items()):
        xml = xmls.get(image_id)
        try:
            lesions = parse_roi_xml(xml) if xml else []
            _check_bounds(lesions, dicom.shape, xml)
        except AnnotationError as exc:
            problems.append(Problem(exc.kind, _rel(xml, root), exc.message, exc.fix))
            continue
        row = table.get(image_id)
        if row is None:
            message = "not listed in INbreast.csv (ACR and BI-RADS unknown)"
            problems.append(Problem("metadata", _rel(dicom.path, root), message, "add its line to INbreast.csv"))
            row = {}
        conflicts = _disagreements(row, dicom)
        if conflicts:
            message = f"{', '.join(conflicts)} contradicts the file name {dicom.path.name}"
            problems.append(Problem("metadata", f"INbreast.csv {image_id}", message, "the file name is used; correct the CSV"))
        cases.append(_make_case(dicom, row, lesions, _rel(xml, root) if xml else None))
    return DatasetIndex(DATASET, root, cases, problems)


# ----------------------------------------------------------------------------- phantom writer


def _save_dicom(path: Path, pixels: np.ndarray, *, patient_id: str, laterality: str, view: str, uid_seed: str) -> None:
    """Write a 14-bit MONOCHROME2 mammogram (uncompressed) with file meta."""
    write_dicom(
        path,
        pixels.astype(np.uint16),
        sop_class=_MAMMO_FOR_PRESENTATION,
        uid_seed=uid_seed,
        bits_stored=14,
        PatientID=patient_id,
        ImageLaterality=laterality,
        ViewPosition=view,
    )


def _roi_dict(name: str, xy: np.ndarray, index: int, image: np.ndarray, region: np.ndarray) -> dict:
    """One OsiriX ROI: ``xy`` are (x, y) pixel vertices, ``region`` the pixels it covers (stats)."""
    values = image[region > 0].astype(np.float64)
    mm = xy * 0.07  # INbreast pixels are 70 um
    return {
        "Area": float(region.sum()) * 0.07**2,
        "Center": "({:.6f}, {:.6f}, 0.000000)".format(*mm.mean(axis=0)),
        "Dev": float(values.std()),
        "IndexInImage": index,
        "Max": float(values.max()),
        "Mean": float(values.mean()),
        "Min": float(values.min()),
        "Name": name,
        "NumberOfPoints": len(xy),
        "Point_mm": ["({:.6f}, {:.6f}, 0.000000)".format(*p) for p in mm],
        "Point_px": ["({:.6f}, {:.6f})".format(*p) for p in xy],
        "Total": float(values.sum()),
        "Type": 15 if len(xy) > 2 else 19,
    }


def _outer_contour(mask: np.ndarray) -> np.ndarray:
    """(x, y) vertices of the largest outer contour of a binary mask."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return max(contours, key=cv2.contourArea)[:, 0, :].astype(np.float64)


def _brightest_speck(image: np.ndarray, exclude: np.ndarray) -> tuple[int, int]:
    """(row, col) of the strongest small bright spot (white top-hat peak) away from the edges and masses:
    where the phantom drew its calcification specks, which it does not record."""
    hat = cv2.morphologyEx(image, cv2.MORPH_TOPHAT, np.ones((7, 7), np.uint8)).astype(np.float32)
    margin = max(8, image.shape[0] // 30)
    hat[exclude > 0] = 0
    hat[:margin], hat[-margin:], hat[:, :margin], hat[:, -margin:] = 0, 0, 0, 0
    row, col = np.unravel_index(int(np.argmax(hat)), hat.shape)
    return int(row), int(col)


def _phantom_rois(case, image: np.ndarray) -> list[dict]:
    rois = []
    for lesion_mask in case.lesion_masks:
        rois.append(_roi_dict("Mass", _outer_contour(lesion_mask), len(rois), image, lesion_mask))
    if case.has_calcifications:
        row, col = _brightest_speck(image, case.mask)
        spot = np.zeros_like(case.mask)
        spot[row, col] = 1
        rois.append(_roi_dict("Calcification", np.array([[col, row]], dtype=np.float64), len(rois), image, spot))
    return rois


def _write_xml(path: Path, rois: list[dict]) -> None:
    plist = {"Images": [{"ImageIndex": 0, "NumberOfROIs": len(rois), "ROIs": rois}]}
    with open(path, "wb") as fh:
        plistlib.dump(plist, fh, fmt=plistlib.FMT_XML)


def _birads(case, rng: np.random.Generator) -> str:
    if case.lesions:
        return str(rng.choice(["3", "4a", "4b", "4c", "5"]))
    return "2" if case.has_calcifications else "1"


def write_phantom(root: Path, n: int = 12, seed: int = 0, config=None) -> Path:
    """Write ``n`` phantom cases as an INbreast root (layout of Moreira et al. 2012) and return it.

    DICOMs hold the phantom image divided by 4 (14-bit, MONOCHROME2); each mass becomes a "Mass"
    ROI tracing the outer contour of its mask; images with calcifications get one
    "Calcification" point ROI. Images without any ROI alternate between no XML and an XML with
    zero ROIs, as both occur. The CSV anonymises Patient ID ("removed"), as the release does;
    the file-name hash is shared by the two views of one phantom patient. ``root`` must be new
    or empty.
    """
    from mammorepro.data.phantom import DENSITY_CLASSES, make_cases

    root = new_folder(root)
    (root / "AllDICOMs").mkdir(parents=True)
    (root / "AllXML").mkdir()
    rows, unannotated = [], 0
    for index, case in enumerate(make_cases(n, seed, config)):
        image_id = f"{90000000 + index:08d}"
        file_hash = hashlib.sha1(case.patient_id.encode()).hexdigest()[:16]
        view = "ML" if case.view == "MLO" else "CC"
        pixels = (case.image // 4).astype(np.uint16)
        name = f"{image_id}_{file_hash}_MG_{case.laterality}_{view}_ANON.dcm"
        tags = {"patient_id": case.patient_id, "laterality": case.laterality, "view": case.view}
        _save_dicom(root / "AllDICOMs" / name, pixels, uid_seed=f"{seed}/{index}", **tags)
        rois = _phantom_rois(case, pixels)
        unannotated += not rois
        if rois or unannotated % 2 == 0:
            _write_xml(root / "AllXML" / f"{image_id}.xml", rois)
        rng = np.random.default_rng([seed, index, 1])
        acr = str(DENSITY_CLASSES.index(case.density) + 1)
        age = str(rng.integers(40, 80))
        rows.append(["removed", age, case.laterality, case.view, "201001", image_id, acr, _birads(case, rng)])
    with open(root / "INbreast.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
    return root
