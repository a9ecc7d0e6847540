"""Notebook parameters and profiles.

Every notebook takes the same flat scalar parameters for the same things (``profile``,
``dataset``, ``data_root``, ``seed``, ``image_size``, ``epochs``, ``batch_size``, ``lr``,
``device``, ``results_root``) plus its own. A parameter left at ``None`` takes the value of the
chosen profile:

* ``smoke``: tiny and fast, for CI (seconds);
* ``default``: what ``make book`` runs on a CPU (minutes per notebook);
* ``real``: a real dataset on a 2-core CPU: the default's architecture with 3 seeds, every image of
  the dataset, a budget that learns on real mammograms, early stopping on the validation images
  that hold a lesion, and resumption after a kill from the per-epoch checkpoints
  (results/.checkpoints/, never committed; delete a run's folder there to train it afresh);
* ``full``: the settings a GPU run would use.

Profiles live here in the library, never as ``if CI`` branches inside notebooks. Unknown
names and out-of-range values raise :class:`~mammorepro.errors.ConfigError` with one line.
"""

from __future__ import annotations

from collections.abc import Mapping

from mammorepro.data.roots import DATASETS
from mammorepro.errors import ConfigError

PROFILES = ("smoke", "default", "real", "full")
COMMON_PARAMETERS = (
    "profile",
    "dataset",
    "data_root",
    "seed",
    "image_size",
    "epochs",
    "batch_size",
    "lr",
    "device",
    "results_root",
    "overwrite",
)

# the values every paper chapter starts from (its profiles add and override)
CHAPTER_BASE = {"dataset": "phantom", "data_root": "", "seed": 0, "n_seeds": 1, "device": "auto", "results_root": "results", "resume": False, "channels_last": False}
# what the ``real`` profile changes in a chapter's default (each chapter adds its own budget).
# channels_last by measurement (benchmarks/cpu_settings.py, benchmarks/results/cpu_settings.json: x1.24 for
# p1's DS U-Net, x1.03 for p2's MultiRes U-Net on 2 AVX2 cores, fp32 kept). bf16 autocast was
# faster still (x1.34, x1.38) but changes the arithmetic of training, and torch.compile helped one
# model and slowed the other (x1.50, x0.75): neither is a default.
REAL = {"n_seeds": 3, "resume": True, "channels_last": True}


def resolve(profiles: Mapping[str, Mapping], profile: str = "default", **params) -> dict:
    """Merge ``params`` over the profile's values and validate; returns a flat dict.

    ``profiles`` maps each profile name to its full set of values; its keys (plus the common
    parameters) are the only valid parameter names.
    """
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}: use one of {', '.join(PROFILES)}")
    missing = [p for p in PROFILES if p not in profiles]
    if missing:
        raise ValueError(f"profiles table lacks {missing}")  # programming error, not user input
    base = dict(profiles[profile])
    valid = sorted(set(base) | set(COMMON_PARAMETERS))
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ConfigError(f"unknown parameter(s) {', '.join(unknown)}: valid names are {', '.join(valid)}")
    cfg = dict(base)
    cfg["profile"] = profile
    for k, v in params.items():
        if v is not None:
            if k in base:
                _check_type(k, v, base[k])
            cfg[k] = v
    _validate(cfg)
    return cfg


def _check_type(name: str, value, default) -> None:
    """A parameter takes the type of the profile's value: a bool stays a bool, an int an int,
    a float any number (not a bool), a string a string."""
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "True or False"
    elif isinstance(default, int):
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        ok, kind = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    elif isinstance(default, str):
        ok, kind = isinstance(value, str), "a string"
    else:
        return
    if not ok:
        raise ConfigError(f"{name}={value!r} must be {kind} (the profile's value is {default!r})")


def _validate(cfg: dict) -> None:
    def need(ok: bool, msg: str) -> None:
        if not ok:
            raise ConfigError(msg)

    need(isinstance(cfg.get("overwrite", False), bool), f"overwrite={cfg.get('overwrite')!r} must be True or False")

    dataset = cfg.get("dataset", "phantom")
    need(dataset in DATASETS, f"unknown dataset {dataset!r}: use one of {', '.join(DATASETS)}")
    need(
        not (dataset == "phantom" and cfg.get("data_root")),
        "the phantom is generated in memory and has no data root: leave data_root empty or choose a real dataset",
    )
    if "results_root" in cfg:  # checked before any work, so nothing lands in the wrong place
        from mammorepro.files import check_results_root

        check_results_root(cfg["results_root"], cfg.get("data_root") or None)
    for name in ("seed", "epochs", "batch_size", "image_size"):
        if name in cfg:
            v = cfg[name]
            need(isinstance(v, int) and not isinstance(v, bool), f"{name}={v!r} must be an integer")
    need(cfg.get("seed", 0) >= 0, f"seed={cfg.get('seed')} must be >= 0")
    need(cfg.get("epochs", 0) >= 0, f"epochs={cfg.get('epochs')} must be >= 0 (0 evaluates the untrained model)")
    need(cfg.get("batch_size", 1) >= 1, f"batch_size={cfg.get('batch_size')} must be >= 1")
    need(cfg.get("image_size", 32) >= 32, f"image_size={cfg.get('image_size')} must be at least 32")
    if "lr" in cfg:
        need(isinstance(cfg["lr"], (int, float)) and cfg["lr"] > 0, f"lr={cfg['lr']!r} must be a positive number")
    for key in [k for k in cfg if k.startswith("n_")]:
        need(isinstance(cfg[key], int) and cfg[key] >= 0, f"{key}={cfg[key]!r} must be a non-negative integer")


def profile_table(profiles: Mapping[str, Mapping], keys: list[str] | None = None):
    """The settings of every profile side by side (one row per setting, one column per
    profile): the numbers a chapter's "deviations" section refers to, read from the profiles
    themselves so the page cannot disagree with the run. ``keys``: only these settings (default:
    every setting whose value differs between profiles, then the shared ones)."""
    import pandas as pd

    names = list(profiles)
    every = list(dict.fromkeys(k for p in names for k in profiles[p]))
    if keys is None:
        differ = [k for k in every if len({repr(profiles[p].get(k)) for p in names}) > 1]
        keys = differ + [k for k in every if k not in differ and k not in ("results_root", "data_root", "device")]
    rows = {k: [profiles[p].get(k, "") for p in names] for k in keys}
    return pd.DataFrame.from_dict(rows, orient="index", columns=names).rename_axis("setting").astype(str)
