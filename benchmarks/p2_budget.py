"""Whether early stopping decides p2's comparison on a real dataset: the U-Net with the real
profile's patience against the same budget without early stopping, three seeds, on the
*validation* part only (no test image is seen).

    python benchmarks/p2_budget.py --data-root ../shared/realdata/cdd-cesm [--dataset cdd-cesm]
        [--variants U-Net] [--seeds 3] [--out benchmarks/results]

On CDD-CESM's five folds the real profile's U-Net stayed below the brightest-region baseline
(results/p2/cdd-cesm/real): in several folds and seeds it stopped at epoch 9 with epoch 1 kept,
its validation Dice over lesion images swinging between 0 and 0.4 from one epoch to the next
while its training loss still fell. Each setting is the ``real`` profile with what its name says
changed, trained on the first fold's training part; the file records, per seed, the best
validation Dice over lesion images, the one at the kept epoch, the kept epoch and the epochs run
(:func:`_probe.history_row`). The p2 chapter prints the table from ``p2_budget.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from _probe import probe as run_settings
from mammorepro.papers import p2
from mammorepro.report import environment, write_json

KEYS = ("lr", "epochs", "patience", "image_size", "base_width")
# today's ``real`` budget first
SETTINGS = {
    "real profile (24 epochs, patience 8)": {},
    "24 epochs, no early stopping (best epoch kept)": {"patience": 0},
}


def probe(dataset: str, data_root: str, variants: list[str], n_seeds: int, settings: dict) -> list[dict]:
    def train(change: dict, results_root: str):
        cfg = p2.configure("real", dataset=dataset, data_root=data_root, results_root=results_root, n_seeds=n_seeds, resume=False, folds=1, **change)
        return cfg, p2.train_variants(cfg, p2.prepare_folds(cfg, p2.load(cfg))[0], variants=variants)

    return run_settings(settings, train, KEYS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="cdd-cesm")
    ap.add_argument("--data-root", required=True)
    ap.add_argument("--variants", default="U-Net", help=f"comma-separated subset of {', '.join(p2.VARIANTS)}")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    out = Path(args.out) / "p2_budget.json"
    rows = probe(args.dataset, args.data_root, variants, args.seeds, SETTINGS)
    write_json(out, {"what": __doc__.splitlines()[0], "dataset": args.dataset, "split": "the p2 real profile's first fold, validation part", "seeds": args.seeds, "threads": torch.get_num_threads(), "rows": rows, "env": environment("cpu")})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
