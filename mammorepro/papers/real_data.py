"""The real-data chapter (``notebooks/real_data_mias``): the shared protocol
(:mod:`mammorepro.papers.side_by_side`) on mini-MIAS, shown beside the phantom's run.

mini-MIAS (Suckling et al. 1994) is the one mammography data set anyone can download freely.
Its masses are given as a centre and a radius: every mask is a CIRCLE, not an outline. A
method scored against circles is scored against a shape the radiologist never drew;
:func:`circle_agreement` measures, on phantom masses whose true outline is known, how far the
enclosing circle (the one :func:`mammorepro.data.mias.write_phantom` writes, as mini-MIAS
does) is from the outline: that Dice is the ceiling of any method that draws the true shape.

This chapter trains nothing: it reads ``results/side_by_side/*/metrics.json``. The mini-MIAS
run is ``python -m mammorepro run side_by_side --profile full -p dataset mias -p data_root
/path/to/mini-MIAS`` (five folds by patient); its folder is
``results/side_by_side/mias/<profile>/``, beside the phantom's ``results/side_by_side/phantom/<profile>/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mammorepro.metrics import bootstrap_ci, dice_per_image, format_estimate
from mammorepro.papers.side_by_side import PAPER, TABLE_METRICS
from mammorepro.report.results import commit_label, read_env, run_folders

REAL_DATASET = "mias"
QUOTED = {
    "322 images at 1024 x 1024, 200 um per pixel": "Suckling et al. 1994 (the mini-MIAS database)",
    "all 55 images with a mass and 40 normal ones": "the sample the committed run used (every mass image of mini-MIAS and 40 normals)",
}
# the page's parameters (notebooks/real_data_mias): phantom cases for the circle measurement
PROFILES = {p: {"n_cases": 60, "seed": 0, "results_root": "results"} for p in ("smoke", "default", "real", "full")}


def configure(profile: str = "default", **params) -> dict:
    from mammorepro import config as config_mod

    return config_mod.resolve(PROFILES, profile, **params)


def side_by_side_runs(results_root: str | Path = "results") -> list[dict]:
    """Every shared-protocol result folder: its metrics.json, env.json and folder name."""
    out = []
    for folder in run_folders(results_root, PAPER):
        out.append({"folder": folder, "metrics": json.loads((folder / "metrics.json").read_text()), "env": read_env(folder)})
    return out


def runs_overview(runs: list[dict]) -> pd.DataFrame:
    """One line per result folder: data, profile, device, commit, splits, seeds, test images."""
    rows = []
    for r in runs:
        m, env = r["metrics"], r["env"]
        rows.append(
            {
                "folder": str(Path(PAPER) / r["folder"].parent.name / r["folder"].name),
                "dataset": m["dataset"],
                "profile": m["profile"],
                "device": env.get("device", ""),
                "commit": commit_label(env),
                "splits": ", ".join(m["splits"]),
                "seeds": len(m["seeds"]),
                "test images with a mass": m["n_test"],
                "test images incl. normals": m["n_test_including_normals"],
                "split file": f"{m['split_file']} ({m['split_sha256'][:10]})",
            }
        )
    return pd.DataFrame(rows)


def beside(runs: list[dict], metric: str = "dice_per_image") -> pd.DataFrame:
    """One column per result folder (dataset, profile, device), one row per method:
    ``metric`` as mean [95 % CI] from each run's table."""
    columns = {}
    for r in runs:
        m = r["metrics"]
        name = f"{m['dataset']} / {m['profile']} / {r['env'].get('device', '?')}"
        columns[name] = {
            row["method"]: format_estimate({"value": row[metric], "ci_low": row[f"{metric}_low"], "ci_high": row[f"{metric}_high"]}) for row in m["table"]
        }
    return pd.DataFrame(columns).rename_axis(f"{TABLE_METRICS.get(metric, metric)}")


def learned(runs: list[dict]) -> pd.DataFrame:
    """One row per (result folder, method): the degeneracy gate of
    :func:`mammorepro.report.learned.learned_table` (Dice per image against the all-background
    prediction, paired over the same images, and equality with a trivial prediction). A method
    that does not beat all-background learned nothing measurable on that run: its numbers are
    shown but no conclusion is drawn from them."""
    from mammorepro.report.learned import learned_table

    frames = []
    for r in runs:
        m = r["metrics"]
        t = learned_table(r["folder"])
        t.insert(0, "run", f"{m['dataset']} / {m['profile']}")
        frames.append(t)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def enclosing_circle(mask: np.ndarray) -> np.ndarray:
    """The circle mini-MIAS would record for a mass: centred at its centre of mass, radius to
    its farthest pixel (+1), as :func:`mammorepro.data.mias.write_phantom` writes it."""
    rr, cc = np.nonzero(mask)
    r0, c0 = rr.mean(), cc.mean()
    radius = np.ceil(np.sqrt(((rr - r0) ** 2 + (cc - c0) ** 2).max())) + 1
    yy, xx = np.ogrid[: mask.shape[0], : mask.shape[1]]
    return (yy - r0) ** 2 + (xx - c0) ** 2 <= radius**2


def circle_agreement(cases, seed: int = 0) -> dict:
    """Dice between each mass's true outline and its enclosing circle, over the masses of
    ``cases`` (phantom cases, whose outlines are known): mean, 95 % bootstrap CI, number of
    masses, and the circle's area relative to the mass's."""
    dice, ratio = [], []
    for case in cases:
        for m in case.mass_masks():
            if not m.any():
                continue
            circle = enclosing_circle(m)
            dice.append(float(dice_per_image(circle[None], m[None].astype(bool))[0]))
            ratio.append(float(circle.sum() / m.sum()))
    if not dice:
        return {"masses": 0}
    lo, hi = bootstrap_ci(np.array(dice), seed=seed)
    return {"masses": len(dice), "dice": float(np.mean(dice)), "dice_low": lo, "dice_high": hi, "circle_area_over_mass_area": float(np.median(ratio))}


def plot_circles(cases, n: int = 4):
    """Phantom masses with their true outline (green) and the circle mini-MIAS would give (red)."""
    import matplotlib.pyplot as plt

    masses = [(c, m) for c in cases for m in c.mass_masks() if m.any()][:n]
    fig, axes = plt.subplots(1, len(masses), figsize=(2.6 * len(masses), 2.8), squeeze=False)
    for ax, (case, m) in zip(axes[0], masses):
        rr, cc = np.nonzero(m)
        pad = 1 + max(np.ptp(rr), np.ptp(cc))
        y0, y1 = max(0, rr.min() - pad), min(m.shape[0], rr.max() + pad)
        x0, x1 = max(0, cc.min() - pad), min(m.shape[1], cc.max() + pad)
        circle = enclosing_circle(m)
        ax.imshow(case.image[y0:y1, x0:x1], cmap="gray")
        ax.contour(m[y0:y1, x0:x1], [0.5], colors="lime", linewidths=0.8)
        ax.contour(circle[y0:y1, x0:x1], [0.5], colors="red", linewidths=0.8)
        d = dice_per_image(circle[None], m[None].astype(bool))[0]
        ax.set_title(f"{case.case_id}\noutline vs circle: Dice {d:.2f}", fontsize=7)
        ax.axis("off")
    fig.tight_layout()
    return fig
