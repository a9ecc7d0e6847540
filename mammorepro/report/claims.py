"""Claims vs reproduced: every paper's headline numbers beside every result folder that
reproduces them, each with a verdict from one stated rule (:func:`verdict`), never typed.

A claim row holds: the reported number and where it is printed; the paper's data; this run's
value under the paper's own definition (or the most favourable reading where the paper states
none) and under the strict lesion definition, with a 95 % CI; the best score reachable
without segmenting (the all-background prediction under the paper's definition or a reading
its words admit); the best score of a run with a leaky split; and the run's provenance
(dataset, profile, device, commit, split file hash, result folder).

Each paper's module keeps its reported numbers (``REPORTED``); its metrics.json records them
next to what the run measured. The readers below (one per paper, :data:`READERS`) turn a
metrics.json into claim rows.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from mammorepro.metrics import bootstrap_ci
from mammorepro.report.results import commit_label, read_env, run_folders

# the page's parameters (notebooks/claims): it trains nothing, it reads result folders
PROFILES = {p: {"results_root": "results"} for p in ("smoke", "default", "full")}

REACH = 0.01  # a score "reaches" a reported number when it is at most this far below it
PAPERS = ("p1", "p2", "p3", "p4", "p5")
VERDICTS = ("explained by metric definition", "explained by split leakage", "cannot be tested here", "reproduced", "not reproduced")


def configure(profile: str = "default", **params) -> dict:
    from mammorepro import config as config_mod

    return config_mod.resolve(PROFILES, profile, **params)


@dataclass
class Claim:
    paper: str
    claim: str
    paper_data: str  # a dataset name, or "private"
    reported: float
    definition: str  # the paper's definition as read here
    reproduced: float
    strict: float | None = None  # foreground Dice / IoU per image over every test image
    strict_name: str = ""
    ci_low: float = float("nan")  # 95 % CI of `reproduced`, or of `strict` when `ci_of` says so
    ci_high: float = float("nan")
    ci_of: str = ""
    trivial: float | None = None  # best score without segmenting
    trivial_reading: str = ""
    leak: float | None = None  # best score of a leaky split, under the paper's definition
    leak_ci_low: float | None = None  # CI low of (leaky - honest), per-image
    leak_run: str = ""
    higher_is_better: bool = True
    experiment: str = ""  # the chapter section that shows the mechanism
    # provenance
    dataset: str = ""
    profile: str = ""
    device: str = ""
    commit: str = ""
    dirty: bool = False
    split_sha256: str = ""
    result_dir: str = ""


def verdict(c: Claim) -> tuple[str, str]:
    """The verdict and its reason, by the first rule that applies:

    1. **explained by metric definition**: a prediction that segments nothing (all
       background) scores at least ``reported - REACH`` under the paper's definition or a
       reading its words admit, so the number carries no evidence of segmentation;
    2. **explained by split leakage**: a run whose split leaks (images split instead of
       patients, augmented copies split apart) reaches ``reported - REACH`` and its per-image
       gain over the honest split has a CI above 0;
    3. **cannot be tested here**: the run's data is not the paper's (or the paper's is private);
    4. **reproduced** when the reported number lies inside the CI of the reproduced value
       (within ``REACH`` of it when no CI exists), else **not reproduced**.

    Rules 1 and 2 only apply to numbers where higher is better."""
    if c.higher_is_better and c.trivial is not None and c.trivial >= c.reported - REACH:
        return VERDICTS[0], f"{c.trivial_reading} scores {c.trivial:.3f} without segmenting (reported {c.reported:.3f})"
    if c.higher_is_better and c.leak is not None and c.leak >= c.reported - REACH and (c.leak_ci_low or 0) > 0:
        return VERDICTS[1], f"{c.leak_run} reaches {c.leak:.3f}; its gain over the honest split has a CI above 0"
    if c.paper_data == "private":
        return VERDICTS[2], "the paper's data is private"
    if c.dataset != c.paper_data:
        return VERDICTS[2], f"this run used {c.dataset}; the paper used {c.paper_data}"
    if not np.isnan(c.ci_low) and c.ci_of == "reproduced":
        inside = c.ci_low <= c.reported <= c.ci_high
        return (VERDICTS[3], "the reported value lies inside the CI") if inside else (VERDICTS[4], "the reported value lies outside the CI")
    close = abs(c.reproduced - c.reported) <= REACH
    return (VERDICTS[3], f"within {REACH} of the reported value") if close else (VERDICTS[4], f"more than {REACH} from the reported value (no CI)")


# ----------------------------------------------------------------------------- readers


def _per_case_ci(run_dir: Path, column: str, seed: int = 0, **where) -> tuple[float, float]:
    """95 % bootstrap CI over images of ``column`` from per_case.csv rows matching ``where``
    (each image's value averaged over seeds)."""
    path = run_dir / "per_case.csv"
    if not path.is_file():
        return float("nan"), float("nan")
    f = pd.read_csv(path)
    for key, value in where.items():
        if key == "has_lesion":
            f = f[f["has_lesion"].astype(str) == "True"]
        else:
            f = f[f[key] == value]
    if f.empty:
        return float("nan"), float("nan")
    keys = [k for k in ("split", "case_id") if k in f]
    return bootstrap_ci(f.groupby(keys)[column].mean().to_numpy(), seed=seed)


def _interval(text) -> tuple[float, float]:
    """'[0.1, 0.2]' or '+0.05 [-0.08, +0.18]' -> the bracketed pair."""
    m = re.search(r"\[\s*([-+0-9.naN]+),\s*([-+0-9.naN]+)\s*\]", str(text or ""))
    return (float(m.group(1)), float(m.group(2))) if m else (float("nan"), float("nan"))


def _p1(m: dict, run_dir: Path) -> list[Claim]:
    from mammorepro.papers import p1

    out = []
    for r in p1.REPORTED:
        method = r["method"] if r["method"] in m["methods"] else "DS U-Net"
        lo, hi = _per_case_ci(run_dir, "dice", method=method, rule="otsu", has_lesion=True)
        out.append(
            Claim(
                "p1", r["claim"], r["dataset"], r["reported"], "Dice per image over images with a mass, Otsu threshold (the authors' evaluation)",
                m["methods_otsu"][method]["dice_lesion_images"], m["methods"][method]["dice_per_image"], "Dice / image, all test images, p >= 0.5",
                lo, hi, "reproduced", m["methods_otsu"]["all-background"]["dice_lesion_images"], "all-background, authors' evaluation",
                experiment="the ablation table and 'the CRF, edge-aware' control in the chapter",
            )
        )
    return out


def _p2(m: dict, run_dir: Path) -> list[Claim]:
    from mammorepro.papers import p2

    out = []
    for r in p2.REPORTED:
        candidates = p2.CANDIDATE_DEFINITIONS[r["metric"]]
        ours = {d: m["methods"][r["method"]][d] for d in candidates}
        trivial = {d: m["methods"]["all-background"][d] for d in candidates}
        best, best_trivial = max(ours, key=ours.get), max(trivial, key=trivial.get)
        lo, hi = _per_case_ci(run_dir, "iou", method=r["method"])
        out.append(
            Claim(
                "p2", f"{r['method']}, {r['metric']} (Table 1)", "mini-ddsm", r["reported"], f"most favourable reading of '{r['metric']}': {best}",
                ours[best], m["methods"][r["method"]]["iou_per_image"], "IoU / image", lo, hi, "strict",
                trivial[best_trivial], f"all-background, {best_trivial}", experiment="the claims table's candidate definitions in the chapter",
            )
        )
    return out


def _p3(m: dict, run_dir: Path) -> list[Claim]:
    out = []
    trivial_dice = 1.0 - m["n_test_with_lesion"] / m["n_test"] if m["n_test"] else None  # empty-mask policy "one"
    for r in m["claims"]:
        name = r["claim"]
        lower = "FP per image" in name
        c = Claim("p3", name, "inbreast", r["reported"], "as the paper's table", r["reproduced"], higher_is_better=not lower, experiment="Tables 1-5 of the chapter")
        if "full-image Dice" in name:
            method = name.split(":")[0].replace(", ", " / ")
            c.strict, c.strict_name = r["reproduced"], "Dice / image"
            c.ci_low, c.ci_high = _per_case_ci(run_dir, "dice", method=method)
            c.ci_of, c.trivial, c.trivial_reading = "reproduced", trivial_dice, "all-background, Dice / image"
        out.append(c)
    return out


def _p4(m: dict, run_dir: Path) -> list[Claim]:
    out = []
    for r in m["claims"]:
        lo, hi = _interval(r.get("CI over seeds"))
        out.append(
            Claim(
                "p4", f"{r['model']}, {r['metric']} (Table 10)", "private", r["reported"], f"{r['metric']}, pooled over the test set",
                r["reproduced"], r.get("our lesion IoU (pooled)"), "lesion IoU pooled", lo, hi, "reproduced",
                r["all-background"], f"all-background, {r['metric']}", experiment="the implied lesion IoU and the all-background row in the chapter",
            )
        )
    return out


def _p5(m: dict, run_dir: Path) -> list[Claim]:
    from mammorepro.papers import p5

    out = []
    definitions = [a for a in m.get("audit", []) if a["kind"] == "definition" and a["all-background"] is not None]
    leaks = [a for a in m.get("audit", []) if a["kind"] == "measured run" and a["mechanism"] in p5.LEAKS]
    for r, key in zip(m["claims"], ("iou", "f1")):
        to_key = (lambda t: t) if key == "iou" else (lambda t: 2 * t / (1 + t))  # F1 = 2 IoU / (1 + IoU) for one pooled set
        top = max(definitions, key=lambda a: a["all-background"], default=None)
        c = Claim(
            "p5", r["claim"], "cbis-ddsm", r["reported"], "Keras segmentation_models mean over batches of 8", r["reproduced, paper's definition (Keras batches)"],
            r["reproduced, strict (per image)"], f"{key.upper()} / image", *_interval(r.get("strict 95 % CI")), "strict",
            experiment="the audit table of the chapter",
        )
        if top is not None:
            c.trivial, c.trivial_reading = to_key(top["all-background"]), f"all-background, {top['mechanism']}"
        if leaks:
            best = max(leaks, key=lambda a: m["keras"][a["mechanism"]][key])
            c.leak, c.leak_run = m["keras"][best["mechanism"]][key], best["mechanism"]
            c.leak_ci_low = _interval(best.get("IoU/image difference [95 % CI]"))[0]
        out.append(c)
    return out


READERS = {"p1": _p1, "p2": _p2, "p3": _p3, "p4": _p4, "p5": _p5}


def _provenance(c: Claim, m: dict, run_dir: Path, root: Path) -> Claim:
    env = read_env(run_dir)
    c.dataset, c.profile, c.device = m.get("dataset", ""), m.get("profile", run_dir.name), env.get("device", "")
    c.commit, c.dirty = commit_label(env, dirty=False), bool((env.get("git") or {}).get("dirty"))
    c.split_sha256 = (m.get("split_sha256") or "")[:12]
    c.result_dir = str(run_dir.relative_to(root.parent)) if run_dir.is_relative_to(root.parent) else str(run_dir)
    return c


def collect(results_root: str | Path = "results") -> list[Claim]:
    """Every claim of every paper for every result folder ``results/<paper>/<dataset>/<profile>/``."""
    root = Path(results_root)
    out = []
    for paper in PAPERS:
        for folder in run_folders(root, paper):
            m = json.loads((folder / "metrics.json").read_text())
            out += [_provenance(c, m, folder, root) for c in READERS[paper](m, folder)]
    return out


def claims_frame(claims: list[Claim]) -> pd.DataFrame:
    """One row per claim and result folder, with its verdict and reason."""
    rows = []
    for c in claims:
        v, why = verdict(c)
        rows.append({**asdict(c), "verdict": v, "because": why})
    columns = [f.name for f in fields(Claim)] + ["verdict", "because"]
    return pd.DataFrame(rows, columns=columns)


def display(frame: pd.DataFrame) -> pd.DataFrame:
    """The claims page's table: numbers rounded, CI as text, provenance in one column."""

    def ci(r) -> str:
        return "" if np.isnan(r["ci_low"]) else f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}] ({r['ci_of']})"

    def num(v) -> str:
        return "" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.3f}"

    out = pd.DataFrame(
        {
            "paper": frame["paper"],
            "claim": frame["claim"],
            "reported": frame["reported"].map(num),
            "reproduced (paper's definition)": frame["reproduced"].map(num),
            "reproduced (strict)": frame["strict"].map(num),
            "95 % CI": frame.apply(ci, axis=1),
            "without segmenting": frame["trivial"].map(num),
            "verdict": frame["verdict"],
            "because": frame["because"],
            "experiment": frame["experiment"],
            "run": frame.apply(lambda r: f"{r['result_dir']} ({r['dataset']}, {r['device']}, {r['commit']}{' dirty' if r['dirty'] else ''}, split {r['split_sha256']})", axis=1),
        }
    )
    return out


def verdict_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """How many claims of each paper fall under each verdict, per profile."""
    table = frame.groupby(["profile", "paper", "verdict"]).size().unstack("verdict", fill_value=0)
    return table.reindex(columns=[v for v in VERDICTS if v in table.columns])
