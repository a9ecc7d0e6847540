"""Steps every chapter shares: load the cases, split them (saved file) and preprocess them,
score methods under every metric definition, tabulate them, and write a result folder.

A chapter's config is the flat dict of :func:`mammorepro.config.resolve`; the keys read here
are the common ones (``dataset``, ``data_root``, ``n_cases``, ``seed``, ``image_size``,
``border_crop``, ``clahe``, ``augment``, ``results_root``, ``profile``) plus, for training,
``epochs``, ``batch_size``, ``lr`` and the optional ``optimizer``, ``scheduler``,
``weight_decay``, ``patience``, ``threshold``, ``device``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mammorepro import data as data_mod
from mammorepro.data.cache import PreprocessedCache
from mammorepro.data.roots import resolve_root
from mammorepro.errors import ConfigError
from mammorepro.engine import ArraySegmentationDataset, History, TrainConfig, fit, predict, resolve_device, score_predictions
from mammorepro.models import non_learned
from mammorepro.metrics import ALL_BACKGROUND, DEFINITIONS, NON_LEARNED, SegmentationScores, bootstrap_ci, difference_verdict, format_ci, inside_extents, trivial_prediction
from mammorepro.preprocess import PreprocessConfig, image_extent, preprocess_case, preprocess_steps
from torch import nn
from mammorepro.preprocess.augment import build_augmentation
from mammorepro.report import RunRecorder
from mammorepro.report.claims import write_claims

EMPTY_MASK_POLICY = "one"


def train_config(cfg: dict, **overrides) -> TrainConfig:
    """The engine's settings from a chapter config (``overrides`` win, e.g. ``seed=``)."""
    values = {
        "epochs": cfg["epochs"],
        "batch_size": cfg["batch_size"],
        "lr": cfg["lr"],
        "optimizer": cfg.get("optimizer", "adam"),
        "scheduler": cfg.get("scheduler", "none"),
        "weight_decay": cfg.get("weight_decay", 0.0),
        "patience": cfg.get("patience", 0),
        "threshold": cfg.get("threshold", 0.5),
        "device": cfg.get("device", "auto"),
        "seed": cfg["seed"],
        "channels_last": cfg.get("channels_last", False),
    }
    values.update(overrides)
    return TrainConfig(**values)


def preprocess_config(cfg: dict) -> PreprocessConfig:
    """The chain from a chapter config; ``median`` and ``jpeg_quality`` only where a paper uses them (p5)."""
    return PreprocessConfig(
        image_size=cfg["image_size"],
        border_crop=cfg["border_crop"],
        clahe=cfg["clahe"],
        median=cfg.get("median", 0),
        jpeg_quality=cfg.get("jpeg_quality", 0),
    )


def load(cfg: dict):
    """The cases of the configured dataset (the phantom by default)."""
    return data_mod.load_cases(cfg["dataset"], cfg["data_root"] or None, n=cfg["n_cases"], seed=cfg["seed"])


@dataclass
class Prepared:
    """Preprocessed arrays per split part, and the split's provenance."""

    parts: dict[str, ArraySegmentationDataset]
    split_path: Path
    split_sha256: str
    meta: pd.DataFrame  # one row per case: part, number of masses, mass fraction after preprocessing
    split_name: str = "default"
    scheme: str = ""  # the split scheme's description (mammorepro.data.SCHEMES)
    group_by: str = "patient"  # "image" only in leakage audits (p5)
    kinds: tuple[str, ...] = ("mass",)  # the lesion kinds in the masks
    split_index: int = 0  # the split's position in its file (fold k of a k-fold scheme: k - 1)
    folds: list = field(default_factory=list)  # pooled test parts (:func:`pool_folds`): the folds, each a Prepared
    fold_sizes: list = field(default_factory=list)  # pooled: how many test images each fold adds, in order


def prepare(
    cfg: dict, cases, scheme: str | None = None, kinds: tuple[str, ...] = ("mass",), group_by: str = "patient", split: str | None = None
) -> Prepared:
    """Split by patient with the dataset's scheme, or with ``scheme`` when the paper's protocol
    names one (saved file, reused on reruns; the named ``split``, else the first), and preprocess
    every case of it, with masks of the lesion ``kinds`` (masses unless a paper segments
    calcifications too). ``group_by="image"`` splits images, not patients (a leakage audit).
    Real images are converted once into the preprocessed cache, then read from it."""
    folder = Path(cfg["results_root"]) / "splits"
    splits, path, sha = data_mod.get_or_create_splits(
        folder,
        cfg["dataset"],
        [c.case_id for c in cases],
        [c.patient_id for c in cases],
        [c.official_split for c in cases],
        cfg["seed"],
        scheme=scheme,
        group_by=group_by,
    )
    if split is not None and split not in splits:
        raise ConfigError(f"split {split!r} is not in {path.name}: it holds {', '.join(splits)}")
    split_name = split or next(iter(splits))
    parts = splits[split_name]
    kinds = tuple(kinds)
    pcfg = preprocess_config(cfg)
    by_id = {c.case_id: c for c in cases}
    aug = build_augmentation(seed=cfg["seed"]) if cfg["augment"] else None
    out, rows = {}, []
    empty = np.zeros((0, pcfg.image_size, pcfg.image_size), np.float32)
    cache = None
    if cfg["dataset"] != "phantom":
        cache = PreprocessedCache.for_dataset(cfg["dataset"], resolve_root(cfg["dataset"], cfg["data_root"] or None), pcfg, kinds)
        cache.build(cases, pcfg, kinds, progress=False)
    for name, members in parts.items():
        if cache is not None and members:
            images, masks = cache.select(members)
            extents = cache.extents(members)
        else:
            arrays = [_preprocessed(by_id[i], kinds, pcfg) for i in members]
            images = np.stack([a[0] for a in arrays]) if arrays else empty
            masks = np.stack([a[1] for a in arrays]) if arrays else empty.astype(np.uint8)
            extents = np.array([a[2] for a in arrays], dtype=np.int64).reshape(len(arrays), 4)
        out[name] = ArraySegmentationDataset(images, masks, members, augment=aug if name == "train" else None, extents=extents)
        rows += [
            {"case_id": i, "part": name, "n_masses": sum(les.kind == "mass" for les in by_id[i].lesions), "mass_fraction": float(m.mean())}
            for i, m in zip(members, masks)
        ]
    return Prepared(out, path, sha, pd.DataFrame(rows), split_name, data_mod.SCHEMES[scheme or cfg["dataset"]], group_by, kinds, list(splits).index(split_name))


def _preprocessed(case, kinds, pcfg) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """One case preprocessed: image, mask of ``kinds`` and the image's extent."""
    image = case.image
    x, m = preprocess_case(image, case.mask_for(kinds), pcfg)
    return x, m, image_extent(image.shape, pcfg)


def n_splits(dataset: str) -> int:
    """How many named splits the dataset's scheme saves (:data:`mammorepro.data.SCHEMES`): five
    folds (or five hold-outs) on mini-MIAS, INbreast and CDD-CESM, one elsewhere."""
    return 5 if dataset in ("mias", "inbreast", "cdd-cesm") else 1


def check_folds(cfg: dict) -> None:
    """``folds`` (how many of the dataset's named splits a run trains and tests on; 0: all of
    them) fits the scheme."""
    most = n_splits(cfg["dataset"])
    if not 0 <= cfg["folds"] <= most:
        raise ConfigError(f"folds={cfg['folds']} must be between 1 and {most}, or 0 for all ({cfg['dataset']}: {data_mod.SCHEMES[cfg['dataset']]})")


def prepare_folds(cfg: dict, cases, **kwargs) -> list[Prepared]:
    """The first ``cfg["folds"]`` named splits of the dataset's scheme (every one for 0), each
    prepared as :func:`prepare` does (``kwargs`` go to it)."""
    first = prepare(cfg, cases, **kwargs)
    names = list(data_mod.load_splits(first.split_path)[0])
    return [first] + [prepare(cfg, cases, split=name, **kwargs) for name in names[1 : cfg.get("folds", 1) or None]]


def folds_overview(folds: list[Prepared]) -> pd.DataFrame:
    """One row per fold: its split file, the file's hash, the split's name and each part's size."""
    return pd.DataFrame([{"split file": f.split_path.name, "sha256": f.split_sha256[:16], "split": f.split_name, **{k: len(v) for k, v in f.parts.items()}} for f in folds])


def pool_folds(folds: list[Prepared], runs: list[Runs]) -> tuple[Prepared, Runs]:
    """Cross-validation's test parts as one: every fold's test images in fold order (each image
    is tested once, by the models that never saw it), and per variant and seed one :class:`Run`
    whose probabilities are the folds' in the same order. Scoring, per-case tables and claims
    then run unchanged on all test images. The pooled :class:`Prepared` has no training part
    (each fold has its own: ``folds``); a pooled run's ``model`` and ``history`` are the first
    fold's, so a figure that runs a model must stay on the first ``fold_sizes[0]`` images.
    One fold comes back as it is."""
    if len(folds) != len(runs) or not folds:
        raise ValueError(f"{len(folds)} folds but {len(runs)} sets of runs")
    if len(folds) == 1:
        return folds[0], runs[0]
    tests = [f.parts["test"] for f in folds]
    extents = None if any(t.extents is None for t in tests) else np.concatenate([t.extents for t in tests])
    test = ArraySegmentationDataset(np.concatenate([t.images for t in tests]), np.concatenate([t.masks for t in tests]), [i for t in tests for i in t.case_ids], extents=extents)
    first = folds[0]
    pooled = replace(
        first,
        parts={"test": test},
        meta=pd.concat([f.meta.assign(split=f.split_name) for f in folds], ignore_index=True),
        split_name="+".join(f.split_name for f in folds),
        folds=list(folds),
        fold_sizes=[len(t) for t in tests],
    )
    out = Runs(by_fold=list(runs), fold_names=[f.split_name for f in folds])
    for r in runs[0].runs:
        same = [fr.get(r.variant, r.seed) for fr in runs]
        out.runs.append(Run(r.variant, r.seed, r.model, r.history, np.concatenate([x.probabilities for x in same]), float(sum(x.train_seconds for x in same))))
    return pooled, out


def seeds(cfg: dict) -> list[int]:
    """The run's seeds: ``seed``, ``seed + 1``, ... (``n_seeds`` of them; 1 when not set)."""
    return list(range(cfg["seed"], cfg["seed"] + cfg.get("n_seeds", 1)))


def checkpoint_dir(paper: str, cfg: dict, name: str = "") -> Path:
    """Where a run's checkpoints go (git-ignored, outside every result folder, so a folder that
    is replaced whole keeps them): results/.checkpoints/<paper>/<dataset>/<profile>[/<name>]."""
    folder = Path(cfg["results_root"]) / ".checkpoints" / paper / cfg["dataset"] / cfg["profile"]
    return folder / name if name else folder


def score_masks(pred: np.ndarray, prepared: Prepared) -> SegmentationScores:
    """Score binary masks (N, H, W) of the test part under every definition."""
    test = prepared.parts["test"]
    scores = SegmentationScores(empty=EMPTY_MASK_POLICY)
    scores.update(np.asarray(pred, dtype=bool), test.masks > 0, test.case_ids, extents=test.extents)
    return scores


def all_background(prepared: Prepared, threshold: float = 0.5) -> SegmentationScores:
    """The trivial baseline that belongs in every table: predict no mass anywhere."""
    test = prepared.parts["test"]
    return score_predictions(trivial_prediction(test.masks.shape, ALL_BACKGROUND), test.masks, test.case_ids, threshold, EMPTY_MASK_POLICY, extents=test.extents)


def _as_list(s) -> list[SegmentationScores]:
    return list(s) if isinstance(s, (list, tuple)) else [s]


def mean_summary(scores) -> dict[str, float]:
    """Every definition for one method; with several runs (seeds), the mean over runs."""
    runs = [s.summary() for s in _as_list(scores)]
    return {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}


def per_image_mean(scores, column: str = "dice", case_ids: list[str] | None = None) -> np.ndarray:
    """A per-image column (``dice`` or ``iou``) averaged over runs (seeds), in test order.
    Every run must have scored the same images in the same order (and the order of ``case_ids``
    when given): paired comparisons rely on it, so a mismatch is an error, never a silent shift."""
    frames = [s.per_case() for s in _as_list(scores)]
    expected = list(case_ids) if case_ids is not None else list(frames[0]["case_id"])
    for f in frames:
        if list(f["case_id"]) != expected:
            raise ValueError("runs scored different images or orders: per-image values cannot be paired")
    return np.mean([f[column].to_numpy(dtype=float) for f in frames], axis=0)


def comparison_table(scores: dict, seed: int = 0) -> pd.DataFrame:
    """One row per metric definition, one column per method. A method maps to its
    :class:`SegmentationScores`, or to a list of them (one per seed): then values are means over
    seeds, "± sd" shows the spread between seeds, and per-image CIs use each image's mean.
    Per-image definitions carry a 95 % bootstrap CI over test images."""
    per_image = {"dice_per_image": "dice", "iou_per_image": "iou"}
    columns = {}
    for method, s in scores.items():
        runs = _as_list(s)
        summary = mean_summary(runs)
        spread = {k: float(np.std([r.summary()[k] for r in runs])) for k in summary} if len(runs) > 1 else {}
        cells = {}
        for metric, value in summary.items():
            if np.isnan(value):
                cells[metric] = "n/a"
                continue
            cells[metric] = f"{value:.3f}"
            if metric in per_image:
                lo, hi = bootstrap_ci(per_image_mean(runs, per_image[metric]), seed=seed)
                cells[metric] += f" {format_ci(lo, hi)}"
            if metric in spread:
                cells[metric] += f" ± {spread[metric]:.3f}"
        columns[method] = cells
    rows = [{"metric": m, "definition": d, **{method: cells[m] for method, cells in columns.items()}} for m, d in DEFINITIONS.items()]
    return pd.DataFrame(rows).set_index("metric")


def per_case_frame(scores: dict[str, SegmentationScores]) -> pd.DataFrame:
    """Every method's per-case table stacked, with a ``method`` column."""
    frames = []
    for method, s in scores.items():
        f = s.per_case()
        f.insert(1, "method", method)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def provenance(paper: str, cfg: dict, prepared: Prepared) -> dict:
    """What every metrics.json starts with: which data, which split (file and hash), which rules."""
    test = prepared.parts["test"]
    return {
        "paper": paper,
        "profile": cfg["profile"],
        "dataset": cfg["dataset"],
        "split_file": prepared.split_path.name,
        "split_name": prepared.split_name,
        "split_sha256": prepared.split_sha256,
        "split_group_by": prepared.group_by,
        "lesion_kinds": list(prepared.kinds),
        "n_test": len(test),
        "n_test_with_lesion": int(sum(m.any() for m in test.masks)),
        "empty_mask_policy": EMPTY_MASK_POLICY,
        "threshold": cfg.get("threshold", 0.5),
        **scored_pixels(test),
    }


def scored_pixels(test: ArraySegmentationDataset) -> dict:
    """Which pixels the metrics count, for metrics.json: each image's own (its extent on the
    padded canvas) or every pixel of arrays that were never padded, and the share of the test
    canvases that is padding (0 for square images)."""
    if test.extents is None:
        return {"scored_pixels": "every pixel (no padding)", "padding_share": 0.0}
    inside = inside_extents(test.extents, np.asarray(test.masks).shape)
    return {"scored_pixels": "inside each image's extent", "padding_share": float(1 - inside.mean())}


def record_run(
    paper: str,
    cfg: dict,
    prepared: Prepared,
    metrics: dict,
    per_case: pd.DataFrame,
    config_extra: dict | None = None,
    figures: dict | None = None,
    claims: Callable[[Path], list] | None = None,
    baseline: bool = True,
) -> Path:
    """Write results/<paper>/<dataset>/<profile>/ as a whole: config.json (parameters,
    preprocessing, data generator, split scheme and ``config_extra``), metrics.json
    (:func:`provenance` + ``metrics``), per_case.csv, env.json (the device actually used), the
    figures and, for a chapter with claims, claims.json (``claims(folder)`` computed from the
    files just written, before the folder is renamed into place). ``baseline``: score the
    non-learned segmenter on the same test images (:func:`with_non_learned`); off where the
    per-case rows are not the test part's images."""
    if baseline:
        metrics, per_case = with_non_learned(metrics, per_case, *(prepared.folds or [prepared]))
    figures = dict(figures or {})
    if metrics.get("runs") and "learning_curves" not in figures:
        figures["learning_curves"] = learning_curves(metrics["runs"], f"{paper} on {cfg['dataset']} ({cfg['profile']})")
    with RunRecorder.for_config(paper, cfg) as rec:
        _write_run(rec, paper, cfg, prepared, metrics, per_case, config_extra, figures)
        if claims is not None:
            write_claims(rec.staging, claims(rec.staging))
    return rec.dir


def with_non_learned(metrics: dict, per_case: pd.DataFrame, *prepared: Prepared) -> tuple[dict, pd.DataFrame]:
    """``metrics`` and ``per_case`` with the non-learned segmenter's rows
    (:mod:`mammorepro.models.non_learned`: the brightest region, its one quantile fitted on the
    training images), scored on the same test images by the same code, under the run's main
    rule: the baseline a method must beat to have "learned". With several folds (one
    :class:`Prepared` each) the quantile is fitted fold by fold and every fold's test images are
    scored together, as the methods are (``per_fold`` keeps each fold's quantile). Unchanged when
    the per-case table does not hold the test parts' images."""
    folds = [p for p in prepared if p.parts.get("test") is not None and p.parts.get("train") is not None and len(p.parts["test"])]
    if not folds or len(folds) < len(prepared) or "method" not in per_case or "case_id" not in per_case:
        return metrics, per_case
    ids = set(per_case["case_id"])
    if any(not set(p.parts["test"].case_ids) <= ids or np.asarray(p.parts["test"].images).ndim != 3 for p in folds):
        return metrics, per_case
    scores = SegmentationScores(empty=EMPTY_MASK_POLICY)
    per_fold, split_of = [], {}
    for p in folds:
        test, train = p.parts["test"], p.parts["train"]
        quantile = non_learned.fit_quantile(train.images, train.masks)
        scores.update(np.asarray(non_learned.segment(test.images, quantile), dtype=bool), test.masks > 0, test.case_ids, extents=test.extents)
        per_fold.append({"split": p.split_name, "quantile": quantile})
        split_of.update(dict.fromkeys(test.case_ids, p.split_name))
    f = scores.per_case()
    f.insert(1, "method", NON_LEARNED)
    if "seed" in per_case:
        f.insert(2, "seed", -1)
    if "rule" in per_case:
        main = [r for r in per_case["rule"].astype(str).unique() if r.startswith("p >=")]
        f.insert(3, "rule", main[0] if main else per_case["rule"].iloc[0])
    if "split" in per_case:
        f.insert(0, "split", f["case_id"].map(split_of))
    fitted = {"quantile": per_fold[0]["quantile"]} if len(per_fold) == 1 else {"per_fold": per_fold}
    metrics = {**metrics, "non_learned": {"method": NON_LEARNED, **fitted, "fitted_on": "training images with a lesion (mean Dice)", **scores.summary()}}
    if isinstance(metrics.get("methods"), dict):
        metrics["methods"] = {**metrics["methods"], NON_LEARNED: scores.summary()}
    return metrics, pd.concat([per_case, f[[c for c in per_case.columns if c in f]]], ignore_index=True)


def learning_curves(runs: list[dict], title: str = ""):
    """Training and validation curves of every run of a chapter, seeds overlaid: one row per
    variant, training and validation loss on the left, validation Dice over the images with a
    lesion (what picks the best epoch; Dice over every image where an older run logged only that)
    on the right, the best epoch of each seed marked."""
    import matplotlib.pyplot as plt

    variants = list(dict.fromkeys(r["variant"] for r in runs))
    fig, axes = plt.subplots(len(variants), 2, figsize=(9, 2.4 * len(variants) + 0.6), squeeze=False)
    for row, variant in zip(axes, variants):
        for k, r in enumerate(x for x in runs if x["variant"] == variant):
            frame = pd.DataFrame(r["history"])
            if frame.empty:
                continue
            colour = f"C{k}"
            row[0].plot(frame["epoch"], frame["train_loss"], color=colour, lw=1, label=f"seed {r['seed']} train")
            if "val_loss" in frame:
                row[0].plot(frame["epoch"], frame["val_loss"], color=colour, lw=1, ls="--", label=f"seed {r['seed']} validation")
            dice = "val_dice_lesion" if "val_dice_lesion" in frame else "val_dice"
            if dice in frame:
                row[1].plot(frame["epoch"], frame[dice], color=colour, lw=1.2, label=f"seed {r['seed']}")
            row[1].axvline(r["best_epoch"], color=colour, lw=0.6, ls=":")
        row[0].set(xlabel="epoch", ylabel="loss", title=f"{variant}: loss")
        row[1].set(xlabel="epoch", ylabel="Dice", ylim=(0, 1), title=f"{variant}: validation Dice (lesion images)")
        for ax in row:
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=6, ncol=2)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def _write_run(rec, paper, cfg, prepared, metrics, per_case, config_extra, figures) -> None:
    rec.write_config(
        {
            "parameters": cfg,
            "preprocess": preprocess_config(cfg).to_dict(),
            "phantom": data_mod.PhantomConfig().to_dict() if cfg["dataset"] == "phantom" else None,
            "split_scheme": prepared.scheme or data_mod.SCHEMES[cfg["dataset"]],
            **(config_extra or {}),
        }
    )
    rec.write_metrics({**provenance(paper, cfg, prepared), **metrics})
    rec.write_per_case(per_case)
    rec.write_env(str(resolve_device(cfg.get("device", "auto"))))
    for name, fig in (figures or {}).items():
        rec.save_figure(fig, name)


# ----------------------------------------------------------------------------- variants x seeds


@dataclass
class Run:
    """One trained variant for one seed, with its test probabilities."""

    variant: str
    seed: int
    model: nn.Module
    history: History
    probabilities: np.ndarray
    train_seconds: float


@dataclass
class Runs:
    runs: list[Run] = field(default_factory=list)
    by_fold: list = field(default_factory=list)  # pooled (:func:`pool_folds`): each fold's own Runs
    fold_names: list = field(default_factory=list)  # and its split's name

    def get(self, variant: str, seed: int | None = None) -> Run:
        found = [r for r in self.runs if r.variant == variant and (seed is None or r.seed == seed)]
        if not found:
            raise KeyError(f"no run of {variant!r} (seed {seed})")
        return found[0]

    def of(self, variant: str) -> list[Run]:
        return [r for r in self.runs if r.variant == variant]

    def overview(self) -> dict[str, str]:
        """One line per run for a notebook: epochs run, best epoch, training time."""
        return {f"{r.variant} (seed {r.seed})": f"{len(r.history.rows)} epochs, best {r.history.best_epoch + 1}, {r.train_seconds:.0f} s" for r in self.runs}

    def summary(self) -> list[dict]:
        """Per run: variant, seed, time, epochs, best epoch, the whole history (for metrics.json);
        pooled folds give every fold's runs, each with its ``split``."""
        if self.by_fold:
            return [{"split": name, **row} for name, fold in zip(self.fold_names, self.by_fold) for row in fold.summary()]
        return [
            {
                "variant": r.variant,
                "seed": r.seed,
                "train_seconds": r.train_seconds,
                "epochs_run": len(r.history.rows),
                "best_epoch": r.history.best_epoch + 1,
                "stopped_early": r.history.stopped_early,
                "history": r.history.rows,
            }
            for r in self.runs
        ]


def train_run(
    paper: str,
    cfg: dict,
    prepared: Prepared,
    variant: str,
    name: str,
    model: nn.Module,
    loss: nn.Module,
    tcfg: TrainConfig,
    train_ds=None,
    progress: bool = False,
) -> Run:
    """Train one model on the training part (or ``train_ds``, e.g. crops) with early stopping
    on the validation part, keep its best-epoch weights and predict the test part.
    Checkpoints go to results/.checkpoints/<paper>/<dataset>/<profile>/<name>-seed<k>."""
    t0 = time.perf_counter()
    history = fit(
        model,
        prepared.parts["train"] if train_ds is None else train_ds,
        prepared.parts["val"],
        loss,
        tcfg,
        # the first split keeps the plain name; another fold's run must never resume from it
        checkpoint_dir=checkpoint_dir(paper, cfg, f"{name}-seed{tcfg.seed}" + (f"-{prepared.split_name}" if prepared.split_index else "")),
        resume=bool(cfg.get("resume", False)),
        progress=progress,
    )
    seconds = time.perf_counter() - t0
    return Run(variant, tcfg.seed, model, history, predict(model, prepared.parts["test"], tcfg), seconds)


def train_all(
    paper: str,
    cfg: dict,
    prepared: Prepared,
    builders: dict[str, tuple[str, Callable[[int], nn.Module]]],
    loss: nn.Module,
    seeds: list[int],
    progress: bool = False,
    **train_overrides,
) -> Runs:
    """Train every variant (name -> (checkpoint name, ``seed -> model``)) once per seed on the
    same split with the same loss and engine settings (:func:`train_run`)."""
    out = Runs()
    for seed in seeds:
        tcfg = train_config(cfg, seed=seed, **train_overrides)
        for variant, (name, build) in builders.items():
            out.runs.append(train_run(paper, cfg, prepared, variant, name, build(seed), loss, tcfg, progress=progress))
    return out


def paired_comparisons(scores: dict, claims: list[dict], column: str = "dice", seed: int = 0) -> pd.DataFrame:
    """Each claim ``{"claim", "better", "than", "where"}`` as a paired comparison on the same
    test images: the mean per-image difference of ``column`` (each image's value averaged over
    seeds) with a 95 % bootstrap CI, and a verdict that says only what the CI supports.
    Claims whose methods were not run (e.g. CRF off) are left out."""
    rows = []
    for c in claims:
        if c["better"] not in scores or c["than"] not in scores:
            continue
        ids = list(_as_list(scores[c["than"]])[0].per_case()["case_id"])
        diff = per_image_mean(scores[c["better"]], column, ids) - per_image_mean(scores[c["than"]], column, ids)
        lo, hi = bootstrap_ci(diff, seed=seed)
        rows.append(
            {
                "claim": c["claim"],
                "where": c["where"],
                "comparison": f"{c['better']} - {c['than']}",
                f"{column}_difference": float(np.mean(diff)),
                "ci_low": lo,
                "ci_high": hi,
                "verdict on this data": difference_verdict(lo, hi),
            }
        )
    return pd.DataFrame(rows)


def per_seed_case_frames(tables: dict[str, dict], seeds: list[int], seedless: tuple[str, ...] = ("all-background",)) -> pd.DataFrame:
    """Per-case rows of every method and seed under every scoring rule (rule name -> method ->
    list of scores per seed), with ``method``, ``seed`` (-1 for the ``seedless`` baselines) and
    ``rule``."""
    frames = []
    for rule, table in tables.items():
        for method, per_seed in table.items():
            for k, s in enumerate(_as_list(per_seed)):
                f = s.per_case()
                f.insert(1, "method", method)
                f.insert(2, "seed", -1 if method in seedless else seeds[k])
                f.insert(3, "rule", rule)
                frames.append(f)
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------- figures


def history_summary(history: History) -> dict:
    return {"epochs_run": len(history.rows), "best_epoch": history.best_epoch + 1, "stopped_early": history.stopped_early, "history": history.rows}


def draw_history(loss_ax, dice_ax, history: History, title: str = "") -> None:
    """Loss (train, validation) on one axis; validation Dice per image on the other, with one
    dashed (encoder) or dotted (decoder) line per side output when the model has them."""
    frame = history.to_frame()
    if len(frame):
        loss_ax.plot(frame["epoch"], frame["train_loss"], label="train")
        if "val_loss" in frame:
            loss_ax.plot(frame["epoch"], frame["val_loss"], label="validation")
        if "val_dice" in frame:
            dice_ax.plot(frame["epoch"], frame["val_dice"], color="k", lw=2, label="output")
        for k, col in enumerate(sorted(c for c in frame.columns if c.startswith("val_dice_side")), 1):
            dice_ax.plot(frame["epoch"], frame[col], lw=0.9, ls="--" if k <= 3 else ":", label=f"side {k} ({'enc' if k <= 3 else 'dec'})")
    loss_ax.set(xlabel="epoch", ylabel="loss", title=f"{title} loss".strip())
    loss_ax.legend(fontsize=7)
    dice_ax.set(xlabel="epoch", ylabel="Dice", title=f"{title} validation Dice".strip(), ylim=(0, 1))
    if dice_ax.get_legend_handles_labels()[0]:
        dice_ax.legend(fontsize=6, ncol=2)


def plot_history(history: History, title: str = ""):
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    draw_history(a, b, history, title)
    fig.tight_layout()
    return fig


def pick_cases(per_case: pd.DataFrame, n: int, column: str = "dice") -> list[int]:
    """Indices of ``n`` test images with a lesion spread from worst to best ``column``."""
    lesion_idx = [i for i in np.argsort(per_case[column].to_numpy(), kind="stable") if per_case["has_lesion"].iloc[i]]
    if not lesion_idx:
        return []
    return [lesion_idx[int(round(k))] for k in np.linspace(0, len(lesion_idx) - 1, min(n, len(lesion_idx)))]


def plot_clahe_pairs(cases, cfg: dict, n: int = 4):
    """Inputs as the network sees them, without (top) and with (bottom) CLAHE; masses in green."""
    import matplotlib.pyplot as plt

    picked = [c for c in cases if c.lesions][:n] or list(cases[:n])
    with_clahe = preprocess_config(cfg)
    without = replace(with_clahe, clahe=False)
    fig, axes = plt.subplots(2, len(picked), figsize=(2.4 * len(picked), 5.0), squeeze=False)
    for j, case in enumerate(picked):
        for i, (label, pcfg) in enumerate((("normalised", without), ("CLAHE + normalised", with_clahe))):
            image, mask = preprocess_case(case.image, case.mask, pcfg)
            axes[i][j].imshow(image, cmap="gray", vmin=0, vmax=1)
            if mask.any():
                axes[i][j].contour(mask, [0.5], colors="lime", linewidths=0.6)
            axes[i][j].set_title(f"{case.case_id}\n{label}", fontsize=7)
            axes[i][j].axis("off")
    fig.tight_layout()
    return fig


def plot_run_histories(runs: Runs, variants: list[str], seed: int | None = None):
    """Loss and validation Dice per epoch, one column per variant (first seed unless given)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(variants), figsize=(4.2 * len(variants), 6.0), squeeze=False)
    for j, variant in enumerate(variants):
        run = runs.get(variant, seed)
        draw_history(axes[0][j], axes[1][j], run.history, f"{variant}, seed {run.seed}:")
    fig.tight_layout()
    return fig


def plot_preprocessing(case, cfg: dict):
    """Each step of the preprocessing chain on one case."""
    import matplotlib.pyplot as plt

    steps = preprocess_steps(case.image, preprocess_config(cfg))
    fig, axes = plt.subplots(1, len(steps), figsize=(2.4 * len(steps), 3.6), squeeze=False)
    for ax, (name, img) in zip(axes[0], steps):
        ax.imshow(img, cmap="gray")
        ax.set_title(f"{name}\n{img.shape[0]}x{img.shape[1]} {img.dtype}", fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    return fig


def ranked_cases(run: Run, prepared: Prepared, threshold: float = 0.5) -> list[tuple[str, int, float]]:
    """The best, median and worst test image with a lesion by this run's Dice: (rank, index into
    the test part, Dice). Images without a lesion are left out: any empty answer scores 1 there."""
    test = prepared.parts["test"]
    scores = score_predictions(run.probabilities, test.masks, test.case_ids, threshold, EMPTY_MASK_POLICY, extents=test.extents).per_case()
    lesion = np.flatnonzero(scores["has_lesion"].to_numpy())
    if len(lesion) == 0:
        return []
    dice = scores["dice"].to_numpy()[lesion]
    order = lesion[np.argsort(-dice, kind="stable")]
    picks = {"best": order[0], "median": order[len(order) // 2], "worst": order[-1]}
    return [(rank, int(i), float(scores["dice"].iloc[i])) for rank, i in picks.items()]


def plot_ranked_cases(run: Run, prepared: Prepared, threshold: float = 0.5, title: str = ""):
    """Image, ground truth (green) and prediction (red) of the best, median and worst test image
    with a lesion (:func:`ranked_cases`), so a reader sees what a Dice value looks like."""
    import matplotlib.pyplot as plt

    test = prepared.parts["test"]
    picks = ranked_cases(run, prepared, threshold)
    fig, axes = plt.subplots(1, max(1, len(picks)), figsize=(3.2 * max(1, len(picks)), 3.6), squeeze=False)
    for ax, (rank, i, dice) in zip(axes[0], picks):
        ax.imshow(test.images[i], cmap="gray")
        if test.masks[i].any():
            ax.contour(test.masks[i], [0.5], colors="lime", linewidths=0.9)
        pred = run.probabilities[i] >= threshold
        if pred.any():
            ax.contour(pred.astype(np.uint8), [0.5], colors="red", linewidths=0.9)
        ax.set_title(f"{rank}: {test.case_ids[i]}\nDice {dice:.3f}", fontsize=8)
    for ax in axes[0]:
        ax.axis("off")
    if not picks:
        axes[0][0].text(0.5, 0.5, "no test image with a lesion", ha="center", va="center")
    fig.suptitle(title or f"{run.variant} (seed {run.seed}): best, median and worst test image with a lesion; truth green, prediction red", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig
