"""Which training budget lets p4's models learn on a real dataset (issue 21, item 1): a probe
on the *validation* part only, so that the choice never sees a test image.

    python benchmarks/p4_budget.py --data-root ../shared/realdata/cdd-cesm [--dataset cdd-cesm]
        [--models fcn32,unet,dilation10-front,deeplabv3] [--out benchmarks/results]

Each setting is the ``real`` profile with a few parameters changed; every setting trains every
listed model once (seed 0) on the same split and crops, and the file records each model's best
validation Dice over the images with a lesion, the epoch that gave it, the epochs run, the last
training loss against the first (a loss that does not move means nothing was learned) and the
training seconds. The p4 chapter's ``real`` profile takes the setting this probe supports; the
notebook prints the table from ``p4_budget.json`` (nothing typed by hand).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from _probe import probe as run_settings
from mammorepro.papers import p4
from mammorepro.report import environment, write_json

KEYS = ("lr", "epochs", "monitor", "patience", "width", "unet_base", "image_size", "crop_size")

# today's ``real`` budget first; each other setting changes what its name says
SETTINGS = {
    "phantom budget (lr 0.1, 15 epochs, best epoch by validation loss)": {"lr": 0.1, "epochs": 15, "monitor": "loss"},
    "same, best epoch by validation Dice over lesion images": {"lr": 0.1, "epochs": 15, "monitor": "lesion_dice"},
    "lr 0.01, 40 epochs, lesion Dice": {"lr": 0.01, "epochs": 40, "monitor": "lesion_dice", "patience": 10},
    "lr 0.01, 40 epochs, lesion Dice, widths x2": {"lr": 0.01, "epochs": 40, "monitor": "lesion_dice", "patience": 10, "width": 0.25, "unet_base": 16},
    # the output strides (8 to 32) leave a 128 px image a 4 x 4 to 16 x 16 map: twice the size
    "images 256 px, crops 128 px, lesion Dice": {"lr": 0.1, "epochs": 15, "monitor": "lesion_dice", "image_size": 256, "crop_size": 128},
    "images 256 px, crops 128 px, lesion Dice, patience 8": {"lr": 0.1, "epochs": 24, "monitor": "lesion_dice", "patience": 8, "image_size": 256, "crop_size": 128},
}


def probe(dataset: str, data_root: str, models: str, settings: dict) -> list[dict]:
    def train(change: dict, results_root: str):
        cfg = p4.configure("real", dataset=dataset, data_root=data_root, results_root=results_root, models=models, n_seeds=1, resume=False, **change)
        return cfg, p4.train_models(cfg, p4.prepare(cfg, p4.load(cfg)))

    return run_settings(settings, train, KEYS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="cdd-cesm")
    ap.add_argument("--data-root", required=True)
    ap.add_argument("--models", default="fcn32,unet,dilation10-front,deeplabv3")
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--only", default="", help="run only the settings whose name contains this; the file keeps the other settings' rows")
    args = ap.parse_args()
    out = Path(args.out) / "p4_budget.json"
    settings = {k: v for k, v in SETTINGS.items() if args.only in k}
    rows = probe(args.dataset, args.data_root, args.models, settings)
    if args.only and out.is_file():
        import json

        kept = [r for r in json.loads(out.read_text())["rows"] if r["setting"] not in settings]
        rows = sorted(kept + rows, key=lambda r: list(SETTINGS).index(r["setting"]))
    write_json(out, {"what": __doc__.splitlines()[0], "dataset": args.dataset, "split": "the p4 real profile's patient split, validation part", "seed": 0, "threads": torch.get_num_threads(), "rows": rows, "env": environment("cpu")})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
