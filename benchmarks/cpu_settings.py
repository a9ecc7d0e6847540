"""Which CPU settings make the ``real`` profile's training loop fastest (issue 21, item 1).

    python benchmarks/cpu_settings.py [--rounds 3] [--images 32] [--out benchmarks/results]

Today's loop is the engine (:func:`mammorepro.engine.fit`) as the ``real`` profile runs it on a
CPU: all cores' threads, fp32, contiguous memory, the augmentation applied to every training
image as it is drawn. Each other setting changes one thing:

- **1 thread** (``torch.set_num_threads(1)``): what a run gets when it shares the cores;
- **channels_last**: NHWC memory layout for the model and its inputs;
- **bf16 autocast**: ``torch.autocast("cpu", torch.bfloat16)``; fast only on CPUs with native
  bf16 (``avx512_bf16`` / AMX, listed in the file's ``cpu_flags``), emulated elsewhere;
- **torch.compile** (inductor, C++ backend): its compile time is reported apart, the timed
  rounds reuse the compiled model;
- **cached crops** (no augmentation at draw time): the upper bound of what caching
  augmented crops ahead of time could save.

The models are p1's DS U-Net and p2's MultiRes U-Net at the ``real`` profile's widths and input
size, trained on synthetic images (speed does not depend on the pixels). Every round runs every
setting once, in turn, in this one process; a setting's ratio is the median over rounds of its
images/s divided by today's loop's in the same round. Writes ``cpu_settings.json`` with the
device, CPU flags, versions and commit.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from mammorepro.engine import ArraySegmentationDataset, TrainConfig, fit
from mammorepro.losses import build_loss
from mammorepro.papers import p1, p2
from mammorepro.preprocess.augment import build_augmentation
from mammorepro.report import environment, write_json

from engine_speed import data as synthetic_data  # this folder's script: the same synthetic batches

BASELINE = "today's loop"
SETTINGS = {
    BASELINE: {},
    "1 thread": {"threads": 1},
    "channels_last": {"channels_last": True},
    "bf16 autocast": {"amp": "on"},
    "torch.compile": {"compile": True},
    "cached crops (no augmentation at draw time)": {"augment": False},
}


def models() -> dict:
    c1, c2 = p1.configure("real", results_root="results"), p2.configure("real", results_root="results")
    return {
        "DS U-Net (p1, real profile)": (c1, lambda: p1.build_model(c1, "DS U-Net", 0), p1.build_p1_loss(c1)),
        "MultiRes U-Net (p2, real profile)": (c2, lambda: p2.build_model(c2, "MultiRes U-Net", 0), build_loss("bce")),
    }


def dataset(n: int, size: int, augment: bool) -> ArraySegmentationDataset:
    """engine_speed's synthetic batches, with the training augmentation drawn per image or not."""
    ds = synthetic_data(n, size)
    ds.augment = build_augmentation(seed=0) if augment else None
    return ds


def cpu_flags() -> list[str]:
    """The CPU features that decide bf16 and wide-vector speed (from /proc/cpuinfo)."""
    wanted = {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "fma"}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return sorted(wanted & set(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return []


def one_epoch(model, ds, loss_fn, cfg: TrainConfig, threads: int) -> float:
    """images/s of one engine epoch (no validation) at ``threads`` threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        t0 = time.perf_counter()
        fit(model, ds, None, loss_fn, cfg, progress=False)
        return len(ds) / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--images", type=int, default=32, help="images per timed epoch")
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.settings.split(",") if s.strip()]
    if BASELINE not in chosen:
        chosen.insert(0, BASELINE)
    cores = torch.get_num_threads()
    results = {"device": "cpu", "threads_available": cores, "cpu_flags": cpu_flags(), "images": args.images, "rounds": args.rounds, "models": {}}
    for name, (cfg, build, loss_fn) in models().items():
        size = cfg["image_size"]
        data = {True: dataset(args.images, size, True), False: dataset(args.images, size, False)}
        runs, compile_s = {}, None
        for label in chosen:
            opts = SETTINGS[label]
            model = build()
            if opts.get("compile"):
                model = torch.compile(model)
            tc = TrainConfig(
                epochs=1, batch_size=cfg["batch_size"], lr=cfg["lr"], device="cpu", amp=opts.get("amp", "off"),
                channels_last=opts.get("channels_last", False), seed=0, patience=0,
            )
            t0 = time.perf_counter()
            one_epoch(model, data[opts.get("augment", True)], loss_fn, tc, opts.get("threads", cores))  # warm-up (and compile)
            if opts.get("compile"):
                compile_s = time.perf_counter() - t0
            runs[label] = (model, tc, opts)
        per_round = {label: [] for label in chosen}
        for _ in range(args.rounds):
            for label, (model, tc, opts) in runs.items():
                per_round[label].append(one_epoch(model, data[opts.get("augment", True)], loss_fn, tc, opts.get("threads", cores)))
        base = per_round[BASELINE]
        table = {}
        for label, ips in per_round.items():
            ratio = statistics.median(v / b for v, b in zip(ips, base))
            table[label] = {"images_per_s": statistics.median(ips), "over_today": ratio, "rounds": ips}
            print(f"{name:34s} {label:44s} {statistics.median(ips):7.2f} img/s  x{ratio:.2f}", flush=True)
        fastest = max(table, key=lambda k: table[k]["over_today"])
        results["models"][name] = {"image_size": size, "batch_size": cfg["batch_size"], "settings": table, "compile_seconds": compile_s, "fastest": fastest}
    results["env"] = environment("cpu")
    out = Path(args.out) / "cpu_settings.json"
    write_json(out, results)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
