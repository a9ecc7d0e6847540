"""The training engine: fit / predict / evaluate, shared by every paper.

* device ``"auto"`` picks CUDA when available, else CPU; AMP (bf16 where supported, else fp16
  with a gradient scaler) is on by default on CUDA and off on CPU;
* seeded and deterministic on CPU (``torch.use_deterministic_algorithms``);
* checkpoints every epoch (``last.pt``, with optimiser, scheduler and RNG states) and on
  improvement (``best.pt``), written atomically; ``resume=True`` continues from ``last.pt``;
* early stopping on a validation metric (Dice per image over the validation images that hold a
  lesion, by default: scoring empty masks 1 would let an all-background epoch win) with the best
  weights restored at the end;
* tqdm progress bars (off in notebooks, where the history plots tell the story).

Models may return a tensor of logits or a tuple/list/dict of outputs (deep supervision):
the loss receives the raw output, predictions use :func:`main_output`.
"""

from __future__ import annotations

import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from mammorepro.errors import ConfigError
from mammorepro.metrics import SegmentationScores
from mammorepro.files import atomic_write


MONITORS = ("lesion_dice", "dice", "loss")  # what picks the best epoch (TrainConfig.monitor)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"  # adam | adamw | sgd
    momentum: float = 0.9  # sgd only
    scheduler: str = "none"  # none | cosine | step
    step_every: int = 10  # step scheduler: multiply lr by step_factor every step_every epochs
    step_factor: float = 0.3
    patience: int = 0  # early stopping patience in epochs; 0 = off
    # best epoch and early stopping: "lesion_dice" = validation Dice per image over the images with a
    # lesion (higher; pooled Dice when the validation part has none), "dice" = over every image with
    # an empty mask scored 1 (an all-background epoch wins it on a mostly-normal part), "loss" (lower)
    monitor: str = "lesion_dice"
    threshold: float = 0.5
    device: str = "auto"
    amp: str = "auto"  # auto (on for CUDA) | on | off
    channels_last: bool = False  # NHWC memory layout for model and inputs (faster convolutions on recent GPUs)
    num_workers: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 0, f"epochs={self.epochs} must be >= 0"),
            (self.batch_size >= 1, f"batch_size={self.batch_size} must be >= 1"),
            (self.lr > 0, f"lr={self.lr} must be > 0"),
            (self.patience >= 0, f"patience={self.patience} must be >= 0 (0 switches early stopping off)"),
            (self.optimizer in ("adam", "adamw", "sgd"), f"optimizer={self.optimizer!r}: use adam, adamw or sgd"),
            (self.scheduler in ("none", "cosine", "step"), f"scheduler={self.scheduler!r}: use none, cosine or step"),
            (self.step_every >= 1 and 0 < self.step_factor <= 1, f"step_every={self.step_every} must be >= 1 and step_factor={self.step_factor} in (0, 1]"),
            (self.monitor in MONITORS, f"monitor={self.monitor!r}: use lesion_dice (validation Dice over images with a lesion), dice (over every image) or loss (validation loss)"),
            (self.amp in ("auto", "on", "off"), f"amp={self.amp!r}: use auto, on or off"),
            (0 < self.threshold < 1, f"threshold={self.threshold} must be in (0, 1)"),
            (self.num_workers >= 0, f"num_workers={self.num_workers} must be >= 0"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ConfigError(msg)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class History:
    """One row per epoch: epoch, train_loss, train_accuracy, train_iou (pooled over the epoch's
    training batches), lr, val_loss, val_dice (per image), val_accuracy, val_iou (pooled), the
    side outputs' val_dice_side<k> for deeply supervised models, seconds."""

    rows: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    best_score: float = -math.inf
    stopped_early: bool = False

    def column(self, name: str) -> list[float]:
        return [r[name] for r in self.rows]

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.rows)


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` -> CUDA if available else CPU; asking for CUDA without one is a one-line error."""
    if device in ("auto", "", None):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} but no CUDA GPU is visible: use device='cpu' or 'auto'")
    try:
        return torch.device(device)
    except RuntimeError:
        raise ConfigError(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N") from None


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and torch; on CPU make torch's algorithms deterministic."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


class ArraySegmentationDataset(Dataset):
    """Preprocessed images (N, H, W) float32 and masks (N, H, W) {0,1}, with optional augmentation.

    ``extents`` says where each image lies on its padded canvas: a box per image (N x 4: y0, x0,
    y1, x1, :func:`mammorepro.preprocess.image_extent`) or boolean masks (N x H x W); scoring
    counts those pixels only. None: every pixel is the image's (square images, crops)."""

    def __init__(self, images: np.ndarray, masks: np.ndarray, case_ids=None, augment=None, extents=None):
        if len(images) != len(masks):
            raise ConfigError(f"{len(images)} images but {len(masks)} masks")
        if extents is not None and len(extents) != len(images):
            raise ConfigError(f"{len(extents)} image extents for {len(images)} images")
        self.images, self.masks = images, masks
        self.case_ids = list(case_ids) if case_ids is not None else [str(i) for i in range(len(images))]
        self.augment = augment
        self.extents = None if extents is None else np.asarray(extents)

    def subset(self, index) -> "ArraySegmentationDataset":
        """The images at ``index`` (a list of positions), with their masks, ids, extents and augmentation."""
        index = list(index)
        extents = None if self.extents is None else self.extents[index]
        return ArraySegmentationDataset(self.images[index], self.masks[index], [self.case_ids[i] for i in index], self.augment, extents)

    def __len__(self) -> int:
        return len(self.images)

    def set_epoch(self, seed: int, epoch: int) -> None:
        """Reseed the augmentation for an epoch: reruns and resumed runs see the same images."""
        if self.augment is not None and hasattr(self.augment, "reseed"):
            self.augment.reseed(seed * 100003 + epoch)

    def __getitem__(self, i: int):
        x, y = self.images[i], self.masks[i]
        if self.augment is not None:
            x, y = self.augment(x, y)
        x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]
        y = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))[None]
        return x, y, i


def main_output(out) -> torch.Tensor:
    """The prediction logits of a model output (the first of a tuple/list, ``"out"`` of a dict)."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, dict):
        return out["out"]
    return out[0]


def _amp_dtype(device: torch.device, amp: str):
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16


def in_process_group() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def distributed_context() -> tuple[int, int]:
    """(world size, rank) of an initialised torch.distributed process group, else (1, 0)."""
    import torch.distributed as dist

    return (dist.get_world_size(), dist.get_rank()) if in_process_group() else (1, 0)


def _loader(ds: Dataset, cfg: TrainConfig, shuffle: bool, device: torch.device, sampler=None, batch_size: int | None = None) -> DataLoader:
    gen = torch.Generator()
    gen.manual_seed(cfg.seed)
    return DataLoader(
        ds,
        batch_size=batch_size or cfg.batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        num_workers=cfg.num_workers,
        pin_memory=device.type == "cuda",
        generator=gen,
        worker_init_fn=_init_worker,
    )


def _init_worker(worker_id: int) -> None:
    """Each DataLoader worker gets its own augmentation stream (derived from torch's per-worker
    seed, itself derived from the loader's seeded generator), so workers never repeat each other."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    info = torch.utils.data.get_worker_info()
    augment = getattr(info.dataset, "augment", None) if info else None
    if augment is not None and hasattr(augment, "reseed"):
        augment.reseed(seed)


def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def _scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig):
    """Per-epoch learning-rate schedule: cosine over ``epochs``, or piecewise constant (MATLAB's
    "piecewise": lr x ``step_factor`` every ``step_every`` epochs, p4 Table 8)."""
    if cfg.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, cfg.epochs))
    if cfg.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_every, gamma=cfg.step_factor)
    return None


# settings that may change between a run and its resumption; anything else must match
_RESUMABLE_CHANGES = {"epochs", "device", "num_workers", "patience", "channels_last"}


def _check_resumable(saved: dict, cfg: TrainConfig, folder: Path) -> None:
    changed = sorted(k for k, v in cfg.to_dict().items() if k not in _RESUMABLE_CHANGES and k in saved and saved[k] != v)
    if cfg.scheduler == "cosine" and saved.get("epochs", cfg.epochs) != cfg.epochs:
        changed.append("epochs (the cosine schedule spans the original number)")
    if changed:
        raise ConfigError(
            f"cannot resume from {folder}: {', '.join(changed)} differ from the checkpoint's settings; "
            f"restore them, or delete {folder} to train from scratch"
        )


def selection_score(row: dict, monitor: str) -> float:
    """What picks the best epoch from an epoch's history row (higher is better):
    ``val_dice_lesion`` (Dice per image over the validation images with a lesion), ``val_dice``
    (over every image, an empty mask predicted empty scoring 1) or minus ``val_loss``."""
    return {"lesion_dice": row["val_dice_lesion"], "dice": row["val_dice"], "loss": -row["val_loss"]}[monitor]


def _atomic_save(obj, path: Path) -> None:
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def _progress(iterable, enabled: bool, **kw):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, **kw)


def fit(
    model: nn.Module,
    train_ds: Dataset,
    val_ds: Dataset | None,
    loss_fn: nn.Module,
    cfg: TrainConfig,
    *,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
) -> History:
    """Train ``model`` in place; return the per-epoch history. The best weights (by validation
    per-image Dice, or validation loss with ``monitor="loss"``) are loaded into ``model`` at the
    end when a validation set is given.

    Inside an initialised torch.distributed process group (``torchrun``, see
    :mod:`mammorepro.train`) the model is wrapped in DistributedDataParallel and each of the
    W ranks draws ``batch_size / W`` images per step from a DistributedSampler (seeded, reshuffled
    every epoch), so a step sees the same global batch as one process would; the training loss
    and counts are summed over ranks; validation runs on every rank on the whole validation
    set (identical, so every rank takes the same early-stopping decision); only rank 0 writes
    checkpoints."""
    world, rank = distributed_context()
    device = resolve_device(cfg.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank % torch.cuda.device_count())))
        torch.cuda.set_device(device)
    if cfg.batch_size % world:
        raise ConfigError(f"batch_size={cfg.batch_size} must be divisible by the {world} processes (it is the global batch)")
    seed_everything(cfg.seed, deterministic=device.type == "cpu")
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model.to(device, memory_format=memory_format)
    net = model
    sampler = None
    if in_process_group():
        from torch.nn.parallel import DistributedDataParallel
        from torch.utils.data.distributed import DistributedSampler

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        sampler = DistributedSampler(train_ds, num_replicas=world, rank=rank, shuffle=True, seed=cfg.seed)
    opt = _optimizer(model, cfg)
    sched = _scheduler(opt, cfg)
    amp_dtype = _amp_dtype(device, cfg.amp)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    history = History()
    best_state = None
    start = 0
    train_loader = _loader(train_ds, cfg, True, device, sampler, cfg.batch_size // world)
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir else None
    if resume and ckpt_dir is not None and (ckpt_dir / "last.pt").is_file():
        state = torch.load(ckpt_dir / "last.pt", map_location=device, weights_only=False)
        _check_resumable(state.get("config", {}), cfg, ckpt_dir)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if sched is not None and state.get("scheduler"):
            sched.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        history = History(**state["history"])
        start = state["epoch"] + 1
        torch.set_rng_state(state["torch_rng"])
        train_loader.generator.set_state(state["loader_rng"])
        if device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        if history.stopped_early:
            start = cfg.epochs  # a run that stopped early stays stopped
        if (ckpt_dir / "best.pt").is_file():
            best_state = torch.load(ckpt_dir / "best.pt", map_location="cpu", weights_only=True)
    stale = (start - 1 - history.best_epoch) if history.best_epoch >= 0 else 0
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        if hasattr(train_ds, "set_epoch"):
            train_ds.set_epoch(cfg.seed, epoch)
        if sampler is not None:
            sampler.set_epoch(epoch)
        if hasattr(loss_fn, "set_epoch"):  # a loss that changes with the epoch (p1's decaying side weight)
            loss_fn.set_epoch(epoch)
        model.train()
        # the epoch's loss sum and pooled TP, FP, FN, TN stay on the device: one sync per epoch
        total = torch.zeros((), dtype=torch.float64, device=device)
        seen = 0
        counts = torch.zeros(4, dtype=torch.int64, device=device)
        logit_threshold = math.log(cfg.threshold / (1 - cfg.threshold))
        for x, y, _ in _progress(train_loader, progress, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False):
            x, y = x.to(device, non_blocking=True, memory_format=memory_format), y.to(device, non_blocking=True)
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                out = net(x)
                loss = loss_fn(out, y)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            total += loss.detach().double() * len(x)
            seen += len(x)
            with torch.no_grad():
                pred, truth = main_output(out).detach()[:, :1] >= logit_threshold, y > 0
                counts += torch.stack([(pred & truth).sum(), (pred & ~truth).sum(), (~pred & truth).sum(), (~pred & ~truth).sum()])
        if not torch.isfinite(total):
            raise FloatingPointError(f"the training loss became {float(total)} in epoch {epoch + 1}: lower lr or check the inputs")
        sums = torch.cat([total.view(1), torch.tensor([seen], dtype=torch.float64, device=device), counts.double()])
        if sampler is not None:  # sum the epoch's loss and counts over ranks
            import torch.distributed as dist

            dist.all_reduce(sums)
        sums = sums.cpu()
        total, seen = float(sums[0]), int(sums[1])
        tp, fp, fn, tn = (int(round(float(c))) for c in sums[2:])
        row = {
            "epoch": epoch + 1,
            "train_loss": total / max(seen, 1),
            # on the augmented training batches, in training mode (dropout on), as Keras logs them
            "train_accuracy": (tp + tn) / max(tp + fp + fn + tn, 1),
            "train_iou": tp / (tp + fp + fn) if tp + fp + fn else 1.0,
            "lr": opt.param_groups[0]["lr"],
        }
        if sched is not None:
            sched.step()
        if val_ds is not None and len(val_ds):
            sides: list[SegmentationScores] = []
            probs, val_loss, targets = _predict(model, val_ds, cfg, device, loss_fn, sides)
            row["val_loss"] = val_loss
            summary = score_predictions(probs, targets, None, cfg.threshold, extents=getattr(val_ds, "extents", None)).summary()
            row["val_dice"] = summary["dice_per_image"]
            lesion = summary["dice_lesion_images"]
            row["val_dice_lesion"] = lesion if not math.isnan(lesion) else summary["dice_pooled"]
            row["val_accuracy"], row["val_iou"] = summary["pixel_accuracy"], summary["iou_pooled"]
            for k, side in enumerate(sides, 1):  # deeply supervised models: each side output's Dice
                row[f"val_dice_side{k}"] = side.summary()["dice_per_image"]
            score = selection_score(row, cfg.monitor)
        else:
            score = -row["train_loss"]
        row["seconds"] = time.perf_counter() - t0
        history.rows.append(row)
        improved = score > history.best_score
        if improved:
            history.best_score, history.best_epoch = score, epoch
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            stale = 0
        else:
            stale += 1
        history.stopped_early = bool(cfg.patience) and stale >= cfg.patience  # saved with the checkpoint
        if ckpt_dir is not None and rank == 0:
            if improved:
                _atomic_save(best_state, ckpt_dir / "best.pt")
            _atomic_save(
                {
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict() if sched is not None else None,
                    "scaler": scaler.state_dict(),
                    "history": asdict(history),
                    "epoch": epoch,
                    "torch_rng": torch.get_rng_state(),
                    "loader_rng": train_loader.generator.get_state(),
                    "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
                    "config": cfg.to_dict(),
                },
                ckpt_dir / "last.pt",
            )
        if history.stopped_early:
            break
    if best_state is not None and val_ds is not None and len(val_ds):
        model.load_state_dict(best_state)
    return history


@torch.no_grad()
def _predict(model, ds, cfg: TrainConfig, device, loss_fn=None, side_scores: list | None = None):
    """(probabilities N x H x W, mean loss, targets N x H x W as seen by the model).

    When ``side_scores`` is a list and the model returns side outputs (``{"sides": [...]}``),
    one :class:`SegmentationScores` per side output is appended to it and filled batch by batch
    (side maps are scored, never stored)."""
    model.eval()
    amp_dtype = _amp_dtype(device, cfg.amp)
    probs, targets, total = [], [], 0.0
    loader = DataLoader(ds, batch_size=cfg.batch_size, shuffle=False, num_workers=cfg.num_workers)
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    extents = getattr(ds, "extents", None)
    for x, y, index in loader:
        x = x.to(device, memory_format=memory_format)
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            out = model(x)
        if loss_fn is not None:
            total += float(loss_fn(out, y.to(device))) * len(x)
        probs.append(torch.sigmoid(main_output(out).float())[:, 0].cpu().numpy())
        targets.append(y[:, 0].numpy() > 0)
        if side_scores is not None and isinstance(out, dict) and out.get("sides"):
            if not side_scores:
                side_scores.extend(SegmentationScores() for _ in out["sides"])
            for scores, side in zip(side_scores, out["sides"]):
                scores.update((torch.sigmoid(side.float())[:, 0] >= cfg.threshold).cpu().numpy(), targets[-1], extents=None if extents is None else extents[index.numpy()])
    if not probs:
        raise ConfigError("the evaluation set is empty: check the split and the data")
    return np.concatenate(probs), total / len(ds), np.concatenate(targets)


def predict(model: nn.Module, ds: Dataset, cfg: TrainConfig | None = None) -> np.ndarray:
    """Foreground probabilities, shape (N, H, W) float32."""
    cfg = cfg or TrainConfig()
    device = resolve_device(cfg.device)
    model.to(device)
    return _predict(model, ds, cfg, device)[0]


def score_predictions(probs: np.ndarray, masks: np.ndarray, case_ids, threshold: float = 0.5, empty: str = "one", extents=None) -> SegmentationScores:
    """Threshold probabilities and score them under every metric definition, inside each
    image's ``extents`` where given (padding pixels are never scored)."""
    scores = SegmentationScores(empty=empty)
    scores.update(np.asarray(probs) >= threshold, np.asarray(masks) > 0, case_ids, extents=extents)
    return scores


def evaluate(model: nn.Module, ds: ArraySegmentationDataset, cfg: TrainConfig | None = None, empty: str = "one"):
    """Predict and score; returns (probabilities, :class:`SegmentationScores`)."""
    cfg = cfg or TrainConfig()
    probs = predict(model, ds, cfg)
    return probs, score_predictions(probs, ds.masks, ds.case_ids, cfg.threshold, empty, extents=getattr(ds, "extents", None))
