"""Executing the book's notebooks with papermill, with parameters checked first.

papermill itself only *warns* about an unknown parameter name; here an unknown name, a bad
value or an out-of-range setting is a one-line error raised before a kernel starts, so
nothing is written. Executed notebooks go to ``book/executed/`` (the book renders them;
``notebooks/`` holds sources without outputs).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from mammorepro.chapters import CHAPTERS
from mammorepro.config import COMMON_PARAMETERS
from mammorepro.errors import ConfigError, MammoreproError

# notebook name -> the library module that owns its profiles and steps (the registry: mammorepro.chapters)
NOTEBOOKS = {c.notebook: c.module for c in CHAPTERS}
# notebooks that only read what others wrote: they run after every other notebook, in registry order
READERS = tuple(c.notebook for c in CHAPTERS if c.writes is None)
# with several jobs, the longest chapters start first (a scheduling hint; nothing depends on it)
LONGEST_FIRST = ("p3_two_stage_msf", "p1_ds_unet_crf", "p2_multires_unet", "side_by_side", "p5_efficientnet_unet", "p4_model_comparison", "00_tour", "01_data")
REPO = Path(__file__).resolve().parents[1]


class NotebookFailed(MammoreproError):
    """A notebook raised while executing; the message names the cell's error."""


def notebook_path(name: str, root: Path = REPO) -> Path:
    if name not in NOTEBOOKS:
        raise ConfigError(f"unknown notebook {name!r}: valid names are {', '.join(NOTEBOOKS)}")
    path = root / "notebooks" / f"{name}.ipynb"
    if not path.is_file():
        raise ConfigError(f"{path} is missing: run this from a clone of the repository")
    return path


def parse_value(text: str, default=None):
    """Parse a ``-p name value`` string: int, float, True/False, None, else the string itself.
    A parameter whose notebook default is a string keeps the string as typed (``-p data_root 2024``)."""
    if isinstance(default, str):
        return text
    if text in ("None", "none", "null"):
        return None
    if text in ("True", "true"):
        return True
    if text in ("False", "false"):
        return False
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def notebook_parameters(name: str, root: Path = REPO) -> dict:
    """The parameters cell of a notebook (flat scalar assignments): name -> default."""
    import ast

    import nbformat

    nb = nbformat.read(notebook_path(name, root), as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ConfigError(f"{name} must have exactly one cell tagged 'parameters', found {len(cells)}")
    params = {}
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    params[target.id] = node.value.value
    return params


def check_parameters(name: str, params: dict, root: Path = REPO) -> dict:
    """Raise one line on an unknown name or a bad value; return the resolved library config."""
    valid = notebook_parameters(name, root)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ConfigError(f"unknown parameter(s) {', '.join(unknown)} for {name}: valid names are {', '.join(sorted(valid))}")
    module = importlib.import_module(NOTEBOOKS[name])
    profiles = module.PROFILES
    config_names = set(COMMON_PARAMETERS) | set(profiles["default"])
    profile = params.get("profile", "default")
    cfg = module.configure(profile, **{k: v for k, v in params.items() if k in config_names and k != "profile"})
    if cfg.get("dataset", "phantom") != "phantom":
        from mammorepro.data.check import scan

        index = scan(cfg["dataset"], cfg.get("data_root") or None)  # a wrong or empty root fails here, before a kernel starts
        if not index.cases:
            raise ConfigError(
                f"{index.root} holds no usable {cfg['dataset']} image ({len(index.problems)} problem(s)): "
                f"run `python -m mammorepro data check {cfg['dataset']} --root {index.root}` to see why"
            )
    if name not in READERS:  # a folder made with other parameters is refused before any work, not after it
        from mammorepro.report import RunRecorder

        # writes nothing: the same check the run makes when it records, where it records (the kernel's cwd is root)
        RunRecorder.for_config(module.PAPER, {**cfg, "results_root": str(root / cfg["results_root"])})
    return cfg


def is_path_parameter(name: str) -> bool:
    """Parameters that name a file or folder: data and results roots, sample folders, weights."""
    return name.endswith(("_root", "_dir", "_weights", "_path"))


def absolute_paths(params: dict, cwd: str | Path | None = None) -> dict:
    """``params`` with every relative path parameter made absolute against ``cwd`` (the caller's
    directory): notebooks run from the repository root, so a relative path would otherwise mean
    a different folder there than where the user typed it. Symlinks are left as they are."""
    import os

    base = Path(cwd) if cwd else Path.cwd()
    out = dict(params)
    for name, value in params.items():
        if is_path_parameter(name) and isinstance(value, str) and value:
            path = Path(os.path.expanduser(value))
            out[name] = os.path.normpath(path if path.is_absolute() else base / path)
    return out


def parse_parameters(names: list[str], pairs: list[tuple[str, str]]) -> dict:
    """Typed parameters from ``-p name value`` pairs, checked against every named notebook: a name
    no notebook takes is an error before anything runs."""
    defaults: dict = {}
    for name in names:
        defaults.update(notebook_parameters(name))
    unknown = sorted({k for k, _ in pairs} - set(defaults))
    if unknown:
        raise ConfigError(f"unknown parameter(s) {', '.join(unknown)} for {', '.join(names)}: valid names are {', '.join(sorted(defaults))}")
    return {k: parse_value(v, defaults.get(k)) for k, v in pairs}


def execute(name: str, params: dict | None = None, output_dir: Path | None = None, root: Path = REPO, log_output: bool = False) -> Path:
    """Check parameters, then execute ``notebooks/<name>.ipynb`` with papermill from the
    repository root; return the executed notebook's path.

    While it runs, the chapter's result folder is locked (:class:`~mammorepro.report.RunLock`):
    a second run for the same folder is refused. The notebook is executed into
    ``<name>.partial.ipynb`` and renamed over ``<name>.ipynb`` only when it succeeds; a failed
    run leaves ``<name>.failed.ipynb`` and the last good one in place."""
    import contextlib
    import os

    import papermill

    from mammorepro.report.results import LOCK_OWNER, RunLock, run_folder

    params = dict(params or {})
    cfg = check_parameters(name, params, root)
    out_dir = Path(output_dir) if output_dir else root / "book" / "executed"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{name}.ipynb"
    partial, failed = out_dir / f"{name}.partial.ipynb", out_dir / f"{name}.failed.ipynb"
    module = importlib.import_module(NOTEBOOKS[name])
    os.environ[LOCK_OWNER] = str(os.getpid())  # the kernel's own recorder must not refuse its parent's lock
    # check_parameters made the overwrite check; the lock only needs the folder, where the kernel (cwd: root) writes it
    lock = contextlib.nullcontext()
    if name not in READERS:  # pages that only read write no result folder
        lock = RunLock(run_folder(root / cfg["results_root"], module.PAPER, cfg["dataset"], cfg["profile"]))
    try:
        with lock:
            _run_papermill(papermill, name, root, partial, params, log_output)
    except papermill.PapermillExecutionError as exc:
        os.replace(partial, failed)
        hint = " — the disk is full: free space or point results_root / MAMMOREPRO_CACHE elsewhere" if _disk_full(str(exc.evalue)) else ""
        raise NotebookFailed(f"{name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}{hint} (see {failed}; the last good run stays at {out})") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    results_first(partial)
    os.replace(partial, out)
    failed.unlink(missing_ok=True)
    return out


# cells the rendered page folds away (a click shows them): plumbing before the findings
FOLDED = {"parameters": "hide-cell", "injected-parameters": "hide-cell"}


def results_first(path: Path) -> None:
    """Fold an executed notebook's plumbing for the book (Jupyter Book tags): the parameters
    cells (papermill's included) and the configure cell, whose output is the resolved config
    dict, are folded whole behind a toggle; every other code cell shows its output with its code
    a click away. A page then reads findings, tables and figures first."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = list(cell.metadata.get("tags", []))
        extra = [FOLDED[t] for t in tags if t in FOLDED]
        if ".configure(" in cell.source or cell.source.lstrip().startswith(("# %matplotlib", "%matplotlib")):
            extra.append("hide-cell")
        elif not extra:
            extra.append("hide-input")
        cell.metadata["tags"] = list(dict.fromkeys(tags + extra))
    nbformat.write(nb, path)


def _disk_full(message: str) -> bool:
    """Whether an error message is the disk running full (torch says "file write failed")."""
    return any(s in message for s in ("No space left on device", "ENOSPC", "file write failed", "Errno 28"))


def _run_papermill(papermill, name: str, root: Path, out: Path, params: dict, log_output: bool) -> None:
    papermill.execute_notebook(
        str(notebook_path(name, root)),
        str(out),
        parameters=params,
        cwd=str(root),
        kernel_name="python3",
        progress_bar=False,
        log_output=log_output,
        # ipykernel warns on every start that its local TCP transport is unencrypted
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )


def execute_all(per_notebook: dict[str, dict], jobs: int = 1, output_dir: Path | None = None, log_output: bool = False, report=print) -> None:
    """Execute the named notebooks: with ``jobs`` > 1, the chapters run ``jobs`` at a time (each
    kernel limited to cpu_count / jobs threads, set before its kernel starts), longest first;
    the notebooks in :data:`READERS` run after all the others, in order. Every notebook runs even
    when one fails; the first failure is raised at the end."""
    import os
    import time
    from concurrent.futures import ThreadPoolExecutor

    if jobs < 1:
        raise ConfigError(f"jobs={jobs} must be >= 1")
    if jobs > 1:
        threads = str(max(1, (os.cpu_count() or 1) // jobs))
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = threads
    names = list(per_notebook)
    writers = sorted((n for n in names if n not in READERS), key=lambda n: LONGEST_FIRST.index(n) if n in LONGEST_FIRST else len(LONGEST_FIRST))
    failures: list[Exception] = []

    def one(name: str) -> None:
        t0 = time.perf_counter()
        try:
            out = execute(name, per_notebook[name], output_dir, log_output=log_output)
            report(f"{name}: executed in {time.perf_counter() - t0:.0f} s -> {out}")
        except MammoreproError as exc:
            report(f"{name}: failed after {time.perf_counter() - t0:.0f} s")
            failures.append(exc)

    if jobs > 1:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(one, writers))
    else:
        for name in writers:
            one(name)
    for name in (n for n in names if n in READERS):
        one(name)
    if failures:
        raise failures[0]
