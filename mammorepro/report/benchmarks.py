"""The benchmark page (``notebooks/benchmarks``): every JSON under ``benchmarks/results/`` as
tables, each with the machine, versions and commit it was measured on. The numbers come from
the scripts in ``benchmarks/`` (ratios measured side by side in one process), never typed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mammorepro.report.results import commit_label

# the page's parameters: where the JSON files are
PROFILES = {p: {"benchmarks_dir": "benchmarks/results"} for p in ("smoke", "default", "real", "full")}
ENGINE_TARGET = 0.9  # engine >= 0.9 x the bare loop
AMP_TARGET = 1.5  # AMP + channels_last >= 1.5 x fp32
CRF_SPEEDUP_TARGET = 20.0  # the torch CRF on a GPU >= 20 x pydensecrf2
SETTINGS = {"targets": [ENGINE_TARGET, AMP_TARGET, CRF_SPEEDUP_TARGET]}
CRF_DICE_TARGET = 0.5  # |Dice difference| <= 0.5 point on the p1 test set


def configure(profile: str = "default", **params) -> dict:
    from mammorepro import config as config_mod

    return config_mod.resolve(PROFILES, profile, **params)


def load(folder: str | Path) -> dict[str, dict]:
    """name -> the JSON of every benchmark result file in ``folder``."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))}


def machines(results: dict[str, dict]) -> pd.DataFrame:
    """Where and at which commit each file was measured."""
    rows = []
    for name, r in results.items():
        env = r.get("env", {})
        versions = env.get("versions") or {}
        rows.append(
            {
                "file": f"{name}.json",
                "device": env.get("device", ""),
                "gpu": env.get("gpu", "") or ("none" if not env.get("cuda_available") else "?"),
                "cpu cores": env.get("cpu_count"),
                "torch": versions.get("torch", ""),
                "commit": commit_label(env),
            }
        )
    return pd.DataFrame(rows).set_index("file")


def _per_model_and_setting(result: dict, columns) -> pd.DataFrame:
    """One row per (model, setting) of a throughput file: ``columns(model_entry, setting,
    setting_entry)`` gives the row's values."""
    rows = [
        {"model": model, "setting": setting, **columns(m, setting, s)}
        for model, m in result["models"].items()
        for setting, s in m["settings"].items()
    ]
    return pd.DataFrame(rows).set_index(["model", "setting"])


def engine_table(result: dict) -> pd.DataFrame:
    """Per model and setting: bare loop and engine images/s, their ratio against the target,
    the speed-up over fp32, achieved TFLOP/s, MFU and GPU busy share."""
    return _per_model_and_setting(
        result,
        lambda m, setting, s: {
            "bare loop (img/s)": round(s["bare_images_per_s"], 2),
            "engine (img/s)": round(s["engine_images_per_s"], 2),
            "engine / bare": round(s["engine_over_bare"], 3),
            f"meets >= {ENGINE_TARGET}": s["engine_over_bare"] >= ENGINE_TARGET,
            "vs fp32": round(s["speedup_over_fp32"], 2),
            "TFLOP/s": round(s["achieved_tflops"], 4),
            "MFU": None if s.get("mfu") is None else round(s["mfu"], 3),
            "GPU busy %": s.get("gpu_busy_percent"),
        },
    )


def cpu_settings_table(result: dict) -> pd.DataFrame:
    """Per model and CPU setting (``benchmarks/cpu_settings.py``): images/s, the paired ratio over
    today's loop, and which setting was fastest."""
    return _per_model_and_setting(
        result,
        lambda m, setting, s: {"img/s": round(s["images_per_s"], 2), "x today's loop": round(s["over_today"], 2), "fastest": setting == m["fastest"]},
    )


def budget_table(result: dict | None) -> pd.DataFrame:
    """Per budget setting, model (and seed, where the probe ran several) of a budget probe
    (``benchmarks/p2_budget.py``, ``benchmarks/p4_budget.py``, validation part only): the best
    validation Dice over lesion images, the one at the epoch the setting keeps, epochs run, and
    how far the training loss moved (first to last epoch)."""
    rows = [
        {
            "setting": r["setting"],
            "model": r["model"],
            **({"seed": r["seed"]} if "seed" in r and len({x.get("seed") for x in result["rows"]}) > 1 else {}),
            "best val Dice (lesion images)": round(r["best_val_dice_lesion"], 3),
            "at the kept epoch": round(r["val_dice_lesion_at_kept_epoch"], 3),
            **({"kept epoch": r["kept_epoch"]} if "kept_epoch" in r else {}),
            "epochs run": r["epochs_run"],
            "train loss first -> last": f"{r['train_loss_first']:.4f} -> {r['train_loss_last']:.4f}",
            "loss fell by %": round(100 * (1 - r["train_loss_last"] / r["train_loss_first"]), 1),
            "train s": round(r["train_seconds"], 1),
        }
        for r in (result or {}).get("rows", [])
    ]
    index = ["setting", "model"] + (["seed"] if rows and "seed" in rows[0] else [])
    return pd.DataFrame(rows, columns=index if not rows else None).set_index(index)


def _missing(probe: str) -> list[str]:
    return [f"no `{probe}.json` yet: run `python benchmarks/{probe}.py --data-root <your CDD-CESM copy>`"]


def p4_budget_findings(result: dict | None, flat: float = 5.0) -> list[str]:
    """Sentences written from the probe: per model, the largest fall of its training loss over
    every setting (under ``flat`` % means it learned nothing in any), and the setting with the
    best kept-epoch validation Dice; one sentence saying how to make the file when there is none."""
    if not result:
        return _missing("p4_budget")
    out = []
    frame = pd.DataFrame(result["rows"])
    for model, rows in frame.groupby("model", sort=False):
        fall = 100 * (1 - rows["train_loss_last"] / rows["train_loss_first"])
        best = rows.loc[rows["val_dice_lesion_at_kept_epoch"].idxmax()]
        moved = "its training loss fell by at most" if fall.max() < flat else "its training loss fell by up to"
        out.append(f"{model}: {moved} {fall.max():.1f} % in any setting; best kept-epoch validation Dice {best['val_dice_lesion_at_kept_epoch']:.3f} ({best['setting']})")
    return out


def p2_budget_findings(result: dict | None, early: int = 2) -> list[str]:
    """Sentences written from the p2 probe: per setting and model, the kept-epoch validation
    Dice over lesion images across seeds (mean, min, max), the epochs run, and how many seeds
    kept an epoch no later than ``early`` (a run stopped before it started to segment)."""
    if not result:
        return _missing("p2_budget")
    out = []
    frame = pd.DataFrame(result["rows"])
    for (setting, model), rows in frame.groupby(["setting", "model"], sort=False):
        kept = rows["val_dice_lesion_at_kept_epoch"]
        out.append(
            f"{model}, {setting}: kept-epoch validation Dice {kept.mean():.3f} (seeds {kept.min():.3f} to {kept.max():.3f}), "
            f"{rows['epochs_run'].min()}-{rows['epochs_run'].max()} epochs run, {int((rows['kept_epoch'] <= early).sum())} of {len(rows)} seeds kept epoch {early} or earlier"
        )
    return out


def crf_tables(result: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(agreement on the p1 test set, seconds per image and speed-up per backend and size)."""
    agree = result.get("agreement", {})
    rows = [{"CRF settings": k, **v} for k, v in agree.items() if isinstance(v, dict)]
    agreement = pd.DataFrame(rows).set_index("CRF settings") if rows else pd.DataFrame({"note": [agree.get("skipped", "not measured")]})
    speed = []
    for size, s in result.get("speed", {}).items():
        for backend, seconds in s["seconds_per_image"].items():
            speed.append({"size": size, "backend": backend, "seconds / image": round(seconds, 4), "speed-up over pydensecrf2": round(s["speedup_over_pydensecrf"][backend], 2)})
    return agreement, pd.DataFrame(speed).set_index(["size", "backend"]) if speed else pd.DataFrame()
