"""Splits are saved files, never redrawn (the nnU-Net rule).

A split groups cases by patient (both views of one woman land in the same part), is drawn
once from a seed, written as JSON, and re-read on every later run. Its SHA-256 goes into every
result's provenance, so two results can only be compared when their split hashes match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from mammorepro.errors import ConfigError, DataError
from mammorepro.report.results import atomic_write_text, file_sha256


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


def split_key(dataset: str, case_ids: Sequence[str], fractions: Mapping[str, float], seed: int) -> str:
    """A short fingerprint of what defines a split: same inputs, same file."""
    h = hashlib.sha256(json.dumps([dataset, sorted(map(str, case_ids)), sorted(fractions.items()), seed]).encode())
    return f"{dataset}-seed{seed}-{h.hexdigest()[:10]}"


def save_split(path: Path, parts: Mapping[str, list[str]], meta: Mapping) -> str:
    """Write the split as JSON (atomically) and return its SHA-256."""
    payload = {"meta": dict(meta), "parts": {k: list(v) for k, v in parts.items()}}
    atomic_write_text(Path(path), json.dumps(payload, indent=1, sort_keys=True) + "\n")
    return file_sha256(path)


def load_split(path: Path) -> tuple[dict[str, list[str]], dict, str]:
    """Read a split file; returns (parts, meta, sha256)."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
        parts = {k: list(v) for k, v in payload["parts"].items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"split file {path} is unreadable ({type(exc).__name__}): delete it to draw it again") from None
    seen: set[str] = set()
    for k, v in parts.items():
        overlap = seen & set(v)
        if overlap:
            raise DataError(f"split file {path} puts case {sorted(overlap)[0]} in two parts: delete it to draw it again")
        seen |= set(v)
    return parts, payload.get("meta", {}), file_sha256(path)


def get_or_create_split(
    folder: Path,
    dataset: str,
    case_ids: Sequence[str],
    patient_ids: Sequence[str],
    fractions: Mapping[str, float],
    seed: int,
) -> tuple[dict[str, list[str]], Path, str]:
    """Load the saved split for these inputs, or draw and save it the first time.

    Returns (parts, path, sha256). The file name is a fingerprint of the inputs, so a split is
    drawn exactly once for a given case list, fractions and seed."""
    path = Path(folder) / f"{split_key(dataset, case_ids, fractions, seed)}.json"
    if path.is_file():
        parts, _, sha = load_split(path)
        missing = set(map(str, case_ids)) - {c for v in parts.values() for c in v}
        if missing:
            raise DataError(f"split file {path} lacks case {sorted(missing)[0]}: it was edited by hand; delete it to redraw")
        return parts, path, sha
    parts = draw_split(case_ids, patient_ids, fractions, seed)
    meta = {"dataset": dataset, "seed": seed, "fractions": dict(fractions), "group_by": "patient", "n_cases": len(case_ids)}
    sha = save_split(path, parts, meta)
    return parts, path, sha
