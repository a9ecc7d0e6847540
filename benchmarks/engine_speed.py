"""Training throughput of the library's engine against a bare PyTorch loop, and of the
precision / memory-layout settings, for the models of p5 (U-Net, EfficientNet-B3), p1 (DS U-Net)
and p3 (UNet++, VGG19).

    python benchmarks/engine_speed.py [--steps 6] [--rounds 3] [--size 256] [--batch 8] [--out benchmarks/results]

For each model and setting, the engine (:func:`mammorepro.engine.fit`, one epoch of ``steps``
batches, no validation) and a bare loop written here (DataLoader, forward, loss, backward,
optimiser step; nothing else) train the same model from the same weights on the same
synthetic batch stream, alternately, ``rounds`` times each, in this one process; the ratio
of their median images/s is the engine's cost. Settings: fp32; AMP (bf16 where supported);
AMP + channels_last; on a GPU also torch.compile. Model FLOPs per image (forward + backward,
torch's flop counter) give the achieved TFLOP/s, and on a GPU its share of the device's
dense bf16 peak (``--peak-tflops``, e.g. 989 for an H100 SXM) and the GPU busy share
(torch.cuda.utilization sampled during the timed steps, needs pynvml).

Writes ``engine_speed.json`` with the device, versions and commit.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import threading
import time
from pathlib import Path

import numpy as np
import torch

from mammorepro.engine import ArraySegmentationDataset, TrainConfig, fit
from mammorepro.engine.training import _amp_dtype, main_output
from mammorepro.losses import build_loss
from mammorepro.models import create_model
from mammorepro.papers import p1
from mammorepro.report import environment, write_json

MODELS = {
    "U-Net EfficientNet-B3 (p5)": lambda: create_model("smp-unet", encoder_name="efficientnet-b3", seed=0),
    "DS U-Net (p1)": lambda: create_model("ds-unet", seed=0, base=32),
    "UNet++ VGG19 (p3)": lambda: create_model("smp-unetplusplus", encoder_name="vgg19", seed=0),
}


def data(n: int, size: int) -> ArraySegmentationDataset:
    rng = np.random.default_rng(0)
    x = rng.random((n, size, size), dtype=np.float32)
    y = np.zeros((n, size, size), np.uint8)
    y[:, size // 3 : size // 2, size // 3 : size // 2] = 1
    return ArraySegmentationDataset(x, y)


def loss_for(name: str):
    return p1.build_p1_loss(p1.configure("smoke", results_root="results")) if name.startswith("DS") else build_loss("bce+dice")


def bare_loop(model, ds, loss_fn, cfg: TrainConfig, device: torch.device) -> float:
    """images/s of a plain training loop: the reference the engine is compared with."""
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model.to(device, memory_format=memory_format).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    amp_dtype = _amp_dtype(device, cfg.amp)
    loader = torch.utils.data.DataLoader(ds, batch_size=cfg.batch_size, shuffle=True, pin_memory=device.type == "cuda")
    _sync(device)
    t0 = time.perf_counter()
    for x, y, _ in loader:
        x, y = x.to(device, non_blocking=True, memory_format=memory_format), y.to(device, non_blocking=True)
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    _sync(device)
    return len(ds) / (time.perf_counter() - t0)


def engine(model, ds, loss_fn, cfg: TrainConfig, device: torch.device) -> float:
    _sync(device)
    t0 = time.perf_counter()
    fit(model, ds, None, loss_fn, cfg, progress=False)
    _sync(device)
    return len(ds) / (time.perf_counter() - t0)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def flops_per_image(model, size: int, loss_fn, device: torch.device) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    m = copy.deepcopy(model).to(device).train()
    x = torch.rand(2, 1, size, size, device=device)
    y = torch.zeros_like(x)
    with FlopCounterMode(display=False) as counter:
        loss_fn(m(x), y).backward()
    return counter.get_total_flops() / 2


class BusySampler:
    """GPU busy share (torch.cuda.utilization, percent) sampled every 0.1 s in a thread."""

    def __init__(self, device: torch.device):
        self.device, self.samples, self._stop = device, [], threading.Event()

    def __enter__(self):
        if self.device.type == "cuda":
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            try:
                self.samples.append(torch.cuda.utilization(self.device))
            except Exception:  # pynvml missing: no busy share
                return
            time.sleep(0.1)

    def __exit__(self, *exc):
        self._stop.set()

    @property
    def busy(self) -> float | None:
        return float(np.mean(self.samples)) if self.samples else None


def settings(device: torch.device) -> dict[str, dict]:
    out = {"fp32": {"amp": "off"}, "AMP": {"amp": "on"}, "AMP + channels_last": {"amp": "on", "channels_last": True}}
    if device.type == "cuda":
        out["AMP + channels_last + compile"] = {"amp": "on", "channels_last": True, "compile": True}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--peak-tflops", type=float, default=0.0, help="the device's dense bf16 peak, for the model FLOPs utilisation")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    ds = data(args.steps * args.batch, args.size)
    results = {"device": str(device), "size": args.size, "batch": args.batch, "steps": args.steps, "rounds": args.rounds, "models": {}}
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        base = MODELS[name]()
        loss_fn = loss_for(name)
        flops = flops_per_image(base, args.size, loss_fn, device)
        per_setting = {}
        for label, opts in settings(device).items():
            cfg = TrainConfig(epochs=1, batch_size=args.batch, lr=1e-4, device=str(device), amp=opts["amp"], channels_last=opts.get("channels_last", False), seed=0)
            times = {"bare": [], "engine": []}
            with BusySampler(device) as sampler:
                for r in range(args.rounds + 1):  # round 0 warms up both paths (and compiles)
                    for path, run in (("bare", bare_loop), ("engine", engine)):
                        model = copy.deepcopy(base)
                        if opts.get("compile"):
                            model = torch.compile(model)
                        ips = run(model, ds, loss_fn, cfg, device)
                        if r:
                            times[path].append(ips)
            bare, eng = statistics.median(times["bare"]), statistics.median(times["engine"])
            per_setting[label] = {
                "bare_images_per_s": bare,
                "engine_images_per_s": eng,
                "engine_over_bare": eng / bare,
                "achieved_tflops": eng * flops / 1e12,
                "mfu": eng * flops / 1e12 / args.peak_tflops if args.peak_tflops else None,
                "gpu_busy_percent": sampler.busy,
                "rounds": times,
            }
            print(f"{name:28s} {label:32s} bare {bare:7.2f} img/s  engine {eng:7.2f} img/s  ratio {eng / bare:.3f}", flush=True)
        fp32 = per_setting["fp32"]["engine_images_per_s"]
        for v in per_setting.values():
            v["speedup_over_fp32"] = v["engine_images_per_s"] / fp32
        results["models"][name] = {"flops_per_image_fwd_bwd": flops, "settings": per_setting}
    results["env"] = environment(str(device))
    out = Path(args.out) / f"engine_speed{'_' + device.type if device.type != 'cpu' else ''}.json"
    write_json(out, results)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
