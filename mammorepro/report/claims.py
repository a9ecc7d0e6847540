"""Claims vs reproduced: every paper's headline numbers beside every result folder that
reproduces them, each with a verdict from one stated rule (:func:`verdict`), never typed.

A claim row holds: the reported number and where it is printed; the paper's data; this run's
value under the paper's own definition (or the most favourable reading where the paper states
none) and under the strict lesion definition, with a 95 % CI; the best score reachable
without segmenting (the all-background prediction under the paper's definition or a reading
its words admit); the best score of a run with a leaky split; and the run's provenance
(dataset, profile, device, commit, split file hash, result folder).

Each chapter's module keeps its reported numbers (``REPORTED``) and a ``claims(run_dir)`` that
turns its result folder into :class:`Claim` records; the run writes them to the folder's
claims.json (``python -m mammorepro claims`` recomputes them for existing folders). This module
reads claims.json files only: it imports no chapter.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from mammorepro.errors import ConfigError
from mammorepro.files import write_json
from mammorepro.metrics import Estimate, format_ci, over_images, over_seeds_and_images
from mammorepro.report.results import commit_label, read_env, run_folders

# the page's parameters (notebooks/claims): it trains nothing, it reads result folders
PROFILES = {p: {"results_root": "results"} for p in ("smoke", "default", "real", "full")}

RUN_DATA = "the run's data"  # how a verdict about methods names the data; pages put the dataset's name here
REACH = 0.01  # a score "reaches" a reported number when it is at most this far below it
# the verdicts and their rules, in the order they are tried (first match wins): the claims page
# prints this table, and :func:`verdict` applies it
RULES = (
    ("mechanism shown on the phantom", "the run is on the built-in phantom: it shows the mechanism and never decides a verdict about the paper"),
    ("not testable at this budget", "the method the claim is about learned nothing measurable on this run (its Dice per image is not above the all-background prediction's, or on real data the non-learned brightest-region baseline's, 95 % CI), or predicts (almost) nothing or everything"),
    ("holds on the run's data", "a claim about methods, on real data: the paired difference (seeds x images bootstrap, its CI level Bonferroni-corrected over the chapter's comparisons) has a CI above 0"),
    ("does not hold on the run's data", "a claim about methods, on real data: that CI reaches 0 (no measurable difference) or lies below it (the opposite)"),
    ("cannot be tested here", "the run's data is not the paper's, or the paper's data is private"),
    ("explained by metric definition", "a prediction that segments nothing scores at least the reported number (at most REACH below it) under the paper's definition or a reading its words admit, computed on the same images (higher-is-better numbers only)"),
    ("explained by split leakage", "a run with a leaky split (images instead of patients, augmented copies split apart) reaches the reported number and its per-image gain over the honest split has a CI above 0 (higher-is-better numbers only)"),
    ("reproduced", "the reported number lies inside the 95 % CI of the reproduced value (within REACH of it when the run has no CI)"),
    ("not reproduced", "otherwise"),
)
VERDICTS = tuple(name for name, _ in RULES)


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
    ci_unit: str = ""  # what the CI resamples: "image", "seed x image" (two-level bootstrap) or "seed" (t over seeds)
    n_images: int = 0  # test images the CI rests on
    n_seeds: int = 0  # training seeds averaged
    trivial: float | None = None  # best score without segmenting
    trivial_reading: str = ""
    leak: float | None = None  # best score of a leaky split, under the paper's definition
    leak_ci_low: float | None = None  # CI low of (leaky - honest), per-image
    leak_run: str = ""
    higher_is_better: bool = True
    learned: bool | None = None  # did the claim's method beat the all-background prediction (None: not a segmentation claim)
    learned_note: str = ""  # why not, when it did not
    experiment: str = ""  # the chapter section that shows the mechanism
    kind: str = "number"  # "number": a reported value; "comparison": a claim about methods (better - than, paired)
    family: int = 0  # comparisons: how many the chapter tests together (the CI level is 1 - 0.05 / family)
    seeds_agree: int = 0  # comparisons: seeds whose own mean difference has the sign of the overall one
    better: str = ""  # comparisons: the two methods, as named in per_case.csv
    than: str = ""
    metric: str = ""  # comparisons: the per-image metric compared (per_image_values)
    # provenance
    dataset: str = ""
    profile: str = ""
    device: str = ""
    commit: str = ""
    dirty: bool = False
    split_sha256: str = ""
    result_dir: str = ""


def verdict(c: Claim) -> tuple[str, str]:
    """The verdict and its reason: the first rule of :data:`RULES` that applies."""
    if c.dataset == "phantom":
        return VERDICTS[0], "the phantom shows the mechanism; it decides no verdict about the paper"
    if c.learned is False:
        return VERDICTS[1], c.learned_note or "the method learned nothing measurable on this run"
    if c.kind == "comparison":
        agree = f"{c.seeds_agree} of {c.n_seeds} seeds agree in sign" if c.n_seeds > 1 else "one seed"
        level = f"{100 * (1 - 0.05 / max(c.family, 1)):.1f} % CI"
        if not np.isnan(c.ci_low) and c.ci_low > 0:
            return VERDICTS[2], f"on {c.dataset}: {c.reproduced:+.3f}, {level} {format_ci(c.ci_low, c.ci_high, signed=True)} above 0; {agree}"
        if not np.isnan(c.ci_high) and c.ci_high < 0:
            return VERDICTS[3], f"on {c.dataset}: the opposite, {c.reproduced:+.3f}, {level} {format_ci(c.ci_low, c.ci_high, signed=True)} below 0; {agree}"
        return VERDICTS[3], f"on {c.dataset}: no measurable difference, {c.reproduced:+.3f}, {level} {format_ci(c.ci_low, c.ci_high, signed=True)} spans 0; {agree}"
    if c.paper_data == "private":
        return VERDICTS[4], "the paper's data is private"
    if c.dataset != c.paper_data:
        return VERDICTS[4], f"this run used {c.dataset}; the paper used {c.paper_data}"
    if c.higher_is_better and c.trivial is not None and c.trivial >= c.reported - REACH:
        return VERDICTS[5], f"{c.trivial_reading} scores {c.trivial:.3f} without segmenting (reported {c.reported:.3f})"
    if c.higher_is_better and c.leak is not None and c.leak >= c.reported - REACH and (c.leak_ci_low or 0) > 0:
        return VERDICTS[6], f"{c.leak_run} reaches {c.leak:.3f}; its gain over the honest split has a CI above 0"
    if not np.isnan(c.ci_low) and c.ci_of == "reproduced":
        inside = c.ci_low <= c.reported <= c.ci_high
        return (VERDICTS[7], "the reported value lies inside the CI") if inside else (VERDICTS[8], "the reported value lies outside the CI")
    close = abs(c.reproduced - c.reported) <= REACH
    return (VERDICTS[7], f"within {REACH} of the reported value") if close else (VERDICTS[8], f"more than {REACH} from the reported value (no CI)")


def rules_table() -> pd.DataFrame:
    """:data:`RULES` as the claims page shows them (REACH written out)."""
    return pd.DataFrame([{"verdict": v, "when": w.replace("REACH", str(REACH))} for v, w in RULES], index=pd.RangeIndex(1, len(RULES) + 1, name="rule"))


def with_learned(c: Claim, learned: pd.DataFrame, method: str) -> Claim:
    """``c`` with whether ``method`` learned anything on this run, read from the run's
    :func:`mammorepro.report.learned.learned_table` (the degeneracy gate; computed once per
    result folder by the chapter's ``claims()``)."""
    from mammorepro.metrics import NON_LEARNED
    from mammorepro.report.learned import READINGS

    row = learned[learned["method"] == method]
    if row.empty:
        return c
    r = row.iloc[0]
    c.learned = bool(r["learned"])
    if not c.learned:
        if r["degenerate"]:
            why = f"predicts {r['degenerate']} (Dice / lesion image {r['dice_lesion_images']:.3f})"
        elif r["reading"] != READINGS[0]:
            why = r["reading"].split(":")[0] + f" (Dice / lesion image {r['dice_lesion_images']:.3f} vs {r['all-background']:.3f})"
        else:
            why = f"{r['versus_baseline']} (Dice / lesion image {r['dice_lesion_images']:.3f} vs {r[NON_LEARNED]:.3f})"
        c.learned_note = f"{method}: {why}"
    return c


# ----------------------------------------------------------------------------- claim records


def per_case_estimate(run_dir: Path, column: str, metric: str, seed: int = 0, **where) -> Estimate:
    """The mean of ``column`` over the per_case.csv rows matching ``where`` with its 95 % CI: a
    two-level bootstrap over seeds and images when the run has several seeds
    (:func:`~mammorepro.metrics.over_seeds_and_images`), over images for one; an estimate with no
    CI when the folder has no per-case table or no row matches."""
    path = Path(run_dir) / "per_case.csv"
    f = pd.read_csv(path) if path.is_file() else pd.DataFrame()
    for key, value in where.items():
        if f.empty:
            break
        f = f[f["has_lesion"].astype(str) == "True"] if key == "has_lesion" else f[f[key] == value]
    if f.empty or column not in f:
        return Estimate(float("nan"), None, None, metric, "none", 0, 0, 0)
    keys = [k for k in ("split", "case_id") if k in f]
    if "seed" not in f or f["seed"].nunique() < 2:
        return over_images(f.groupby(keys)[column].mean().to_numpy(), metric, n_seeds=1, seed=seed)
    table = f.pivot_table(index="seed", columns=keys, values=column, aggfunc="mean")
    return over_seeds_and_images(table.to_numpy(), metric, seed=seed)


def with_ci(c: Claim, e: Estimate, of: str) -> Claim:
    """``c`` with the CI of estimate ``e`` (of the "reproduced" or the "strict" value)."""
    c.ci_low = float("nan") if e.ci_low is None else e.ci_low
    c.ci_high = float("nan") if e.ci_high is None else e.ci_high
    c.ci_of, c.ci_unit, c.n_images, c.n_seeds = of, e.unit, e.n_images, e.n_seeds
    return c


# per-image values a comparison can be judged on, from per_case.csv's columns
def per_image_values(f: pd.DataFrame, metric: str) -> pd.Series:
    """``metric`` per image (row) of a per-case table: Dice or IoU as stored, or pixel accuracy
    and the mean of mass and background IoU computed from the image's own pixel counts."""
    if metric in ("dice", "dice_per_image"):
        return f["dice"].astype(float)
    if metric in ("iou", "iou_per_image"):
        return f["iou"].astype(float)
    tp, fp, fn, tn = (f[k].astype(float) for k in ("tp", "fp", "fn", "tn"))
    if metric == "pixel_accuracy":
        return (tp + tn) / (tp + fp + fn + tn)
    if metric == "miou_fg_bg":
        fg = np.where(tp + fp + fn > 0, tp / (tp + fp + fn).where(tp + fp + fn > 0, 1), 1.0)
        bg = np.where(tn + fp + fn > 0, tn / (tn + fp + fn).where(tn + fp + fn > 0, 1), 1.0)
        return pd.Series((fg + bg) / 2, index=f.index)
    raise ConfigError(f"a comparison cannot be judged per image on {metric!r}: use dice, iou, pixel_accuracy or miou_fg_bg")


def main_rule_cases(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """A per_case.csv's rows under the main rule (``p >= threshold``), with a seed column, and
    the columns that name an image (split, case_id)."""
    f = pd.read_csv(path)
    if "rule" in f:
        f = f[f["rule"].astype(str).str.startswith("p >=")]
    if "seed" not in f:
        f = f.assign(seed=0)
    return f, [k for k in ("split", "case_id") if k in f]


def paired_difference_table(f: pd.DataFrame, keys: list[str], better: str, than: str, metric: str) -> pd.DataFrame | None:
    """better - than under ``metric`` per seed (rows) and image (columns) on the seeds and images
    both hold; a seedless method (seed -1: the non-learned baseline) is the same on every seed.
    None when either method is missing or they share no seed or image."""
    sides = []
    for method in (better, than):
        g = f[f["method"] == method]
        if not len(g):
            return None
        sides.append(g.assign(value=per_image_values(g, metric)).pivot_table(index="seed", columns=keys, values="value", aggfunc="mean"))
    a, b = sides
    if list(b.index) == [-1]:
        b = pd.concat([b] * len(a), ignore_index=True).set_axis(a.index)
    if list(a.index) == [-1]:
        a = pd.concat([a] * len(b), ignore_index=True).set_axis(b.index)
    common = [s for s in a.index if s in b.index]
    images = [c for c in a.columns if c in b.columns]
    if not common or not images:
        return None
    return a.loc[common, images] - b.loc[common, images]


def comparison_claims(run_dir: Path, paper: str, comparisons: list[dict], learned: pd.DataFrame, paper_data: str, metric: str = "dice", seed: int = 0) -> list[Claim]:
    """A chapter's claims about methods (``comparisons``: claim, better, than, where, optional
    metric) as records computed from the folder's per_case.csv: the paired difference better -
    than per image, seed by seed (a seedless baseline is the same on every seed), with a
    two-level seeds x images bootstrap CI whose level is Bonferroni-corrected over the family
    (1 - 0.05 / number of comparisons), and how many seeds agree in sign. A comparison whose
    methods the folder lacks is left out; one whose method learned nothing (the degeneracy gate)
    carries ``learned=False``."""
    path = Path(run_dir) / "per_case.csv"
    if not path.is_file() or not comparisons:
        return []
    from mammorepro.metrics import ALL_BACKGROUND
    from mammorepro.metrics.records import DIFFERENCE

    f, keys = main_rule_cases(path)
    out = []
    family = len(comparisons)
    for comp in comparisons:
        name = comp.get("metric", metric)
        table = paired_difference_table(f, keys, comp["better"], comp["than"], name)
        if table is None:
            continue
        diff = table.to_numpy()
        d = over_seeds_and_images(diff, f"{name} difference", seed=seed, bounds=DIFFERENCE, alpha=0.05 / family)
        per_seed = np.nanmean(diff, axis=1)
        c = Claim(
            paper, f"{comp['claim']}: {comp['better']} vs {comp['than']} ({comp['where']})", paper_data, float("nan"), f"{name} per image, {comp['better']} - {comp['than']}, paired",
            d.value, kind="comparison", family=family, seeds_agree=int(np.sum(np.sign(per_seed) == np.sign(d.value))),
            experiment="the chapter's comparison table",
        )
        c.better, c.than, c.metric = comp["better"], comp["than"], name
        c = with_learned(c, learned, comp["better"])
        if comp["than"] != ALL_BACKGROUND and c.learned is not False:
            c = with_learned(c, learned, comp["than"])
        out.append(with_ci(c, d, "reproduced"))
    return out


def lesion_breakdown(claims: list[Claim], results_root: str | Path = "results", seed: int = 0) -> pd.DataFrame:
    """Where each judged claim about methods on real data gets its difference: the same paired
    per-image difference (seeds x images bootstrap, 95 % CI) over the test images with a lesion
    and over those without one (where an empty prediction scores 1, so a method that leaves
    fewer false-positive specks gains there without segmenting any mass better)."""
    from mammorepro.metrics.records import DIFFERENCE

    rows = []
    root = Path(results_root)
    for c in claims:
        if c.kind != "comparison" or c.dataset == "phantom" or not c.better or verdict(c)[0] not in VERDICTS[2:4]:
            continue
        path = root.parent / c.result_dir / "per_case.csv" if c.result_dir else None
        if path is None or not path.is_file():
            continue
        f, keys = main_rule_cases(path)
        diff = paired_difference_table(f, keys, c.better, c.than, c.metric or "dice")
        if diff is None:
            continue
        lesion = f.drop_duplicates(keys).set_index(keys)["has_lesion"].astype(str) == "True"
        row = {"paper": c.paper, "dataset": c.dataset, "claim": c.claim.split(":")[0], "comparison": f"{c.better} - {c.than}", "all test images (the claim's CI)": f"{c.reproduced:+.3f} {format_ci(c.ci_low, c.ci_high, signed=True)}"}
        for label, want in (("images with a lesion", True), ("images without one", False)):
            cols = [k for k in diff.columns if bool(lesion.get(k, False)) == want]
            if not cols:
                row[label] = ""
                continue
            e = over_seeds_and_images(diff[cols].to_numpy(), f"{c.metric} difference", seed=seed, bounds=DIFFERENCE)
            row[label] = f"{e.value:+.3f} {format_ci(e.ci_low, e.ci_high, signed=True)} (n={len(cols)})"
        rows.append(row)
    return pd.DataFrame(rows, columns=["paper", "dataset", "claim", "comparison", "all test images (the claim's CI)", "images with a lesion", "images without one"])


CLAIMS_FILE = "claims.json"


def write_claims(folder: Path, claims: list[Claim]) -> Path:
    """A result folder's claims.json: the chapter's claim records, numbers only (no verdict and no
    provenance: both are derived when the page is built, by :func:`verdict` and from env.json)."""
    path = Path(folder) / CLAIMS_FILE
    write_json(path, [asdict(c) for c in claims])
    return path


def read_claims(folder: Path) -> list[Claim]:
    """The claim records of a result folder (none when it holds no claims.json); a field this
    version does not know is an error naming the file, never silently dropped."""
    path = Path(folder) / CLAIMS_FILE
    if not path.is_file():
        return []
    records = json.loads(path.read_text())
    known = {f.name for f in fields(Claim)}
    out = []
    for i, r in enumerate(records):
        unknown = sorted(set(r) - known)
        if unknown:
            raise ConfigError(f"{path}: record {i} has unknown field(s) {', '.join(unknown)}: regenerate it with `python -m mammorepro claims`")
        out.append(Claim(**{k: (float("nan") if v is None and k in _NAN_FIELDS else v) for k, v in r.items()}))
    return out


_NAN_FIELDS = ("ci_low", "ci_high", "reproduced", "reported")


def with_provenance(c: Claim, m: dict, run_dir: Path, root: Path) -> Claim:
    """``c`` with where it comes from: dataset, profile, device, commit, split hash, folder
    (read from the folder's metrics.json ``m`` and env.json)."""
    env = read_env(run_dir)
    c.dataset, c.profile, c.device = m.get("dataset", c.dataset), m.get("profile", run_dir.name), env.get("device", "")
    c.commit, c.dirty = commit_label(env, dirty=False), bool((env.get("git") or {}).get("dirty"))
    c.split_sha256 = (m.get("split_sha256") or "")[:12]
    c.result_dir = str(run_dir.relative_to(root.parent)) if run_dir.is_relative_to(root.parent) else str(run_dir)
    return c


def collect(results_root: str | Path = "results") -> list[Claim]:
    """Every claim record of every result folder ``results/<chapter>/<dataset>/<profile>/`` that
    holds a claims.json, with its provenance (read from the folder's metrics.json and env.json)."""
    root = Path(results_root)
    out = []
    for folder in run_folders(root, None, CLAIMS_FILE):
        m = json.loads((folder / "metrics.json").read_text()) if (folder / "metrics.json").is_file() else {}
        out += [with_provenance(c, m, folder, root) for c in read_claims(folder)]
    return sorted(out, key=lambda c: (c.paper, c.result_dir))


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
        text = format_ci(r["ci_low"], r["ci_high"])
        return f"{text} ({r['ci_of']}, over {r['ci_unit']}s)" if text else ""

    def num(v) -> str:
        return "" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.3f}"

    out = pd.DataFrame(
        {
            "paper": frame["paper"],
            "claim": frame["claim"],
            "verdict": frame["verdict"],  # beside the claim, so it is on screen at 1280 px
            "reported": frame["reported"].map(num),
            "reproduced (paper's definition)": frame["reproduced"].map(num),
            "reproduced (strict)": frame["strict"].map(num),
            "95 % CI": frame.apply(ci, axis=1),
            "without segmenting": frame["trivial"].map(num),
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


VERDICT_COLOURS = {
    "mechanism shown on the phantom": "#9e9e9e",
    "not testable at this budget": "#bdbdbd",
    "holds on the run's data": "#1b5e20",
    "does not hold on the run's data": "#b71c1c",
    "cannot be tested here": "#7986cb",
    "explained by metric definition": "#ff8f00",
    "explained by split leakage": "#ef6c00",
    "reproduced": "#2e7d32",
    "not reproduced": "#c62828",
}


def forest_plot(frame: pd.DataFrame):
    """Every claim as one row: the reported value (a cross), the reproduced one (a dot, coloured
    by its verdict) with its 95 % CI, and the best score without segmenting (a grey bar); one
    panel per dataset the result folders used. Numbers that are not fractions (FP per image) are
    left out of the plot and stay in the table."""
    import matplotlib.pyplot as plt

    f = frame[frame["higher_is_better"].astype(bool) & (frame["reported"] <= 1.0) & (frame["reproduced"].notna())].copy()
    datasets = sorted(f["dataset"].unique()) or ["(none)"]
    height = max(3.0, 0.22 * max((f["dataset"] == d).sum() for d in datasets) + 1.2) if len(f) else 3.0
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.2 * len(datasets), height), squeeze=False, sharex=True)
    for ax, dataset in zip(axes[0], datasets):
        rows = f[f["dataset"] == dataset].reset_index(drop=True)
        y = np.arange(len(rows))[::-1]
        for yi, r in zip(y, rows.itertuples(index=False)):
            colour = VERDICT_COLOURS.get(r.verdict, "black")
            if r.trivial is not None and not np.isnan(r.trivial):
                ax.plot([0, r.trivial], [yi, yi], color="#e0e0e0", lw=4, solid_capstyle="butt", zorder=1)
            if not np.isnan(r.ci_low):
                ax.plot([r.ci_low, r.ci_high], [yi, yi], color=colour, lw=1.5, zorder=2)
            ax.plot(r.reproduced, yi, "o", color=colour, ms=5, zorder=3)
            ax.plot(r.reported, yi, "x", color="black", ms=6, zorder=4)
        ax.set_yticks(y, [f"{r.paper}: {r.claim}"[:60] for r in rows.itertuples(index=False)], fontsize=6)
        ax.set_xlim(0, 1.02)
        ax.set_title(f"{dataset} ({len(rows)} claims)", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=v) for v, c in VERDICT_COLOURS.items() if v in set(f["verdict"])]
    handles += [plt.Line2D([], [], marker="x", ls="", color="black", label="reported"), plt.Line2D([], [], lw=4, color="#e0e0e0", label="without segmenting")]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=7, frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle("Claims: reported (x) vs reproduced (dot, 95 % CI), coloured by verdict", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.96))
    return fig


def comparison_plot(frame: pd.DataFrame):
    """Every claim about methods as one row: the paired difference (better - than) with its
    seeds x images CI (Bonferroni-corrected level), coloured by verdict, beside the zero line;
    one panel per dataset. Numeric claims are in :func:`forest_plot`."""
    import matplotlib.pyplot as plt

    f = frame[frame["kind"] == "comparison"] if "kind" in frame else frame.iloc[:0]
    datasets = sorted(f["dataset"].unique()) or ["(none)"]
    height = max(3.0, 0.2 * max((f["dataset"] == d).sum() for d in datasets) + 1.2) if len(f) else 3.0
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.4 * len(datasets), height), squeeze=False, sharex=True)
    for ax, dataset in zip(axes[0], datasets):
        rows = f[f["dataset"] == dataset].reset_index(drop=True)
        y = np.arange(len(rows))[::-1]
        ax.axvline(0, color="black", lw=0.8)
        for yi, r in zip(y, rows.itertuples(index=False)):
            colour = VERDICT_COLOURS.get(r.verdict, "black")
            if not np.isnan(r.ci_low):
                ax.plot([r.ci_low, r.ci_high], [yi, yi], color=colour, lw=1.5)
            ax.plot(r.reproduced, yi, "o", color=colour, ms=4)
        ax.set_yticks(y, [f"{r.paper}: {r.claim}"[:70] for r in rows.itertuples(index=False)], fontsize=5.5)
        ax.set_xlim(-1, 1)
        ax.set_xlabel("difference, better - than (per image, paired)")
        ax.set_title(f"{dataset} ({len(rows)} comparisons)", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=v) for v, c in VERDICT_COLOURS.items() if v in set(f["verdict"])]
    if handles:
        fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=7, frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle("Claims about methods: paired difference with its seeds x images CI, coloured by verdict", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.96))
    return fig
