"""What a budget probe records of one training run (``p2_budget.py``, ``p4_budget.py``): the
best validation Dice over the images with a lesion and its epoch, the one at the epoch the
run keeps, the epochs run, the training loss's first and last values (a loss that does not
move means nothing was learned) and the training seconds."""

from __future__ import annotations


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
