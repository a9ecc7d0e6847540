"""Result folders with provenance: ``results/<chapter>/<dataset>/<profile>/``.

Each run writes ``config.json`` (every parameter), ``metrics.json`` (every metric definition,
with the split file's hash), ``per_case.csv``, ``env.json`` (versions, device, git commit) and
``figures/``. A folder is written whole: every file goes into a hidden sibling folder that is
renamed into place only when the last file is written, so a killed run leaves the previous
folder (or none), never one whose files come from two runs. Runs of one chapter on different
datasets live side by side; a folder made with other parameters is replaced only when the run
is told to (``overwrite``).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import shutil
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from mammorepro.errors import ConfigError
from mammorepro.files import atomic_write, atomic_write_text, check_results_root, default_mode, write_json
from mammorepro.files import jsonable as _jsonable

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


# parameters that say where things are or how the run was started, not what was run
NOT_COMPARED = ("results_root", "data_root", "device", "overwrite")


def changed_parameters(old: dict, new: dict) -> dict[str, tuple]:
    """name -> (old, new) for every parameter that differs between two config.json "parameters"."""
    names = (set(old) | set(new)) - set(NOT_COMPARED)
    return {k: (old.get(k), new.get(k)) for k in sorted(names) if _jsonable(old.get(k)) != _jsonable(new.get(k))}


def run_folder(root: str | Path, paper: str, dataset: str, profile: str) -> Path:
    """``<root>/<paper>/<dataset>/<profile>``, each part checked to be one plain folder name."""
    for part, label in ((paper, "chapter"), (dataset, "dataset"), (profile, "profile")):
        if not part or "/" in part or "\\" in part or part.startswith("."):
            raise ConfigError(f"{label} name {part!r} cannot be used as a folder name")
    return Path(root) / paper / dataset / profile


def check_overwrite(folder: Path, parameters: dict | None, overwrite: bool = False) -> None:
    """One line of error when ``folder`` holds a run made with other parameters (another
    configuration of the same chapter, dataset and profile) and ``overwrite`` is not set."""
    config = Path(folder) / "config.json"
    if overwrite or parameters is None or not config.is_file():
        return
    try:
        old = json.loads(config.read_text()).get("parameters") or {}
    except (OSError, ValueError):
        return  # unreadable: a broken folder is replaced
    diff = changed_parameters(old, parameters)
    if diff:
        shown = ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in list(diff.items())[:4]) + (" ..." if len(diff) > 4 else "")
        raise ConfigError(
            f"{folder} holds a run made with other parameters ({shown}): pass --overwrite (-p overwrite True) to replace it, or another results_root"
        )


LOCK_OWNER = "MAMMOREPRO_LOCK_OWNER"  # the pid of the CLI process whose kernel this is


class RunLock:
    """One run at a time per result folder: a lock file ``.<profile>.lock`` beside the folder
    holds the running process's pid while a run executes; a second run for the same folder is
    refused with one line, and a lock whose process is gone (a killed run) is taken over."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder.parent / f".{self.folder.name}.lock"

    def holder(self) -> int | None:
        """The pid of the live process holding the lock, or None."""
        try:
            pid = int(self.path.read_text().strip() or 0)
        except (OSError, ValueError):
            return None
        if pid <= 0 or pid == os.getpid() or str(pid) == os.environ.get(LOCK_OWNER):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid  # alive, another user's
        return pid

    def check(self) -> None:
        pid = self.holder()
        if pid is not None:
            raise ConfigError(f"another run (pid {pid}) is writing {self.folder}: wait for it to end, or remove {self.path} if that process is not a mammorepro run")

    def __enter__(self) -> "RunLock":
        self.check()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, str(os.getpid()))
        return self

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)


class RunRecorder:
    """Writes one run's result folder ``<root>/<paper>/<dataset>/<profile>/`` as a whole.

    Use it as a context manager: the files go into a hidden sibling folder, renamed into place
    when the ``with`` block ends without an error (an error, or a kill, leaves the previous folder
    untouched and the hidden one is removed or ignored). ``root`` must be a folder named
    ``results`` (or inside one): results never land anywhere else. ``parameters`` (the run's
    config) is compared with the folder's config.json: a different configuration is refused
    unless ``overwrite``.
    """

    def __init__(self, paper: str, profile: str, root: str | Path = "results", dataset: str = "phantom", parameters: dict | None = None, overwrite: bool = False):
        root = check_results_root(root)
        self.dir = run_folder(root, paper, dataset, profile)
        RunLock(self.dir).check()  # another live run writes this folder: refused, even with overwrite
        check_overwrite(self.dir, parameters, overwrite)
        self._staging: Path | None = None

    @classmethod
    def for_config(cls, paper: str, cfg: dict, profile: str | None = None) -> "RunRecorder":
        """The recorder of a run with resolved parameters ``cfg``: its folder is
        ``<results_root>/<paper>/<dataset>/<profile>`` (``profile`` overrides the folder name),
        refused when it holds a run with other parameters and ``cfg["overwrite"]`` is not set.
        Nothing is written until the first file; constructing it is the overwrite check."""
        return cls(paper, profile or cfg["profile"], cfg["results_root"], cfg["dataset"], cfg, bool(cfg.get("overwrite", False)))

    @property
    def staging(self) -> Path:
        """The hidden folder the files are written into until :meth:`commit`."""
        if self._staging is None:
            self.dir.parent.mkdir(parents=True, exist_ok=True)
            self._staging = Path(tempfile.mkdtemp(dir=self.dir.parent, prefix=f".{self.dir.name}.partial-"))
        return self._staging

    @property
    def figures(self) -> Path:
        return self.staging / "figures"

    def __enter__(self) -> "RunRecorder":
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()

    def commit(self) -> Path:
        """Rename the complete folder into place (the previous one, if any, is removed after)."""
        staging = self.staging
        old = None
        if self.dir.exists():
            old = Path(tempfile.mkdtemp(dir=self.dir.parent, prefix=f".{self.dir.name}.old-"))
            os.rmdir(old)
            os.replace(self.dir, old)
        os.chmod(staging, default_mode(folder=True))  # mkdtemp made it private
        os.replace(staging, self.dir)
        self._staging = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.dir

    def discard(self) -> None:
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None

    def write_config(self, config: dict) -> None:
        write_json(self.staging / "config.json", config)

    def write_env(self, device: str | None = None) -> None:
        write_json(self.staging / "env.json", environment(device))

    def write_metrics(self, metrics: dict) -> None:
        write_json(self.staging / "metrics.json", metrics)

    def write_per_case(self, frame) -> None:
        atomic_write_text(self.staging / "per_case.csv", frame.to_csv(index=False, float_format="%.6g"))

    def write_json(self, name: str, obj) -> Path:
        path = self.staging / name
        write_json(path, obj)
        return path

    def save_figure(self, fig, name: str) -> Path:
        """Save a matplotlib figure as PNG under figures/ (atomically)."""
        return atomic_write(self.figures / f"{name}.png", lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png"))


def run_folders(results_root: str | Path = "results", chapter: str | None = None, name: str = "metrics.json") -> list[Path]:
    """Every complete result folder ``<chapter>/<dataset>/<profile>`` under ``results_root`` that
    holds ``name`` (all chapters when ``chapter`` is None), sorted. Hidden folders (a run still
    being written, checkpoints) are never listed."""
    root = Path(results_root)
    pattern = f"{chapter}/*/*/{name}" if chapter else f"*/*/*/{name}"
    found = [p.parent for p in root.glob(pattern)]
    return sorted(f for f in found if not any(part.startswith(".") for part in f.relative_to(root).parts))


def read_env(folder: str | Path) -> dict:
    """A result folder's env.json (empty when the folder has none)."""
    path = Path(folder) / "env.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def commit_label(env: dict, dirty: bool = True) -> str:
    """The short commit of an env.json, with " dirty" when the tree had uncommitted code."""
    git = env.get("git") or {}
    return (git.get("commit") or "")[:10] + (" dirty" if dirty and git.get("dirty") else "")
