"""p1 speed benchmark: dense CRF time per image (the paper's kernels, 5 iterations) at 256 x 256
and at 1024 x 512, and training throughput (images/s, forward + backward + AdamW step with the
p1 loss) of the three ablation variants, on the CPU and, when one is visible, on a GPU.

    python benchmarks/p1_speed.py [--crf-images 8] [--steps 4] [--out benchmarks/results]

Writes ``p1_speed.json`` with the device, versions and commit. The variants are timed in turn
in one process, at the same sizes and batch, so their ratios are fair; the first step of each
is a warm-up and is not timed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from mammorepro.data.phantom import PhantomConfig, make_case
from mammorepro.papers import p1
from mammorepro.post import CRFParams, dense_crf
from mammorepro.preprocess import PreprocessConfig, preprocess_case
from mammorepro.report import environment, write_json

# (label, image size, base width, batch): the paper's setting and the CPU default profile's
TRAIN_SETTINGS = [("paper 256 px, base 64", 256, 64, 4), ("default profile 128 px, base 8", 128, 8, 8)]


def crf_timing(n_images: int) -> dict:
    out = {}
    for h, w in ((256, 256), (1024, 512)):
        case = make_case(0, seed=0, config=PhantomConfig())
        image, mask = preprocess_case(case.image, case.mask, PreprocessConfig(image_size=max(h, w)))
        image, mask = image[:h, :w], mask[:h, :w]
        rng = np.random.default_rng(0)
        prob = np.clip(0.7 * mask + 0.15 + 0.1 * rng.standard_normal(mask.shape), 0, 1).astype(np.float32)
        dense_crf(prob, image, CRFParams())  # warm-up
        t0 = time.perf_counter()
        for _ in range(n_images):
            dense_crf(prob, image, CRFParams())
        out[f"{h}x{w}"] = {"seconds_per_image": (time.perf_counter() - t0) / n_images, "images": n_images}
    return out


def training_timing(device: torch.device, steps: int) -> dict:
    cfg = p1.configure("smoke", results_root="results")
    loss = p1.build_p1_loss(cfg)
    out = {}
    for label, size, base, batch in TRAIN_SETTINGS:
        if device.type == "cpu" and base == 64:
            batch = 2  # keep a CPU run to minutes
        row = {"image_size": size, "base_width": base, "batch_size": batch}
        x = torch.randn(batch, 1, size, size, device=device)
        y = (torch.rand(batch, 1, size, size, device=device) > 0.99).float()
        for variant in p1.VARIANTS:
            model = p1.build_model({**cfg, "base_width": base}, variant, seed=0).to(device).train()
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
            amp = device.type == "cuda"
            for step in range(steps + 1):
                if step == 1:
                    if device.type == "cuda":
                        torch.cuda.synchronize()
                    t0 = time.perf_counter()
                opt.zero_grad(set_to_none=True)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                    value = loss(model(x), y)
                value.backward()
                opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            row[variant] = {"images_per_s": steps * batch / (time.perf_counter() - t0)}
        base_rate = row["U-Net"]["images_per_s"]
        for variant in p1.VARIANTS:
            row[variant]["relative_to_plain"] = row[variant]["images_per_s"] / base_rate
        out[label] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--crf-images", type=int, default=8)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    result = {
        "benchmark": "p1_speed",
        "crf": crf_timing(args.crf_images),
        "training": {d.type: training_timing(d, args.steps) for d in devices},
        "env": environment(str(devices[-1])),
        "cpu_threads": torch.get_num_threads(),
    }
    name = "p1_speed.json" if len(devices) == 1 else "p1_speed_gpu.json"
    write_json(Path(args.out) / name, result)
    for size, r in result["crf"].items():
        print(f"CRF {size}: {1000 * r['seconds_per_image']:.0f} ms/image")
    for dev, rows in result["training"].items():
        for label, row in rows.items():
            rates = ", ".join(f"{v} {row[v]['images_per_s']:.1f}" for v in p1.VARIANTS)
            print(f"train {dev} {label}: {rates} images/s")


if __name__ == "__main__":
    main()
