"""CBIS-DDSM (Lee et al. 2017, Scientific Data 4:170177; TCIA, doi:10.7937/K9/TCIA.2016.7002S9CY).

The curated, DICOM re-release of DDSM: scanned screen-film mammograms (16-bit MONOCHROME2, some
RLE-compressed, about 3000 x 5000 px), each abnormality with a cropped image and a full-size ROI
mask. What a user has on disk after the TCIA download:

* ``CBIS-DDSM/Mass-Training_P_00001_LEFT_CC/<StudyUID>/<SeriesUID>/000000.dcm``: the full mammogram;
* ``CBIS-DDSM/Mass-Training_P_00001_LEFT_CC_1/<StudyUID>/<SeriesUID>/00000N.dcm``: the cropped image
  and the ROI mask of abnormality 1, in one series folder or in two sibling ones;
* the four description CSVs (``mass_case_description_{train,test}_set.csv``,
  ``calc_case_description_{train,test}_set.csv``), downloaded separately, in the root or beside it.

Traps handled here:

* one path column of every CSV row ends in a newline inside its quotes (the ROI mask path in mass
  files, the cropped image path in calc files) and lines end in CRLF: every value is stripped;
* calc files spell ``breast density`` with a space where mass files write ``breast_density``, and
  have ``calc type, calc distribution`` instead of ``mass shape, mass margins``; column names are
  normalised (lower case, spaces to underscores) before use;
* newer NBIA Data Retriever versions do not reproduce the CSV's UID sub-folders (they name them
  ``07-20-2016-DDSM-NA-12345/1.000000-ROI mask images-67890/1-1.dcm``), so files are matched on the
  case folder name only, and each DICOM is identified by its SeriesDescription ("full mammogram
  images", "cropped images", "ROI mask images") or, when that does not tell (missing, or one series
  holding both files), by its pixel size: the mask has the mammogram's size, the crop is small.
  File names are never trusted: ``000000.dcm`` and ``000001.dcm`` swap roles in about 100 rows;
* one full mammogram has one row per abnormality: one :class:`Case` per mammogram, one
  :class:`Lesion` per row;
* the same breast view can be described by a Mass-... and a Calc-... folder; CBIS-DDSM stores them
  as two separate folders (two DICOM copies), so :func:`scan` keeps two separate cases, each with
  its own kind of lesions. Before pooling mass and calcification cases, :func:`merge_views` makes
  them one case with both kinds (p5); :func:`mass_folders` keeps the Mass-... folders only (p1);
* some ROI masks do not have their mammogram's size (e.g. Mass-Test_P_00145_LEFT_CC, mask
  4386 x 1789 vs image 5041 x 2056): reported from the header sizes and never stretched;
* breast density is BI-RADS 1-4; two calc rows (P_01743) say 0, kept as ``None`` (unknown).

Only headers are read while indexing (``stop_before_pixels``); pixels are read on access. Nothing
is ever written under the data root. :func:`write_phantom` writes phantom cases in this layout so
that the loader (and a user's pipeline) can be exercised without the 160 GB download.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from mammorepro.data.io import new_folder, read_gray, write_dicom
from mammorepro.data.records import Case, DatasetIndex, Lesion, Problem
from mammorepro.errors import ConfigError, DataError

DATASET = "cbis-ddsm"
KINDS = ("mass", "calcification")
CSV_FILES = {
    "mass": ("mass_case_description_train_set.csv", "mass_case_description_test_set.csv"),
    "calcification": ("calc_case_description_train_set.csv", "calc_case_description_test_set.csv"),
}
# the official header lines, in order (note "breast_density" vs "breast density")
_PATHS = ("image file path", "cropped image file path", "ROI mask file path")
MASS_COLUMNS = (
    "patient_id", "breast_density", "left or right breast", "image view", "abnormality id", "abnormality type",
    "mass shape", "mass margins", "assessment", "pathology", "subtlety", *_PATHS,
)  # fmt: skip
CALC_COLUMNS = (
    "patient_id", "breast density", "left or right breast", "image view", "abnormality id", "abnormality type",
    "calc type", "calc distribution", "assessment", "pathology", "subtlety", *_PATHS,
)  # fmt: skip
COLUMNS = {"mass": MASS_COLUMNS, "calcification": CALC_COLUMNS}
# the column whose value carries the trailing newline in the official files
_NEWLINE_COLUMN = {"mass": "ROI mask file path", "calcification": "cropped image file path"}
# kind-specific columns -> Lesion.meta keys
_FEATURES = {
    "mass": {"mass_shape": "shape", "mass_margins": "margins"},
    "calcification": {"calc_type": "calc_type", "calc_distribution": "calc_distribution"},
}
SERIES_DESCRIPTIONS = {"full": "full mammogram images", "crop": "cropped images", "mask": "ROI mask images"}
_SPLITS = {"Training": "train", "Test": "test"}
_FOLDER = re.compile(r"^(Mass|Calc)-(Training|Test)_(P_\d+)_(LEFT|RIGHT)_(CC|MLO)(?:_(\d+))?$")


def _csv_list() -> str:
    return ", ".join(name for names in CSV_FILES.values() for name in names)


# ---------------------------------------------------------------------------------------------
# The description CSVs


def _key(column: str) -> str:
    """Normalised column name: 'breast density' and 'breast_density' both give 'breast_density'."""
    return column.strip().lower().replace(" ", "_")


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _case_folder(path: str) -> str:
    """The case folder a CSV path starts with (``Mass-Training_P_00001_LEFT_CC[_1]``)."""
    return re.split(r"[\\/]", path.strip(), maxsplit=1)[0]


def read_description(path: Path) -> list[dict]:
    """Rows of one description CSV as dicts with normalised keys and stripped values.

    Each row also gets ``kind`` ("mass" / "calcification", from the file name), ``csv`` (file
    name), ``row`` (1-based record number; records are not lines, a quoted path spans two) and
    ``image_folder`` / ``lesion_folder`` (the case folders its paths start with)."""
    path = Path(path)
    kind = next((k for k, names in CSV_FILES.items() if path.name in names), None)
    if kind is None:
        raise DataError(f"{path.name} is not a CBIS-DDSM description file: expected one of {_csv_list()}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = {_key(c) for c in COLUMNS[kind]} - {_key(c) for c in reader.fieldnames or []}
            if missing:
                raise DataError(
                    f"{path} lacks the column(s) {sorted(missing)}: replace it with the official file from TCIA"
                )
            rows = [{_key(k): (v or "").strip() for k, v in raw.items() if k is not None} for raw in reader]
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise DataError(f"{path} line {line}: byte {exc.object[exc.start]:#04x} is not UTF-8 text: replace the file with the official one from TCIA, or re-save it as UTF-8") from None
    for number, row in enumerate(rows, 1):
        row.update(
            kind=kind,
            csv=path.name,
            row=number,
            image_folder=_case_folder(row["image_file_path"]),
            lesion_folder=_case_folder(row["roi_mask_file_path"]),
        )
    return rows


def _find_csvs(root: Path, csv_dir: Path | None, kinds: Iterable[str]) -> tuple[list[Path], list[Problem]]:
    """The description CSVs of ``kinds`` in ``csv_dir`` (or the root, its CBIS-DDSM/ or its parent)."""
    places = [Path(csv_dir)] if csv_dir is not None else list(dict.fromkeys([root, _tree_root(root), root.parent]))
    found, problems = [], []
    for name in (name for kind in kinds for name in CSV_FILES[kind]):
        path = next((p / name for p in places if (p / name).is_file()), None)
        if path is None:
            where = " or ".join(str(p) for p in places)
            fix = "download it from the TCIA CBIS-DDSM page, or scan fewer kinds"
            problems.append(Problem("missing-file", name, f"not found in {where}", fix))
        else:
            found.append(path)
    if not found:
        where = " or ".join(str(p) for p in places)
        raise DataError(
            f"no CBIS-DDSM description CSV in {where}: put {_csv_list()} (from the TCIA CBIS-DDSM page) "
            f"in the download root or beside it, or pass csv_dir=..."
        )
    return found, problems


# ---------------------------------------------------------------------------------------------
# The DICOM tree


@dataclass(frozen=True)
class _Dicom:
    """What the header of one DICOM file says: its role (from SeriesDescription, may be None) and size."""

    path: Path
    role: str | None
    shape: tuple[int, int]

    @property
    def pixels(self) -> int:
        return self.shape[0] * self.shape[1]


def _role(description: str) -> str | None:
    text = description.strip().lower()
    return next((role for role, desc in SERIES_DESCRIPTIONS.items() if desc.lower() in text), None)


def _tree_root(root: Path) -> Path:
    """The folder holding the case folders: the root itself, or the CBIS-DDSM/ folder NBIA puts in it."""
    return root / "CBIS-DDSM" if (root / "CBIS-DDSM").is_dir() else root


class _Tree:
    """Case folders under the download root, their DICOM headers read once each."""

    def __init__(self, root: Path, problems: list[Problem]):
        self.root = _tree_root(root)
        self.problems = problems
        self._cache: dict[str, list[_Dicom]] = {}

    @cached_property
    def folders(self) -> set[str]:
        return {p.name for p in self.root.iterdir() if p.is_dir()}

    def dicoms(self, folder: str) -> list[_Dicom]:
        if folder not in self._cache:
            files = sorted((self.root / folder).rglob("*.dcm")) if folder in self.folders else []
            self._cache[folder] = [d for d in map(self._header, files) if d is not None]
        return self._cache[folder]

    def _header(self, path: Path) -> _Dicom | None:
        import pydicom

        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SeriesDescription", "Rows", "Columns"])
            return _Dicom(path, _role(str(ds.get("SeriesDescription", ""))), (int(ds.Rows), int(ds.Columns)))
        except Exception as exc:  # noqa: BLE001 - any parse failure means an unreadable file
            message = f"not a readable DICOM header ({type(exc).__name__})"
            self.problems.append(Problem("unreadable", str(path), message, "re-download the file"))
            return None


def _full_image(dicoms: list[_Dicom]) -> _Dicom | None:
    """The full mammogram of a case folder: the one described so, else the largest file."""
    described = [d for d in dicoms if d.role == "full"]
    return max(described or dicoms, key=lambda d: d.pixels, default=None)


def _crop_and_mask(dicoms: list[_Dicom], full_shape: tuple[int, int]) -> tuple[_Dicom | None, _Dicom | None]:
    """(cropped image, ROI mask) of a lesion folder; never by file name.

    When every file's SeriesDescription names a different role, that decides. Otherwise (missing
    descriptions, or one series holding both files) pixel size does: the mask is the file with
    the mammogram's size, else the largest; a lone small file is the crop."""
    roles = [d.role for d in dicoms]
    if dicoms and None not in roles and len(set(roles)) == len(roles):
        found = dict(zip(roles, dicoms))
        return found.get("crop"), found.get("mask")
    ordered = sorted(dicoms, key=lambda d: (d.shape == full_shape, d.pixels))
    if not ordered:
        return None, None
    if len(ordered) == 1 and ordered[0].shape != full_shape:
        return ordered[0], None
    return (ordered[-2] if len(ordered) > 1 else None), ordered[-1]


# ---------------------------------------------------------------------------------------------
# Readers (pixels, on access)


def read_image(path: Path) -> np.ndarray:
    """The full mammogram's 2-D pixel array (pydicom; RLE decoded; MONOCHROME1 inverted)."""
    return read_gray(path)


def read_mask(path: Path) -> np.ndarray:
    """An ROI mask as uint8 {0, 1} (the files hold 0 / 255)."""
    return (read_gray(path) > 0).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Index


def _group(rows: list[dict], problems: list[Problem]) -> dict[str, list[dict]]:
    """Rows grouped by full mammogram folder; a repeated (image, abnormality id) is a duplicate."""
    groups: dict[str, list[dict]] = {}
    first: dict[tuple[str, str], str] = {}
    for row in rows:
        key = (row["image_folder"], row["abnormality_id"])
        where = f"{row['csv']} row {row['row']}"
        if key in first:
            problems.append(
                Problem(
                    "duplicate",
                    where,
                    f"repeats {key[0]} abnormality {key[1]} of {first[key]}",
                    "the repeat is ignored; delete it from the CSV",
                )
            )
            continue
        first[key] = where
        groups.setdefault(row["image_folder"], []).append(row)
    return groups


def _missing(folder: str, tree: _Tree, what: str, row: dict, outcome: str) -> Problem:
    state = "holds no " + what if folder in tree.folders else "is absent"
    return Problem(
        "missing-file",
        folder,
        f"listed in {row['csv']} row {row['row']} but {tree.root / folder} {state}; {outcome}",
        "download it again with the NBIA Data Retriever, or delete its rows from the CSV",
    )


def _lesion(row: dict, full: _Dicom, tree: _Tree, problems: list[Problem]) -> Lesion | None:
    """The lesion of one CSV row, or None (its problem recorded) when its mask is unusable."""
    folder = row["lesion_folder"]
    crop, mask = _crop_and_mask(tree.dicoms(folder), full.shape)
    if mask is None:
        outcome = f"case {row['image_folder']} left out (its mask would be incomplete)"
        problems.append(_missing(folder, tree, "ROI mask DICOM", row, outcome))
        return None
    if crop is None:
        problems.append(_missing(folder, tree, "cropped-image DICOM", row, "the lesion is kept (no crop needed)"))
    if mask.shape != full.shape:
        problems.append(
            Problem(
                "size-mismatch",
                folder,
                f"ROI mask is {mask.shape[0]}x{mask.shape[1]} but its mammogram is {full.shape[0]}x{full.shape[1]}; "
                f"case {row['image_folder']} left out",
                "a known defect of the source data; the pair is never stretched",
            )
        )
        return None
    features = {meta: row[column] for column, meta in _FEATURES[row["kind"]].items()}
    meta = {
        "abnormality_id": _int(row["abnormality_id"]),
        "pathology": row["pathology"],
        "assessment": _int(row["assessment"]),
        "subtlety": _int(row["subtlety"]),
        **features,
        "lesion_folder": folder,
        "crop_path": crop.path if crop else None,
    }
    return Lesion(kind=row["kind"], mask_path=mask.path, meta=meta, mask_reader=read_mask)


def _case(folder: str, rows: list[dict], tree: _Tree, problems: list[Problem]) -> Case | None:
    """One full mammogram with its lesions, or None (problems recorded) when it cannot be used."""
    first = rows[0]
    full = _full_image(tree.dicoms(folder))
    if full is None:
        problems.append(_missing(folder, tree, "DICOM", first, "the case is left out"))
        return None
    lesions = [_lesion(row, full, tree, problems) for row in rows]
    if any(les is None for les in lesions):
        return None
    match = _FOLDER.match(folder)
    density = _int(first["breast_density"])
    return Case(
        case_id=folder,
        patient_id=first["patient_id"],
        dataset=DATASET,
        image_path=full.path,
        view=first["image_view"],
        laterality=first["left_or_right_breast"][:1],
        lesions=lesions,
        meta={
            "breast_density": density if density in (1, 2, 3, 4) else None,
            "abnormality_type": first["kind"],
            "size": full.shape,
            "csv": first["csv"],
        },
        official_split=_SPLITS[match.group(2)] if match else None,
        image_reader=read_image,
    )


def scan(root: Path, csv_dir: Path | None = None, kinds: Iterable[str] = KINDS) -> DatasetIndex:
    """Index a CBIS-DDSM download root: one Case per full mammogram, one Lesion per CSV row.

    ``root`` holds the case folders (or the ``CBIS-DDSM/`` folder that does); the CSVs are looked
    for in ``csv_dir`` or else in the root and beside it. ``kinds`` picks the mass and/or calc CSVs.
    Only DICOM headers are read. Missing files, duplicates, size mismatches and unreadable headers
    become :class:`Problem` lines; a case whose mask would be incomplete is left out."""
    root = Path(root)
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    unknown = set(kinds) - set(KINDS)
    if unknown or not kinds:
        raise ConfigError(f"unknown CBIS-DDSM kinds {sorted(unknown) or kinds}: use a subset of {KINDS}")
    if not root.is_dir():
        raise DataError(f"{root} is not a folder: point the cbis-ddsm root at the CBIS-DDSM/ download folder")
    paths, problems = _find_csvs(root, csv_dir, kinds)
    rows = [row for path in paths for row in read_description(path)]
    tree = _Tree(root, problems)
    cases = [_case(folder, group, tree, problems) for folder, group in _group(rows, problems).items()]
    return DatasetIndex(DATASET, root, [c for c in cases if c is not None], problems)


def mass_folders(cases: list[Case]) -> list[Case]:
    """Only the cases of the ``Mass-...`` folders: what p1's authors trained and tested on (the
    Mass-Training and Mass-Test folders). A ``Calc-...`` case would otherwise enter as an image
    without a mass, though its view may show one (in its ``Mass-...`` twin)."""
    return [c for c in cases if not c.case_id.startswith("Calc-")]


def view_key(case: Case) -> tuple[str, str, str]:
    """(patient, breast, view): what a ``Mass-...`` and a ``Calc-...`` folder of one mammogram share."""
    return case.patient_id, case.laterality, case.view


def merge_views(cases: list[Case]) -> list[Case]:
    """One case per mammogram: a view described by both a ``Mass-...`` and a ``Calc-...`` folder
    (two DICOM copies of one image, each with its own kind of lesions) becomes one case holding
    every lesion of both, so its masks are the union and it cannot fall on both sides of a
    split with contradictory masks. The ``Mass-...`` copy's image is kept; the case id joins both
    folder names with ``+``. Copies whose image sizes differ stay apart (their masks would not
    overlay)."""
    groups: dict[tuple, list[Case]] = {}
    for c in cases:
        groups.setdefault(view_key(c), []).append(c)
    out = []
    for c in cases:
        group = groups[view_key(c)]
        if len(group) == 1 or len({g.meta.get("size") for g in group}) > 1:
            out.append(c)
            continue
        if c is not group[0]:
            continue  # merged into the group's first case
        ordered = sorted(group, key=lambda g: (not g.case_id.startswith("Mass-"), g.case_id))
        first = ordered[0]
        out.append(
            replace(
                first,
                case_id="+".join(g.case_id for g in ordered),
                lesions=[les for g in ordered for les in g.lesions],
                meta={**first.meta, "abnormality_type": "+".join(sorted({g.meta.get("abnormality_type", "") for g in ordered})), "merged_folders": [g.case_id for g in ordered]},
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Phantom writer


def phantom_names(cases) -> dict[str, str]:
    """CBIS-DDSM case folder for each phantom case that :func:`write_phantom` writes.

    Every CBIS-DDSM image has an abnormality, so mass-free phantom cases are skipped. Phantom
    patients (two images each) become ``P_00001, ...``; an image whose patient already has that
    breast and view (the phantom draws them independently) gets a patient of its own. Every third
    patient is in the official test split (``Mass-Test_...``), the others in training."""
    numbers = [int(c.patient_id.rsplit("_", 1)[1]) + 1 for c in cases]
    spare = itertools.count(max(numbers, default=0) + 1)
    names: dict[str, str] = {}
    for case, number in zip(cases, numbers):
        if not case.lesions:
            continue
        folder = _phantom_folder(number, case)
        while folder in names.values():
            folder = _phantom_folder(next(spare), case)
        names[case.case_id] = folder
    return names


def _phantom_folder(number: int, case) -> str:
    split = "Test" if number % 3 == 0 else "Training"
    side = {"L": "LEFT", "R": "RIGHT"}[case.laterality]
    return f"Mass-{split}_P_{number:05d}_{side}_{case.view}"


@dataclass(frozen=True)
class _Instance:
    """One DICOM file to write: its case folder, UIDs, series description and number in the series."""

    folder: str
    study: str
    series: str
    description: str
    number: int

    def csv_path(self) -> str:
        """The path as the official CSV writes it (TCIA UID sub-folders, ``00000N.dcm``)."""
        return f"{self.folder}/{self.study}/{self.series}/{self.number:06d}.dcm"

    def disk_path(self, naming: str) -> str:
        if naming == "tcia":
            return self.csv_path()
        # NBIA Data Retriever "descriptive" names: date-collection-id / number-description-id / 1-N.dcm
        study = f"07-20-2016-DDSM-NA-{self.study[-5:]}"
        series = f"1.000000-{self.description}-{self.series[-5:]}"
        return f"{self.folder}/{study}/{series}/1-{self.number + 1}.dcm"


def _uid(*parts) -> str:
    from pydicom.uid import generate_uid

    return generate_uid(entropy_srcs=[str(p) for p in parts])


def _write_dicom(path: Path, pixels: np.ndarray, inst: _Instance) -> None:
    """One CBIS-DDSM file (Secondary Capture, as TCIA distributes them)."""
    from pydicom.uid import SecondaryCaptureImageStorage

    write_dicom(
        path,
        pixels,
        sop_class=SecondaryCaptureImageStorage,
        uid_seed=_uid(inst.series, inst.number),
        StudyInstanceUID=inst.study,
        SeriesInstanceUID=inst.series,
        PatientID=inst.folder,
        SeriesDescription=inst.description,
        InstanceNumber=inst.number + 1,
    )


def _lesion_instances(folder: str, k: int, shared: bool) -> tuple[_Instance, _Instance]:
    """(crop, mask) of abnormality ``k``. As in the archive, most abnormalities keep both files in
    one series (000000 / 000001; NBIA 1-1 / 1-2; one SeriesDescription for both, so only pixel size
    tells them apart) and some in two sibling series (both 000000.dcm; NBIA 1-1.dcm each)."""
    lesion_folder = f"{folder}_{k}"
    study = _uid(lesion_folder)
    if shared:
        series = _uid(lesion_folder, "series")
        desc = SERIES_DESCRIPTIONS["mask"]
        return _Instance(lesion_folder, study, series, desc, 0), _Instance(lesion_folder, study, series, desc, 1)
    return (
        _Instance(lesion_folder, study, _uid(lesion_folder, "crop"), SERIES_DESCRIPTIONS["crop"], 0),
        _Instance(lesion_folder, study, _uid(lesion_folder, "mask"), SERIES_DESCRIPTIONS["mask"], 0),
    )


def _phantom_row(case, folder: str, k: int, lesion, paths: tuple[str, str, str]) -> list:
    """One mass CSV row. The phantom has no pathology: a stand-in from the margin (spiculated /
    ill-defined / microlobulated -> MALIGNANT, BI-RADS 4-5); subtlety from the contrast (1-5)."""
    shape = "IRREGULAR" if lesion.shape == "spiculated" else lesion.shape.upper()
    suspicious = lesion.margin in ("spiculated", "ill-defined", "microlobulated")
    return [
        _FOLDER.match(folder).group(3),  # P_00001
        "ABCD".index(case.density) + 1,
        {"L": "LEFT", "R": "RIGHT"}[case.laterality],
        case.view,
        k,
        "mass",
        shape,
        lesion.margin.upper().replace("-", "_"),
        5 if lesion.margin == "spiculated" else 4 if suspicious else 3,
        "MALIGNANT" if suspicious else "BENIGN",
        int(np.clip(round(lesion.contrast * 5), 1, 5)),
        *paths,
    ]


def _write_csv(path: Path, kind: str, rows: list[list]) -> None:
    """Official header, CRLF line ends and the newline inside the last-but-one or last path."""
    trap = COLUMNS[kind].index(_NEWLINE_COLUMN[kind])
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(COLUMNS[kind])
        writer.writerows([*row[:trap], f"{row[trap]}\n", *row[trap + 1 :]] for row in rows)


def write_phantom(root: Path, n: int = 12, seed: int = 0, naming: str = "tcia", config=None) -> Path:
    """Write phantom cases ``0 .. n-1`` of ``seed`` as a CBIS-DDSM download tree under ``root``.

    Full mammograms (16-bit), one cropped image (the lesion's bounding box) and one full-size ROI
    mask (0 / 255, uint8) per mass, as DICOM; sub-folders named by UID (``naming="tcia"``) or like
    newer NBIA Data Retriever downloads (``"nbia"``); the four CSVs with the official headers and
    traps. The calc CSVs hold the header only (phantom calcifications have no annotation). Which
    phantom case lands in which folder: :func:`phantom_names`. Returns ``root``."""
    from mammorepro.data.phantom import make_cases

    if naming not in ("tcia", "nbia"):
        raise ConfigError(
            f"unknown CBIS-DDSM naming {naming!r}: use 'tcia' (UID sub-folders) or 'nbia' (NBIA Data Retriever names)"
        )
    root = new_folder(root)
    cases = make_cases(n, seed, config)
    names = phantom_names(cases)
    rows: dict[str, list[list]] = {name: [] for names_ in CSV_FILES.values() for name in names_}
    counter = itertools.count()
    for case in (c for c in cases if c.case_id in names):
        folder = names[case.case_id]
        full = _Instance(folder, _uid(folder), _uid(folder, "full"), SERIES_DESCRIPTIONS["full"], 0)
        _write_dicom(root / full.disk_path(naming), case.image, full)
        for k, (lesion, mask) in enumerate(zip(case.lesions, case.lesion_masks), 1):
            crop, roi = _lesion_instances(folder, k, shared=next(counter) % 2 == 0)
            r0, r1, c0, c1 = lesion.bbox
            _write_dicom(root / crop.disk_path(naming), case.image[r0:r1, c0:c1], crop)
            _write_dicom(root / roi.disk_path(naming), (mask * 255).astype(np.uint8), roi)
            csv_name = CSV_FILES["mass"][1 if folder.startswith("Mass-Test") else 0]
            paths = (full.csv_path(), crop.csv_path(), roi.csv_path())
            rows[csv_name].append(_phantom_row(case, folder, k, lesion, paths))
    for kind, names_ in CSV_FILES.items():
        for name in names_:
            _write_csv(root / name, kind, rows[name])
    return root
