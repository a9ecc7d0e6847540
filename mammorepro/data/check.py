"""Dataset integrity check: counts and every defect as one actionable line, before training.

``scan`` indexes a dataset (file-level checks done by its loader); ``check`` then reads every
image and mask once (threads, progress bar) to find unreadable files, DICOM transfer syntaxes
this installation cannot decode (naming the package to install), mask/image size mismatches
(CBIS-DDSM has real ones), empty masks and duplicated images (same pixels under two ids).
Nothing under the data root is ever written.
"""

from __future__ import annotations

import hashlib
import importlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mammorepro.data.records import Case, DatasetIndex, Problem
from mammorepro.data.roots import resolve_root
from mammorepro.errors import ConfigError

LOADERS = {
    "cbis-ddsm": "mammorepro.data.cbis_ddsm",
    "inbreast": "mammorepro.data.inbreast",
    "mini-ddsm": "mammorepro.data.mini_ddsm",
    "mias": "mammorepro.data.mias",
    "cdd-cesm": "mammorepro.data.cdd_cesm",
}


def loader(dataset: str):
    if dataset not in LOADERS:
        raise ConfigError(f"no loader for dataset {dataset!r}: use one of {', '.join(LOADERS)} (the phantom needs none)")
    return importlib.import_module(LOADERS[dataset])


def scan(dataset: str, data_root: str | Path | None = None) -> DatasetIndex:
    """Index ``dataset`` from ``data_root`` or its environment variable."""
    return loader(dataset).scan(resolve_root(dataset, data_root))


def _inspect(case: Case) -> tuple[list[Problem], str | None]:
    """Read one case's image and masks; return its problems and a hash of its pixels."""
    problems: list[Problem] = []
    path = case.image_path
    if path is not None and Path(path).suffix.lower() == ".dcm":
        from mammorepro.data.io import dicom_decoder_problem

        try:
            msg = dicom_decoder_problem(path)
        except Exception as exc:  # noqa: BLE001 - any parse failure is an unreadable file
            return [Problem("unreadable", str(path), f"not a readable DICOM ({type(exc).__name__})", "re-download the file")], None
        if msg:
            return [Problem("transfer-syntax", str(path), msg)], None
    try:
        image = case.image
    except Exception as exc:  # noqa: BLE001
        return [Problem("unreadable", str(path), f"{type(exc).__name__}: {exc}", "re-download the file")], None
    digest = hashlib.sha1(image.tobytes()).hexdigest()
    for les in case.lesions:
        try:
            m = les.render(image.shape)
        except Exception as exc:  # noqa: BLE001
            problems.append(Problem("unreadable", f"{case.case_id} {les.kind} mask", f"{type(exc).__name__}: {exc}", "re-download the mask"))
            continue
        if m.shape != image.shape:
            problems.append(
                Problem(
                    "size-mismatch",
                    case.case_id,
                    f"{les.kind} mask is {m.shape[0]}x{m.shape[1]} but the image is {image.shape[0]}x{image.shape[1]}",
                    "a run stops on this image (masks are never stretched): replace the mask with the official one, or remove the image from the copy",
                )
            )
        elif not m.any():
            problems.append(Problem("empty-mask", f"{case.case_id} {les.kind}", "the mask has no foreground pixel", "check the annotation"))
    return problems, digest


@dataclass
class IntegrityReport:
    index: DatasetIndex
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        counts = self.index.counts()
        counts["problems"] = len(self.problems)
        head = f"{self.index.dataset} at {self.index.root}: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
        return [head] + [str(p) for p in self.problems]


def check(index: DatasetIndex, deep: bool = True, workers: int = 4, progress: bool = True) -> IntegrityReport:
    """The loader's problems plus, when ``deep``, those found by reading every image and mask."""
    problems = list(index.problems)
    if deep and index.cases:
        from tqdm import tqdm

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            results = list(tqdm(pool.map(_inspect, index.cases), total=len(index.cases), disable=not progress, desc="checking"))
        first_seen: dict[str, str] = {}
        for case, (found, digest) in zip(index.cases, results):
            problems.extend(found)
            if digest is None:
                continue
            if digest in first_seen:
                problems.append(Problem("duplicate", case.case_id, f"same pixels as {first_seen[digest]}", "keep one of them"))
            else:
                first_seen[digest] = case.case_id
    return IntegrityReport(index, problems)
