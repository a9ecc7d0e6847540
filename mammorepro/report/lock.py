"""The reproduction environment: ``requirements.lock`` against each result folder's env.json.

``requirements.lock`` pins every package the book and the tests import (and their dependencies)
to one version with its hashes; ``make install`` installs exactly it. Each result folder's
``env.json`` records the versions it was made with (:func:`mammorepro.report.results.environment`).
This module compares the two, so the README and the book's environment page say which result
folders were made with the lock and which (for example a GPU machine's own torch, ``make install
TORCH=own``) were not.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from mammorepro.errors import ConfigError
from mammorepro.report.results import PACKAGES, commit_label, read_env, run_folders

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements.lock"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
# the packages a GPU machine may keep from its own installation (make install TORCH=own)
OWN_TORCH = ("torch", "torchvision", "triton")

# numbers the environment page quotes, with where they come from
QUOTED = {"SHA-256 hashes": "pip's hash-checking mode", "Linux x86-64 and Python 3.11": "the platform the lock's wheels were resolved for (requirements.lock header)"}


def normalize(name: str) -> str:
    """A distribution name as the lock and pip compare it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: str | Path = LOCK) -> dict[str, str]:
    """package -> version of every ``name==version`` line of a lock file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no lock file at {path}: it ships with the repository (requirements.lock); regenerate it with `make lock`")
    pins = {}
    for line in path.read_text().splitlines():
        m = _PIN.match(line)
        if m:
            pins[normalize(m.group(1))] = m.group(2)
    if not pins:
        raise ConfigError(f"{path} pins no package (no `name==version` line): regenerate it with `make lock`")
    return pins


def differences(env: dict, lock: dict[str, str]) -> dict[str, tuple[str | None, str]]:
    """package -> (version in env.json, version in the lock) for every recorded package whose
    version differs from the lock's (``mammorepro`` itself is not in the lock)."""
    recorded = {normalize(k): v for k, v in (env.get("versions") or {}).items()}
    return {pkg: (recorded.get(pkg), lock[pkg]) for pkg in map(normalize, PACKAGES) if pkg in lock and recorded.get(pkg) != lock[pkg]}


def result_folders(results_root: str | Path = "results") -> list[Path]:
    """Every result folder under ``results_root`` that holds an env.json (``train/`` included)."""
    return run_folders(results_root, name="env.json")


def environment_table(results_root: str | Path = "results", lock_path: str | Path = LOCK) -> pd.DataFrame:
    """One row per result folder: where it ran, its torch, and every version that differs from
    the lock (empty ``differs from the lock`` = made with the lock's versions)."""
    lock = read_lock(lock_path)
    root = Path(results_root)
    rows = []
    for folder in result_folders(root):
        env = read_env(folder)
        diff = differences(env, lock)
        rows.append(
            {
                "result folder": folder.relative_to(root).as_posix(),
                "torch": (env.get("versions") or {}).get("torch"),
                "python": env.get("python"),
                "device": env.get("device") or ("cuda" if env.get("cuda_available") else "cpu"),
                "commit": commit_label(env),
                "matches the lock": not diff,
                "differs from the lock": ", ".join(f"{pkg} {ours} (lock {theirs})" for pkg, (ours, theirs) in diff.items()),
            }
        )
    return pd.DataFrame(rows, columns=["result folder", "torch", "python", "device", "commit", "matches the lock", "differs from the lock"])


def lock_table(lock_path: str | Path = LOCK) -> pd.DataFrame:
    """The lock's versions of the packages every env.json records."""
    lock = read_lock(lock_path)
    return pd.DataFrame([{"package": p, "lock": lock.get(normalize(p))} for p in PACKAGES if normalize(p) in lock])


def summary_lines(results_root: str | Path = "results", lock_path: str | Path = LOCK) -> list[str]:
    """The README's environment paragraph: how many result folders match the lock, and each one
    that does not with its differing versions."""
    table = environment_table(results_root, lock_path)
    if table.empty:
        return []
    lock = read_lock(lock_path)
    head = f"Environment: {int(table['matches the lock'].sum())} of {len(table)} result folders were made with the versions of `requirements.lock` (torch {lock.get('torch')})"
    off = table[~table["matches the lock"]]
    if off.empty:
        return [head + ".", ""]
    lines = [head + "; these were not (the book's environment page lists every folder):", ""]
    lines += ["| result folder | differs from the lock |", "|---|---|"]
    lines += [f"| `{r['result folder']}` | {r['differs from the lock']} |" for _, r in off.iterrows()]
    return lines + [""]


PROFILES = {p: {"results_root": "results", "lock_file": "requirements.lock"} for p in ("smoke", "default", "real", "full")}


def configure(profile: str = "default", **params) -> dict:
    from mammorepro import config as config_mod

    return config_mod.resolve(PROFILES, profile, **params)
