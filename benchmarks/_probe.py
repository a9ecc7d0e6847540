"""What a budget probe records of one training run (``p2_budget.py``, ``p4_budget.py``): the
best validation Dice over the images with a lesion and its epoch, the one at the epoch the
run keeps, the epochs run, the training loss's first and last values (a loss that does not
move means nothing was learned) and the training seconds."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable


def history_row(setting: str, cfg: dict, keys: tuple[str, ...], run) -> dict:
    """One probe row: the setting's name, its parameters ``keys`` and the run's history in brief."""
    h = run.history.rows
    best = max(h, key=lambda r: r["val_dice_lesion"])
    return {
        "setting": setting,
        **{k: cfg[k] for k in keys},
        "model": run.variant,
        "seed": run.seed,
        "best_val_dice_lesion": best["val_dice_lesion"],
        "epoch_of_best_val_dice_lesion": best["epoch"],
        "val_dice_lesion_at_kept_epoch": h[run.history.best_epoch]["val_dice_lesion"] if run.history.best_epoch >= 0 else float("nan"),
        "kept_epoch": run.history.best_epoch + 1,
        "epochs_run": len(h),
        "train_loss_first": h[0]["train_loss"],
        "train_loss_last": h[-1]["train_loss"],
        "train_seconds": run.train_seconds,
    }


def probe(settings: dict[str, dict], train: Callable[[dict, str], tuple[dict, object]], keys: tuple[str, ...]) -> list[dict]:
    """Every setting in turn: ``train(change, results_root)`` configures, prepares and trains
    (returning the config and its ``Runs``) under a scratch results root, so that a probe's
    checkpoints never meet a real run's; one :func:`history_row` per run."""
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, change in settings.items():
            t0 = time.perf_counter()
            cfg, runs = train(change, str(Path(scratch) / "results"))
            rows += [history_row(name, cfg, keys, run) for run in runs.runs]
            print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    return rows
