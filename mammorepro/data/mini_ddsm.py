"""Mini-DDSM (Lekamlage et al., DMIP 2020): DDSM at half resolution (~100 um/pixel) as 8-bit JPEG.

Layout: ``MINI-DDSM-Complete-JPEG-8/{Benign,Cancer,Normal}/<4-digit id>/`` holding
``C_0033_1.RIGHT_CC.jpg``, its mask ``C_0033_1.RIGHT_CC_Mask.jpg`` (a second lesion:
``..._MASK2.jpg``, note the case), DDSM ``.OVERLAY`` files and the ``.ics`` header; the sheet
``Data`` of ``DataWMask.xlsx`` (or ``Data.csv``) lists every image: ``fullPath, fileName, View,
Side, Status, Tumour_Contour, Tumour_Contour2, Age, Density``, with Windows backslash paths and
``-`` for "no mask".

Traps handled here: the mask JPEGs are contour OUTLINES, not regions (threshold at 127, close
small JPEG gaps, fill holes); masks may be absent for some abnormal images; the lesion type
(mass or calcification) is not in the sheet: it is read from the ``.OVERLAY`` header
(``LESION_TYPE MASS ...``); without an overlay the kind is ``other``. Patients are the
``<id>`` folders (both views and both breasts of one woman).
"""

from __future__ import annotations

from pathlib import Path, PureWindowsPath

import cv2
import numpy as np
from scipy import ndimage

from mammorepro.data.io import new_folder
from mammorepro.data.records import Case, DatasetIndex, Lesion, Problem
from mammorepro.errors import DataError

TOP = "MINI-DDSM-Complete-JPEG-8"
COLUMNS = ("fullPath", "fileName", "View", "Side", "Status", "Tumour_Contour", "Tumour_Contour2", "Age", "Density")


def read_outline_mask(path: Path) -> np.ndarray:
    """Threshold an outline JPEG at 127, close 1-2 px gaps left by JPEG noise, fill the inside."""
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise DataError(f"mask {path} is unreadable: re-extract it from the Mini-DDSM archive")
    outline = np.pad(img > 127, 3)  # padding: closing must not erode lesions that touch the edge
    closed = ndimage.binary_closing(outline, structure=np.ones((3, 3)), iterations=2)
    return ndimage.binary_fill_holes(closed)[3:-3, 3:-3].astype(np.uint8)


def parse_overlay(path: Path) -> list[dict]:
    """The abnormality headers of a DDSM .OVERLAY file (type, shape/margins or calc type,
    assessment, subtlety, pathology); chain-code outlines are not needed (masks are given)."""
    out: list[dict] = []
    for line in Path(path).read_text(errors="replace").splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "ABNORMALITY":
            out.append({})
        elif out and words[0] == "LESION_TYPE":
            out[-1]["lesion_type"] = words[1] if len(words) > 1 else ""
            out[-1].update({words[i].lower(): words[i + 1] for i in range(2, len(words) - 1, 2)})
        elif out and words[0] in ("ASSESSMENT", "SUBTLETY", "PATHOLOGY") and len(words) > 1:
            out[-1][words[0].lower()] = words[1]
    return out


def layout(root: Path) -> tuple[Path, Path]:
    """(the folder holding the sheet, the folder the sheet's paths start from) of a Mini-DDSM
    copy: the sheet beside ``MINI-DDSM-Complete-JPEG-8/`` (the archive's layout), or inside it
    (a common re-packing), with ``root`` the parent or that folder itself."""
    root = Path(root)

    def has_sheet(folder: Path) -> bool:
        return (folder / "DataWMask.xlsx").is_file() or (folder / "Data.csv").is_file()

    if has_sheet(root) and (root / TOP).is_dir():
        return root, root / TOP
    if has_sheet(root / TOP):
        return root / TOP, root / TOP
    if has_sheet(root) and any((root / s).is_dir() for s in ("Benign", "Cancer", "Normal")):
        return root, root
    if not (has_sheet(root) or (root / TOP).is_dir()):
        raise DataError(f"{root} has neither DataWMask.xlsx nor Data.csv: point the mini-ddsm root at the folder holding them and {TOP}/ (or at {TOP}/ with the sheet inside)")
    if has_sheet(root):
        raise DataError(f"{root} has no {TOP}/ folder: extract the Mini-DDSM archive there")
    raise DataError(f"{root}/{TOP} has neither DataWMask.xlsx nor Data.csv: copy the sheet beside {TOP}/ or into it")


def _read_sheet(root: Path):
    import pandas as pd

    xlsx, csv = root / "DataWMask.xlsx", root / "Data.csv"
    source = xlsx if xlsx.is_file() else csv
    try:
        frame = pd.read_excel(xlsx, sheet_name="Data") if source == xlsx else pd.read_csv(csv, encoding_errors="replace")
    except (ValueError, OSError, KeyError) as exc:
        raise DataError(f"{source} is unreadable ({type(exc).__name__}: {exc}); use the official file, sheet 'Data'") from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"the Mini-DDSM sheet lacks columns {missing}: use the official DataWMask.xlsx (sheet 'Data')")
    return frame


def _local(base: Path, windows_path) -> Path | None:
    if not isinstance(windows_path, str) or windows_path.strip() in ("", "-"):
        return None
    return base / Path(*PureWindowsPath(windows_path.strip()).parts)


def scan(root: Path) -> DatasetIndex:
    """Index a Mini-DDSM copy from its sheet; pixels are read on access."""
    root = Path(root)
    sheet_dir, base = layout(root)
    frame = _read_sheet(sheet_dir)
    cases: list[Case] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for row in frame.itertuples(index=False):
        image_path = _local(base, row.fullPath)
        if image_path is None:
            problems.append(Problem("metadata", f"sheet row {row.fileName}", "no fullPath", "fix the sheet"))
            continue
        case_id = image_path.stem
        if case_id in seen:
            problems.append(Problem("duplicate", case_id, "listed twice in the sheet", "remove the second row"))
            continue
        seen.add(case_id)
        if not image_path.is_file():
            problems.append(Problem("missing-file", str(image_path), "listed in the sheet but absent", "re-extract the archive"))
            continue
        overlay = image_path.with_suffix(".OVERLAY")
        headers = parse_overlay(overlay) if overlay.is_file() else []
        lesions = []
        for k, col in enumerate((row.Tumour_Contour, row.Tumour_Contour2)):
            mask_path = _local(base, col)
            if mask_path is None:
                continue
            if not mask_path.is_file():
                problems.append(Problem("missing-file", str(mask_path), f"mask of {case_id} listed but absent", "re-extract the archive"))
                continue
            header = headers[k] if k < len(headers) else {}
            lesion_type = header.get("lesion_type", "").upper()
            kind = {"MASS": "mass", "CALCIFICATION": "calcification"}.get(lesion_type, "other")
            lesions.append(Lesion(kind=kind, mask_path=mask_path, mask_reader=read_outline_mask, meta={"lesion_type": lesion_type or "unknown (no .OVERLAY)", **header}))
        if row.Status != "Normal" and not lesions:
            problems.append(Problem("metadata", case_id, f"{row.Status} image without a mask", "it is kept as an image without lesion outline"))
        cases.append(
            Case(
                case_id=case_id,
                patient_id=image_path.parent.name,
                dataset="mini-ddsm",
                image_path=image_path,
                view=str(row.View),
                laterality={"LEFT": "L", "RIGHT": "R"}.get(str(row.Side), str(row.Side)),
                lesions=lesions,
                meta={"status": row.Status, "age": row.Age, "density": row.Density},
            )
        )
    return DatasetIndex("mini-ddsm", root, cases, problems)


def _chain_code(contour: np.ndarray) -> list[int]:
    """DDSM chain code of a closed 8-connected contour: 0 = up, then clockwise to 7 = up-left."""
    codes = {(-1, 0): 0, (-1, 1): 1, (0, 1): 2, (1, 1): 3, (1, 0): 4, (1, -1): 5, (0, -1): 6, (-1, -1): 7}
    pts = contour[:, 0, ::-1]  # (row, col)
    steps = np.diff(np.vstack([pts, pts[:1]]), axis=0)
    return [codes[(int(d[0]), int(d[1]))] for d in steps if (int(d[0]), int(d[1])) in codes]


def write_phantom(root: Path, n: int = 12, seed: int = 0, config=None) -> Path:
    """Write phantom cases as a Mini-DDSM copy: 8-bit JPEGs, outline mask JPEGs (``_Mask``,
    ``_MASK2``), ``.OVERLAY`` headers with chain codes at twice the JPEG resolution (as in
    DDSM), and ``DataWMask.xlsx`` with backslash paths. Consecutive pairs of cases form one
    patient folder; cases without a mass go to ``Normal/``."""
    import pandas as pd

    from mammorepro.data.phantom import make_cases

    root = new_folder(root)
    rows = []
    for i, case in enumerate(make_cases(n, seed, config)):
        folder_id = f"{i // 2 + 1:04d}"
        status = "Cancer" if case.lesions and i % 3 == 0 else ("Benign" if case.lesions else "Normal")
        side = "LEFT" if case.laterality == "L" else "RIGHT"
        prefix = {"Cancer": "A", "Benign": "C", "Normal": "D"}[status]
        stem = f"{prefix}_{folder_id}_1.{side}_{case.view}_{i}"
        folder = root / TOP / status / folder_id
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{stem}.jpg"), (case.image >> 8).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 95])
        contours = []
        overlay = [f"TOTAL_ABNORMALITIES {len(case.lesions[:2])}"]
        for k, (les, m) in enumerate(zip(case.lesions[:2], case.lesion_masks[:2])):
            found, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            outline = np.zeros_like(m)
            cv2.drawContours(outline, found, -1, 255, thickness=1)  # the boundary pixels of the mass
            name = f"{stem}_Mask.jpg" if k == 0 else f"{stem}_MASK2.jpg"
            cv2.imwrite(str(folder / name), outline, [cv2.IMWRITE_JPEG_QUALITY, 90])
            contours.append(f"{status}\\{folder_id}\\{name}")
            start = found[0][0, 0]
            overlay += [
                f"ABNORMALITY {k + 1}",
                f"LESION_TYPE MASS SHAPE {les.shape.upper()} MARGINS {les.margin.upper()}",
                "ASSESSMENT 4",
                "SUBTLETY 3",
                f"PATHOLOGY {'MALIGNANT' if status == 'Cancer' else 'BENIGN'}",
                "TOTAL_OUTLINES 1",
                "BOUNDARY",
                f"{2 * int(start[0])} {2 * int(start[1])} " + " ".join(str(c) for c in _chain_code(found[0]) for _ in (0, 1)) + " #",
            ]
        if case.lesions:
            (folder / f"{stem}.OVERLAY").write_text("\n".join(overlay) + "\n")
        rows.append(
            {
                "fullPath": f"{status}\\{folder_id}\\{stem}.jpg",
                "fileName": f"{stem}.jpg",
                "View": case.view,
                "Side": side,
                "Status": status,
                "Tumour_Contour": contours[0] if contours else "-",
                "Tumour_Contour2": contours[1] if len(contours) > 1 else "-",
                "Age": 40 + (i * 7) % 40,
                "Density": "ABCD".index(case.density) + 1,
            }
        )
    pd.DataFrame(rows, columns=list(COLUMNS)).to_excel(root / "DataWMask.xlsx", sheet_name="Data", index=False)
    return root
