"""Train one paper's model, on one process or many: ``python -m mammorepro.train METHOD``.

    torchrun --nproc_per_node 4 -m mammorepro.train "EfficientNet-B3 U-Net" --profile full \\
        -p dataset cbis-ddsm -p data_root /data/CBIS-DDSM

METHOD is any trainable method of the shared protocol (:data:`mammorepro.papers.side_by_side.METHODS`:
each paper's architecture and loss). The data, split file, preprocessing and engine settings
are the shared protocol's (``-p`` takes its parameters). Under ``torchrun`` every process
joins one process group (NCCL on GPUs, gloo on CPUs) and :func:`mammorepro.engine.fit` trains
with DistributedDataParallel; ``batch_size`` stays the global batch. Rank 0 alone draws the
split file, writes checkpoints and writes the result folder
``results/train/<dataset>/<profile>-<method>/`` (config, metrics with the world size, env).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from mammorepro.errors import MammoreproError


def _slug(method: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in method)


def train(method: str, profile: str = "smoke", **params) -> dict:
    """Train ``method`` (inside a process group when one is initialised); rank 0 writes the
    result folder and returns its metrics (other ranks return their history only)."""
    import torch.distributed as dist

    from mammorepro.engine import fit, predict, score_predictions
    from mammorepro.engine.training import distributed_context
    from mammorepro.papers import common, side_by_side
    from mammorepro.report import RunRecorder

    world, rank = distributed_context()
    trainable = side_by_side.NETWORKS
    if method not in trainable:
        raise MammoreproError(f"unknown method {method!r}: train one of {', '.join(trainable)}")
    cfg = side_by_side.configure(profile, methods=method, **params)
    cases = side_by_side.load(cfg)
    if rank == 0:  # the split file is drawn and saved once
        prepared = side_by_side.mass_only(common.prepare(cfg, cases))
    if world > 1:
        dist.barrier()
    if rank != 0:
        prepared = side_by_side.mass_only(common.prepare(cfg, cases))
    seed = cfg["seed"]
    model, loss = side_by_side.build(cfg, method, seed, prepared.parts["train"].masks)
    tcfg = common.train_config(cfg, seed=seed)
    run_name = f"{cfg['profile']}-{_slug(method)}"
    folder = Path(cfg["results_root"]) / ".checkpoints" / "train" / cfg["dataset"] / run_name
    t0 = time.perf_counter()
    history = fit(model, prepared.parts["train"], prepared.parts["val"], loss, tcfg, checkpoint_dir=folder, progress=False)
    seconds = time.perf_counter() - t0
    out = {"method": method, "world_size": world, "train_seconds": seconds, **common.history_summary(history)}
    if rank == 0:
        test = prepared.parts["test"]
        scores = score_predictions(predict(model, test, tcfg), test.masks, test.case_ids, cfg["threshold"], common.EMPTY_MASK_POLICY, extents=test.extents)
        out["test"] = scores.summary()
        with RunRecorder.for_config("train", cfg, run_name) as rec:
            rec.write_config({"parameters": cfg, "method": side_by_side.METHODS[method].source, "engine": tcfg.to_dict(), "world_size": world})
            rec.write_metrics({**common.provenance("train", cfg, prepared), **out})
            rec.write_per_case(scores.per_case())
            rec.write_env(str(common.resolve_device(cfg["device"])))
    return out


def main(argv: list[str] | None = None) -> int:
    from mammorepro.notebooks import parse_value

    parser = argparse.ArgumentParser(prog="python -m mammorepro.train", description="train one paper's model (torchrun: DDP)")
    from mammorepro.papers.side_by_side import NETWORKS

    parser.add_argument("method", help=f"one of: {'; '.join(NETWORKS)}")
    parser.add_argument("--profile", default="smoke", choices=["smoke", "default", "full"])
    parser.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"), help="a shared-protocol parameter")
    args = parser.parse_args(argv)
    params = {k: parse_value(v) for k, v in (args.param or [])}
    if "data_root" in params:
        params["data_root"] = str(params["data_root"])
    joined = False
    try:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1 or "TORCHELASTIC_RUN_ID" in os.environ:
            import torch
            import torch.distributed as dist

            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
            joined = True
        out = train(args.method, args.profile, **params)
        if "test" in out:
            print(f"{out['method']}: {out['epochs_run']} epochs on {out['world_size']} process(es) in {out['train_seconds']:.1f} s; test Dice/image {out['test']['dice_per_image']:.4f}")
        return 0
    except MammoreproError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if joined:
            import torch.distributed as dist

            dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
