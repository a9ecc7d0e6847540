"""Splits are saved files, never redrawn (the nnU-Net rule).

A split groups cases by patient (both views of one woman land in the same part), is drawn
once from a seed, written as JSON, and re-read on every later run. ``group_by="image"`` splits
images independently instead: the mistake a leakage audit measures (p5), never a default. Its SHA-256 goes into every
result's provenance, so two results can only be compared when their split hashes match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from mammorepro.errors import ConfigError, DataError
from mammorepro.files import atomic_write_text, file_sha256


def draw_split(
    case_ids: Sequence[str], patient_ids: Sequence[str], fractions: Mapping[str, float], seed: int
) -> dict[str, list[str]]:
    """Partition cases into named parts with the given fractions, by patient.

    Patients are shuffled with ``seed`` and assigned greedily so each part's case count is as
    close as possible to its fraction; every case lands in exactly one part."""
    if len(case_ids) != len(patient_ids):
        raise ConfigError(f"{len(case_ids)} case ids but {len(patient_ids)} patient ids")
    if len(set(case_ids)) != len(case_ids):
        raise DataError("duplicate case ids: every image needs a unique id before splitting")
    total = sum(fractions.values())
    if not fractions or min(fractions.values()) < 0 or abs(total - 1) > 1e-6:
        raise ConfigError(f"split fractions {dict(fractions)} must be non-negative and sum to 1")
    by_patient: dict[str, list[str]] = {}
    for c, p in zip(case_ids, patient_ids):
        by_patient.setdefault(str(p), []).append(str(c))
    patients = sorted(by_patient)
    order = np.random.default_rng(seed).permutation(len(patients))
    n = len(case_ids)
    targets = {k: f * n for k, f in fractions.items()}
    parts: dict[str, list[str]] = {k: [] for k in fractions}
    for i in order:
        cases = by_patient[patients[i]]
        # the part furthest below its target takes the next patient
        name = max(parts, key=lambda k: (targets[k] - len(parts[k])) / max(targets[k], 1e-9))
        parts[name].extend(cases)
    return {k: sorted(v) for k, v in parts.items()}


def draw_kfold(case_ids: Sequence[str], patient_ids: Sequence[str], k: int, seed: int) -> list[list[str]]:
    """``k`` disjoint folds of whole patients, as equal in case count as greedy assignment allows."""
    if k < 2:
        raise ConfigError(f"k={k} folds: use k >= 2")
    parts = draw_split(case_ids, patient_ids, {f"fold{i + 1}": 1 / k for i in range(k)}, seed)
    return [parts[f"fold{i + 1}"] for i in range(k)]


# the saved split scheme of each dataset (issue: real datasets; p3 uses the INbreast T1-T5)
SCHEMES = {
    "phantom": "one split by patient: 60 % train, 15 % validation, 25 % test",
    "cbis-ddsm": "the official Training / Test split; validation = 10 % of the training patients",
    "inbreast": "five random 70/30 train/test splits by patient (T1-T5); validation = 10 % of each training part",
    "mini-ddsm": "one split by patient: 80 % train, 10 % validation, 10 % test",
    "mias": "five folds by patient; each fold is the test part once; validation = 10 % of the training patients",
    "cdd-cesm": "five folds by patient; each fold is the test part once; validation = 10 % of the training patients",
    # not a dataset: a paper's protocol, applied to any dataset with scheme="holdout70"
    "holdout70": "one random 70/30 train/test hold-out by patient (p4 sec. 3.4); validation = 10 % of the training patients",
}


GROUPINGS = ("patient", "image")


def make_dataset_splits(
    dataset: str,
    case_ids: Sequence[str],
    patient_ids: Sequence[str],
    official: Sequence[str | None] | None = None,
    seed: int = 0,
    scheme: str | None = None,
    group_by: str = "patient",
) -> dict[str, dict[str, list[str]]]:
    """Named splits (each with train / val / test parts) following the dataset's scheme, or the
    scheme of dataset ``scheme`` when a paper's protocol asks for it (p3 draws INbreast's five
    70/30 splits T1-T5 on whatever data it runs on). ``group_by="image"`` treats every image as
    its own patient."""
    if group_by not in GROUPINGS:
        raise ConfigError(f"unknown split grouping {group_by!r}: use one of {', '.join(GROUPINGS)}")
    if group_by == "image":
        patient_ids = list(case_ids)
    if dataset not in SCHEMES:
        raise ConfigError(f"no split scheme for dataset {dataset!r}: use one of {', '.join(SCHEMES)}")
    if scheme is not None:
        if scheme not in SCHEMES:
            raise ConfigError(f"unknown split scheme {scheme!r}: use one of {', '.join(SCHEMES)}")
        dataset = scheme
    owner = dict(zip(map(str, case_ids), map(str, patient_ids)))

    def carve(train: list[str], test: list[str], s: int) -> dict[str, list[str]]:
        inner = draw_split(train, [owner[c] for c in train], {"train": 0.9, "val": 0.1}, s)
        return {"train": inner["train"], "val": inner["val"], "test": sorted(test)}

    if dataset == "phantom":
        return {"default": draw_split(case_ids, patient_ids, {"train": 0.6, "val": 0.15, "test": 0.25}, seed)}
    if dataset == "mini-ddsm":
        return {"default": draw_split(case_ids, patient_ids, {"train": 0.8, "val": 0.1, "test": 0.1}, seed)}
    if dataset == "cbis-ddsm":
        if official is None or any(o not in ("train", "test") for o in official):
            raise ConfigError("CBIS-DDSM splits need every case's official part ('train' or 'test')")
        train = [str(c) for c, o in zip(case_ids, official) if o == "train"]
        test = [str(c) for c, o in zip(case_ids, official) if o == "test"]
        return {"official": carve(train, test, seed)}
    if dataset == "holdout70":
        parts = draw_split(case_ids, patient_ids, {"train": 0.7, "test": 0.3}, seed)
        return {"holdout": carve(parts["train"], parts["test"], seed)}
    if dataset == "inbreast":
        out = {}
        for i in range(5):
            parts = draw_split(case_ids, patient_ids, {"train": 0.7, "test": 0.3}, seed + i)
            out[f"T{i + 1}"] = carve(parts["train"], parts["test"], seed + i)
        return out
    folds = draw_kfold(case_ids, patient_ids, 5, seed)  # mias, cdd-cesm
    return {
        f"fold{i + 1}": carve([c for j, f in enumerate(folds) if j != i for c in f], folds[i], seed + i) for i in range(5)
    }


def split_key(dataset: str, case_ids: Sequence[str], seed: int, scheme: str | None = None, group_by: str = "patient") -> str:
    """A short fingerprint of what defines a dataset's splits: same inputs, same file."""
    scheme = scheme if scheme not in (None, dataset) else None
    spec = [dataset, sorted(map(str, case_ids)), SCHEMES.get(scheme or dataset, ""), seed] + ([group_by] if group_by != "patient" else [])
    h = hashlib.sha256(json.dumps(spec).encode())
    by = "-by-image" if group_by == "image" else ""
    return f"{dataset}{f'-{scheme}-scheme' if scheme else ''}{by}-seed{seed}-{h.hexdigest()[:10]}"


def save_splits(path: Path, splits: Mapping[str, Mapping[str, list[str]]], meta: Mapping) -> str:
    """Write the named splits as JSON (atomically) and return the file's SHA-256."""
    payload = {"meta": dict(meta), "splits": {n: {k: list(v) for k, v in p.items()} for n, p in splits.items()}}
    atomic_write_text(Path(path), json.dumps(payload, indent=1, sort_keys=True) + "\n")
    return file_sha256(path)


def load_splits(path: Path) -> tuple[dict[str, dict[str, list[str]]], dict, str]:
    """Read a split file; returns (named splits, meta, sha256). Refuses overlapping parts."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
        splits = {n: {k: list(v) for k, v in parts.items()} for n, parts in payload["splits"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(f"split file {path} is unreadable ({type(exc).__name__}): delete it to draw it again") from None
    for name, parts in splits.items():
        seen: set[str] = set()
        for v in parts.values():
            overlap = seen & set(v)
            if overlap:
                raise DataError(f"split file {path} puts case {sorted(overlap)[0]} in two parts of {name}: delete it to draw it again")
            seen |= set(v)
    return splits, payload.get("meta", {}), file_sha256(path)


def get_or_create_splits(
    folder: Path,
    dataset: str,
    case_ids: Sequence[str],
    patient_ids: Sequence[str],
    official: Sequence[str | None] | None = None,
    seed: int = 0,
    scheme: str | None = None,
    group_by: str = "patient",
) -> tuple[dict[str, dict[str, list[str]]], Path, str]:
    """Load the saved splits for these cases, or draw them with the dataset's scheme and save them
    the first time. Returns (named splits, path, sha256); the file name fingerprints the inputs,
    so splits are drawn exactly once for a given case list and seed."""
    path = Path(folder) / f"{split_key(dataset, case_ids, seed, scheme, group_by)}.json"
    if path.is_file():
        splits, _, sha = load_splits(path)
        for name, parts in splits.items():
            missing = set(map(str, case_ids)) - {c for v in parts.values() for c in v}
            if missing:
                raise DataError(f"split {name} in {path} lacks case {sorted(missing)[0]}: it was edited by hand; delete it to redraw")
        return splits, path, sha
    splits = make_dataset_splits(dataset, case_ids, patient_ids, official, seed, scheme, group_by)
    meta = {"dataset": dataset, "seed": seed, "scheme": SCHEMES[scheme or dataset], "group_by": group_by, "n_cases": len(case_ids)}
    return splits, path, save_splits(path, splits, meta)
