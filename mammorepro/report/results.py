"""Result folders with provenance: ``results/<paper>/<profile>/``.

Each run writes ``config.json`` (every parameter), ``metrics.json`` (every metric definition,
with the split file's hash), ``per_case.csv``, ``env.json`` (versions, device, git commit) and
``figures/``. Every write is atomic (temporary file + rename), so an interrupted run never
leaves a half-written result that the book would read.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from mammorepro.errors import ConfigError

PACKAGES = (
    "mammorepro",
    "torch",
    "torchvision",
    "segmentation-models-pytorch",
    "timm",
    "albumentations",
    "opencv-python-headless",
    "numpy",
    "scipy",
    "scikit-image",
    "pandas",
    "pydicom",
    "pydensecrf2",
)


def _jsonable(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None  # JSON has no NaN: null means "undefined" (e.g. no lesion to score)
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return _jsonable(obj.item())
    if isinstance(obj, Path):
        return str(obj)
    return obj


def atomic_write(path: Path, write) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place:
    readers see the old file or the complete new one, never half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies below it (both resolved)."""
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents


def check_results_root(root: str | Path, data_root: str | Path | None = None) -> Path:
    """One line of error unless ``root`` is a ``results`` folder outside the data root."""
    root = Path(root)
    if "results" not in root.resolve().parts:
        raise ConfigError(f"results root {str(root)!r} is not a 'results' folder: pass results_root='results' or a path ending in /results")
    if data_root and is_inside(root, data_root):
        raise ConfigError(f"results root {str(root)!r} lies inside the data root {str(data_root)!r}: nothing is ever written there; choose another folder")
    return root


def write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(_jsonable(obj), indent=2, sort_keys=True, allow_nan=False) + "\n")


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def git_commit(repo: Path | None = None) -> dict:
    """The commit the code ran at and whether the tree had uncommitted changes. Changes under
    ``results/`` do not count: a rerun rewrites its own committed result files before it
    records this, and those are outputs, not the code that ran."""
    cwd = repo or Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"], cwd=cwd, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    if sha.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": sha.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def environment(device: str | None = None) -> dict:
    """Versions, device and commit: the provenance every result carries."""
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "versions": versions,
        "git": git_commit(),
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["cuda_available"] = torch.cuda.is_available()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    info["device"] = device
    return info


class RunRecorder:
    """Writes one run's result folder ``<root>/<paper>/<profile>/`` atomically.

    ``root`` must be a folder named ``results`` (or inside one): results never land anywhere else.
    """

    def __init__(self, paper: str, profile: str, root: str | Path = "results"):
        root = check_results_root(root)
        for part, label in ((paper, "paper"), (profile, "profile")):
            if not part or "/" in part or part.startswith("."):
                raise ConfigError(f"{label} name {part!r} cannot be used as a folder name")
        self.dir = root / paper / profile
        self.figures = self.dir / "figures"

    def write_config(self, config: dict) -> None:
        write_json(self.dir / "config.json", config)

    def write_env(self, device: str | None = None) -> None:
        write_json(self.dir / "env.json", environment(device))

    def write_metrics(self, metrics: dict) -> None:
        write_json(self.dir / "metrics.json", metrics)

    def write_per_case(self, frame) -> None:
        atomic_write_text(self.dir / "per_case.csv", frame.to_csv(index=False, float_format="%.6g"))

    def write_json(self, name: str, obj) -> Path:
        path = self.dir / name
        write_json(path, obj)
        return path

    def save_figure(self, fig, name: str) -> Path:
        """Save a matplotlib figure as PNG under figures/ (atomically)."""
        return atomic_write(self.figures / f"{name}.png", lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png"))


def read_metrics(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def read_env(folder: str | Path) -> dict:
    """A result folder's env.json (empty when the folder has none)."""
    path = Path(folder) / "env.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def commit_label(env: dict, dirty: bool = True) -> str:
    """The short commit of an env.json, with " dirty" when the tree had uncommitted code."""
    git = env.get("git") or {}
    return (git.get("commit") or "")[:10] + (" dirty" if dirty and git.get("dirty") else "")
