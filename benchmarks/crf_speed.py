"""The dense CRF's two backends side by side: pydensecrf2 (the reference, CPU) and the torch
implementation (:mod:`mammorepro.post.crf_torch`, CPU and, when one is visible, GPU).

    python benchmarks/crf_speed.py [--results results] [--images 8] [--out benchmarks/results]

1. Agreement on the p1 test set: the DS U-Net of the p1 chapter's run (its best checkpoint,
   ``results/p1/<profile>/checkpoints/ds-unet-seed0/best.pt``, written by
   ``python -m mammorepro run p1_ds_unet_crf``) predicts the test images of that run's split;
   both backends refine the same probabilities with the paper's CRF settings and with the
   edge-aware control; per-image Dice against the ground truth (strict definition) of each,
   their difference, and the Dice between the two backends' masks.
2. Speed: seconds per image at 256 x 256 and 1024 x 512, each backend in turn in this process.

Writes ``crf_speed.json`` (``crf_speed_cuda.json`` on a GPU) with device, versions and commit.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from mammorepro.engine import predict, score_predictions
from mammorepro.metrics import bootstrap_ci, dice_per_image
from mammorepro.papers import common, p1
from mammorepro.post.crf import CRFParams, refine
from mammorepro.report import environment, write_json


def agreement(results: str, profile: str, device: str) -> dict:
    cfg = p1.configure(profile, results_root=results, device="cpu")
    ckpt = Path(results) / "p1" / profile / "checkpoints" / f"{p1.VARIANTS['DS U-Net']}-seed{cfg['seed']}" / "best.pt"
    if not ckpt.is_file():
        return {"skipped": f"{ckpt} is missing: run `python -m mammorepro run p1_ds_unet_crf --profile {profile}` first"}
    prepared = p1.prepare(cfg, p1.load(cfg))
    model = p1.build_model(cfg, "DS U-Net", cfg["seed"])
    model.load_state_dict(torch.load(ckpt, map_location="cpu", weights_only=True))
    test = prepared.parts["test"]
    probs = predict(model, test, common.train_config(cfg))
    out = {"profile": profile, "n_test": len(test), "split_sha256": prepared.split_sha256}
    for label, params in (("paper's settings", p1.crf_params(cfg)), ("edge-aware control", replace(p1.EDGE_AWARE_CRF, iterations=p1.crf_params(cfg).iterations))):
        refined = {b: refine(probs, test.images, params, b, device if b == "torch" else "cpu") for b in ("pydensecrf", "torch")}
        dice = {b: score_predictions(r, test.masks, test.case_ids, cfg["threshold"]).per_case()["dice"].to_numpy() for b, r in refined.items()}
        diff = dice["torch"] - dice["pydensecrf"]
        lo, hi = bootstrap_ci(diff)
        between = dice_per_image(refined["torch"] >= cfg["threshold"], refined["pydensecrf"] >= cfg["threshold"])
        out[label] = {
            "dice_per_image_pydensecrf": float(dice["pydensecrf"].mean()),
            "dice_per_image_torch": float(dice["torch"].mean()),
            "difference_points": float(100 * diff.mean()),
            "difference_ci_points": [100 * lo, 100 * hi],
            "max_abs_probability_difference": float(np.abs(refined["torch"] - refined["pydensecrf"]).max()),
            "dice_between_backends": float(between.mean()),
        }
        print(f"{label}: Dice pydensecrf {dice['pydensecrf'].mean():.4f}, torch {dice['torch'].mean():.4f}, difference {100 * diff.mean():+.2f} points", flush=True)
    return out


def speed(n: int, device: str) -> dict:
    rng = np.random.default_rng(0)
    out = {}
    for h, w in ((256, 256), (1024, 512)):
        yy, xx = np.mgrid[:h, :w]
        mass = ((yy - h / 2) ** 2 + (xx - w / 2) ** 2) < (min(h, w) / 8) ** 2
        images = np.clip(0.4 + 0.3 * mass + 0.05 * rng.standard_normal((n, h, w)), 0, 1).astype(np.float32)
        probs = np.clip(0.7 * mass + 0.15 + 0.1 * rng.standard_normal((n, h, w)), 0, 1).astype(np.float32)
        row = {}
        for backend, dev in (("pydensecrf", "cpu"), ("torch", "cpu")) + ((("torch", "cuda"),) if device == "cuda" else ()):
            refine(probs[:1], images[:1], CRFParams(), backend, dev)  # warm-up
            if dev == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            refine(probs, images, CRFParams(), backend, dev)
            if dev == "cuda":
                torch.cuda.synchronize()
            row[f"{backend} ({dev})"] = (time.perf_counter() - t0) / n
        ref = row["pydensecrf (cpu)"]
        out[f"{h}x{w}"] = {"seconds_per_image": row, "speedup_over_pydensecrf": {k: ref / v for k, v in row.items()}}
        print(f"{h}x{w}: " + ", ".join(f"{k} {v:.3f} s" for k, v in row.items()), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    result = {"device": device, "agreement": agreement(args.results, args.profile, device), "speed": speed(args.images, device)}
    result["env"] = environment(device)
    out = Path(args.out) / f"crf_speed{'_cuda' if device == 'cuda' else ''}.json"
    write_json(out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
