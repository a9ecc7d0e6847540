"""The data chapter (``notebooks/01_data``): one case of every dataset format with its mask,
and the integrity report a user gets on their own copy.

The phantom writes itself in the four real layouts (CBIS-DDSM DICOM + CSV, INbreast DICOM +
OsiriX plist XML, Mini-DDSM JPEG + xlsx, mini-MIAS PGM + Info.txt) into a temporary folder;
each loader reads its tree back, exactly as it would read a real copy. The real-format samples
shipped in ``tests/fixtures`` are shown beside them when present.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mammorepro import config as config_mod
from mammorepro.data.check import LOADERS, check, loader
from mammorepro.data.phantom import PhantomConfig

PAPER = "data"
_COMMON = {"dataset": "phantom", "data_root": "", "seed": 0, "results_root": "results", "deep_check": True}
PROFILES = {
    "smoke": {**_COMMON, "n_cases": 4, "phantom_height": 256},
    "default": {**_COMMON, "n_cases": 8, "phantom_height": 1024},
    "real": {**_COMMON, "n_cases": 8, "phantom_height": 1024},
    "full": {**_COMMON, "n_cases": 24, "phantom_height": 1024},
}
# where the real-format samples live inside tests/fixtures, per dataset
FIXTURE_ROOTS = {"mias": "mias", "mini-ddsm": "mini-ddsm", "inbreast": "inbreast", "cbis-ddsm": "cbis-ddsm", "cdd-cesm": "cdd-cesm"}


def configure(profile: str = "default", **params) -> dict:
    cfg = config_mod.resolve(PROFILES, profile, **params)
    if cfg["phantom_height"] < 128 or cfg["phantom_height"] % 2:
        raise config_mod.ConfigError(f"phantom_height={cfg['phantom_height']} must be an even number >= 128")
    return cfg


def write_layouts(cfg: dict, folder: Path) -> dict[str, Path]:
    """Write ``n_cases`` phantom cases in each real dataset's layout under ``folder``."""
    h = cfg["phantom_height"]
    phantom = PhantomConfig(height=h, width=h // 2)
    return {name: loader(name).write_phantom(Path(folder) / name, n=cfg["n_cases"], seed=cfg["seed"], config=phantom) for name in LOADERS}


def reports(roots: dict[str, Path], deep: bool = True) -> dict[str, object]:
    """Index and check each tree; returns dataset -> IntegrityReport."""
    return {name: check(loader(name).scan(root), deep=deep, progress=False) for name, root in roots.items()}


def fixture_roots(folder: str | Path = "tests/fixtures") -> dict[str, Path]:
    """The real-format samples present in ``folder`` (CBIS-DDSM: CSVs only; INbreast: hand-made)."""
    folder = Path(folder)
    return {name: folder / rel for name, rel in FIXTURE_ROOTS.items() if (folder / rel).is_dir()}


def summary_table(named_reports: dict[str, object]):
    """One row per tree: counts and problems by kind."""
    import pandas as pd

    rows = []
    for name, report in named_reports.items():
        kinds: dict[str, int] = {}
        for p in report.problems:
            kinds[p.kind] = kinds.get(p.kind, 0) + 1
        rows.append({"tree": name, **report.index.counts(), **{f"problems: {k}": v for k, v in sorted(kinds.items())}})
    return pd.DataFrame(rows).set_index("tree").fillna(0)


def plot_first_cases(named_reports: dict[str, object], title_suffix: str = ""):
    """For each tree, its first image with a mass, the mass outlines in red, other lesions in yellow."""
    import matplotlib.pyplot as plt

    shown = []
    for name, report in named_reports.items():
        case = next((c for c in report.index.cases if c.has_mass), None) or (report.index.cases[0] if report.index.cases else None)
        if case is not None:
            shown.append((name, case))
    fig, axes = plt.subplots(1, max(1, len(shown)), figsize=(3.2 * max(1, len(shown)), 4.4), squeeze=False)
    for ax, (name, case) in zip(axes[0], shown):
        image = case.image
        ax.imshow(image, cmap="gray")
        mass = case.mask_for(("mass",), image.shape)
        if mass.any():
            ax.contour(mass, [0.5], colors="red", linewidths=0.8)
        other = case.mask_for(("calcification", "other"), image.shape)
        if other.any():
            ax.contour(other, [0.5], colors="yellow", linewidths=0.8)
        coarse = " (circle mask)" if any(les.coarse for les in case.lesions) else ""
        ax.set_title(f"{name}{title_suffix}\n{case.case_id}{coarse}\n{image.shape[0]}x{image.shape[1]} {image.dtype}", fontsize=7)
    for ax in axes[0]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def problem_lines(named_reports: dict[str, object], most: int = 5) -> str:
    """The first ``most`` problem lines of each report, as a user sees them from the CLI."""
    out = []
    for name, report in named_reports.items():
        lines = report.lines()
        out.append(lines[0])
        out += ["    " + line for line in lines[1 : 1 + most]]
        if len(lines) - 1 > most:
            out.append(f"    ... and {len(lines) - 1 - most} more")
    return "\n".join(out)


def mask_fractions(groups: dict[str, dict[str, object]]):
    """Median fraction of the image covered by masses (images with a mass), per tree and group."""
    import pandas as pd

    rows = []
    for group, named_reports in groups.items():
        for name, report in named_reports.items():
            fr = [float(c.mask.mean()) for c in report.index.cases if c.has_mass]
            rows.append({"tree": name, "group": group, "median mass fraction": round(float(np.median(fr)), 4) if fr else float("nan")})
    return pd.DataFrame(rows).set_index(["tree", "group"])


def record(cfg: dict, named: dict[str, dict[str, object]], figures: dict | None = None) -> Path:
    """Write results/data/<dataset>/<profile>/: the counts and problems of every checked tree
    (the dataset part is "phantom": the page checks phantom trees in every layout and the
    committed real samples)."""
    from mammorepro.report import RunRecorder

    with RunRecorder.for_config(PAPER, cfg) as rec:
        _write(rec, cfg, named, figures)
    return rec.dir


def _write(rec, cfg: dict, named: dict, figures: dict | None) -> None:
    rec.write_config({"parameters": cfg})
    rec.write_metrics(
        {
            group: {
                name: {"counts": report.index.counts() | {"problems": len(report.problems)}, "problems": [str(p) for p in report.problems[:50]]}
                for name, report in reports_.items()
            }
            for group, reports_ in named.items()
        }
    )
    rec.write_env("cpu")
    for name, fig in (figures or {}).items():
        rec.save_figure(fig, name)
