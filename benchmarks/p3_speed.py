"""p3 speed benchmark: what multi-scale fusion costs and where the time of the pipeline goes.

    python benchmarks/p3_speed.py [--images 8] [--steps 3] [--out benchmarks/results]

Measured in one process, side by side, on the default profile's phantom images (1024 x 512):

* detector inference per image at the single scale vs all five MSF scales (their ratio is the
  price of MSF), and the fusion itself (eq. 1 and the component boxes);
* detector training seconds per iteration (batch 8) at the smallest and largest training size,
  at the default profile's width and (batch 2) for the full Darknet-53;
* stage-2 training throughput of v19U-Net++ and of the U-Net decoder on the same VGG19 encoder,
  at the default profile's 64 px patches and the paper's 256 px.

The first step of every timing is a warm-up and is not timed. Writes ``p3_speed.json`` with
the device, versions and commit.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from mammorepro.detection import DetectorConfig, YOLOv3, detect, fit_detector, fuse_scales, kmeans_anchors
from mammorepro.papers import p3
from mammorepro.report import environment, write_json


def _timed(fn, repeats: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


def detection_timing(cfg: dict, images: np.ndarray, boxes: list[np.ndarray]) -> dict:
    anchors = kmeans_anchors(np.concatenate(boxes)[:, 2:] - np.concatenate(boxes)[:, :2], 9)
    torch.manual_seed(0)
    model = YOLOv3(anchors, width=cfg["det_width"]).eval()
    sizes = p3.scales(cfg)
    single = p3.reference_size(cfg)
    n = len(images)
    t_single = _timed(lambda: detect(model, images, single, 0.001), 1) / n
    t_all = _timed(lambda: [detect(model, images, s, 0.001) for s in sizes], 1) / n
    per_scale = [detect(model, images, s, cfg["det_score"] / 10) for s in sizes]
    shape = images.shape[1:]
    t_fuse = _timed(lambda: [fuse_scales([d[i] for d in per_scale], shape, cfg["msf_lambda"]) for i in range(n)], 1) / n
    return {
        "single_scale": "x".join(map(str, single)),
        "seconds_per_image_single_scale": t_single,
        "seconds_per_image_five_scales": t_all,
        "msf_cost_ratio": t_all / t_single,
        "seconds_per_image_fusion": t_fuse,
    }


def detector_training_timing(cfg: dict, images: np.ndarray, boxes: list[np.ndarray], steps: int) -> dict:
    anchors = kmeans_anchors(np.concatenate(boxes)[:, 2:] - np.concatenate(boxes)[:, :2], 9)
    out = {}
    sizes = p3.train_sizes(cfg)
    for width, batch in ((cfg["det_width"], 8), (1.0, 2)):
        for size in (sizes[0], sizes[-1]):
            torch.manual_seed(0)
            model = YOLOv3(anchors, width=width)
            dcfg = DetectorConfig(iterations=1, batch_size=batch, train_sizes=(size,), device="cpu")
            fit_detector(model, images, boxes, dcfg)  # warm-up
            t0 = time.perf_counter()
            fit_detector(model, images, boxes, DetectorConfig(iterations=steps, batch_size=batch, train_sizes=(size,), device="cpu"))
            out[f"width {width}, {size[0]}x{size[1]}, batch {batch}"] = {"seconds_per_iteration": (time.perf_counter() - t0) / steps}
    return out


def segmenter_timing(cfg: dict, steps: int) -> dict:
    out = {}
    for size, batch in ((64, 4), (256, 2)):
        row = {"batch_size": batch}
        x = torch.randn(batch, 1, size, size)
        y = (torch.rand(batch, 1, size, size) > 0.7).float()
        for variant in p3.SEGMENTERS:
            model = p3.build_segmenter(cfg, variant, 0).train()
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)

            def step():
                opt.zero_grad(set_to_none=True)
                torch.nn.functional.binary_cross_entropy_with_logits(model(x), y).backward()
                opt.step()

            row[variant] = {"images_per_s": batch / _timed(step, steps)}
        row["U-Net / v19U-Net++"] = row["U-Net"]["images_per_s"] / row["v19U-Net++"]["images_per_s"]
        out[f"{size} px"] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    torch.set_grad_enabled(True)
    cfg = p3.configure("default", results_root="results")
    full = p3.full_images(cfg, p3.load({**cfg, "n_cases": args.images + 4}))
    images, boxes = full.images[: args.images], full.boxes[: args.images]
    result = {
        "benchmark": "p3_speed",
        "images": len(images),
        "image_size": list(images.shape[1:]),
        "detection": detection_timing(cfg, images, boxes),
        "detector_training": detector_training_timing(cfg, images, boxes, args.steps),
        "segmenter_training": segmenter_timing(cfg, args.steps),
        "env": environment("cpu"),
        "cpu_threads": torch.get_num_threads(),
    }
    write_json(Path(args.out) / "p3_speed.json", result)
    d = result["detection"]
    print(f"detect: {d['seconds_per_image_single_scale']:.3f} s/image at {d['single_scale']}, {d['seconds_per_image_five_scales']:.3f} at five scales ({d['msf_cost_ratio']:.1f}x); fusion {1000 * d['seconds_per_image_fusion']:.1f} ms")
    for k, v in result["detector_training"].items():
        print(f"detector training {k}: {v['seconds_per_iteration']:.2f} s/iteration")
    for k, v in result["segmenter_training"].items():
        print(f"stage 2 {k}: " + ", ".join(f"{m} {v[m]['images_per_s']:.1f} images/s" for m in p3.SEGMENTERS))


if __name__ == "__main__":
    main()
