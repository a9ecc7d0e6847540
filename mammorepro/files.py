"""Writing files safely, the lowest layer every other one uses: atomic writes (a reader sees the
old file or the complete new one), JSON with NaN as null, file hashes and the one rule for where
results may land (a ``results`` folder, never inside a data root)."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path

from mammorepro.errors import ConfigError


def jsonable(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None  # JSON has no NaN: null means "undefined" (e.g. no lesion to score)
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return jsonable(obj.item())
    if isinstance(obj, Path):
        return str(obj)
    return obj


@functools.cache
def _umask() -> int:
    """The process umask, read once: reading it means setting it, which must not race with the
    threads that write files (``run --jobs``)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def default_mode(folder: bool = False) -> int:
    """The permissions a plain ``open()`` / ``mkdir()`` would give under the current umask
    (temporary files and folders are created private; results must not stay so)."""
    return (0o777 if folder else 0o666) & ~_umask()


def atomic_write(path: Path, write) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place:
    readers see the old file or the complete new one, never half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies below it (both resolved)."""
    # realpath, not Path.resolve: a symlink loop must give an answer, not a RuntimeError
    path, folder = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
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
    atomic_write_text(path, json.dumps(jsonable(obj), indent=2, sort_keys=True, allow_nan=False) + "\n")


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
