"""Data roots: resolved lazily from a parameter or environment variables, never hard-coded.

Order: the ``data_root`` parameter, then ``MAMMOREPRO_<DATASET>`` (e.g. ``MAMMOREPRO_CBIS_DDSM``),
then ``$MAMMOREPRO_DATA/<dataset>``. Nothing under a data root is ever written.
"""

from __future__ import annotations

import os
from pathlib import Path

from mammorepro.errors import ConfigError, DataError

# every dataset a notebook's ``dataset`` parameter may name (the phantom is generated, the rest are read)
DATASETS = ("phantom", "cbis-ddsm", "inbreast", "mini-ddsm", "mias", "cdd-cesm")

# what the user must put under each root (shown when the root is missing)
EXPECTED_LAYOUT = {
    "cbis-ddsm": "the TCIA download tree CBIS-DDSM/<Mass|Calc>-<Training|Test>_P_xxxxx_.../*.dcm and the four *_case_description_*.csv files",
    "inbreast": "AllDICOMs/*.dcm, AllXML/*.xml and INbreast.csv",
    "mini-ddsm": "MINI-DDSM-Complete-JPEG-8/{Benign,Cancer,Normal}/<id>/ and DataWMask.xlsx (or Data.csv)",
    "mias": "the mini-MIAS files mdb001.pgm ... mdb322.pgm and Info.txt",
    "cdd-cesm": "'Low energy images of CDD-CESM/', Radiology_hand_drawn_segmentations_v2.csv and 'Radiology manual annotations.xlsx' (TCIA), or images/ + masks/ with that sheet",
}


def env_var(dataset: str) -> str:
    return "MAMMOREPRO_" + dataset.upper().replace("-", "_")


def resolve_root(dataset: str, data_root: str | os.PathLike | None = None) -> Path:
    """Return the existing folder that holds ``dataset``, or raise one line saying what to set."""
    if dataset not in DATASETS:
        raise ConfigError(f"unknown dataset {dataset!r}: use one of {', '.join(DATASETS)}")
    if dataset == "phantom":
        raise ConfigError("the phantom is generated in memory and has no data root: leave data_root empty")
    candidates = []
    if data_root:
        candidates.append(("data_root", Path(data_root).expanduser()))
    elif os.environ.get(env_var(dataset)):
        candidates.append((env_var(dataset), Path(os.environ[env_var(dataset)]).expanduser()))
    elif os.environ.get("MAMMOREPRO_DATA"):
        candidates.append(("MAMMOREPRO_DATA", Path(os.environ["MAMMOREPRO_DATA"]).expanduser() / dataset))
    if not candidates:
        raise DataError(
            f"no data root for {dataset!r}: pass data_root=... or set {env_var(dataset)} (or MAMMOREPRO_DATA with a "
            f"'{dataset}' folder) to the folder holding {EXPECTED_LAYOUT[dataset]}"
        )
    source, path = candidates[0]
    if not path.is_dir():
        raise DataError(
            f"{source} points to {str(path)!r}, which is not a folder: point it at the folder holding {EXPECTED_LAYOUT[dataset]}"
        )
    return path
