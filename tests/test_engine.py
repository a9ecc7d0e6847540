import numpy as np
import pytest
import torch

from mammorepro.engine import ArraySegmentationDataset, TrainConfig, evaluate, fit, resolve_device
from mammorepro.errors import ConfigError
from mammorepro.losses import build_loss
from mammorepro.models import create_model


def _data(n=12, size=32, seed=0):
    """Bright squares on noise: a task a tiny U-Net learns in a few epochs."""
    rng = np.random.default_rng(seed)
    images = rng.normal(0.3, 0.05, (n, size, size)).astype(np.float32)
    masks = np.zeros((n, size, size), dtype=np.uint8)
    for i in range(n):
        r, c = rng.integers(4, size - 12, 2)
        masks[i, r : r + 8, c : c + 8] = 1
        images[i][masks[i] > 0] += 0.4
    return ArraySegmentationDataset(images, masks, [f"c{i}" for i in range(n)])


def _model():
    torch.manual_seed(0)
    return create_model("unet", base=4, depth=2)


CFG = TrainConfig(epochs=4, batch_size=4, lr=1e-2, device="cpu", seed=0)


def test_fit_learns_and_is_deterministic_on_cpu():
    a, b = _model(), _model()
    ha = fit(a, _data(), _data(6, seed=1), build_loss("bce+dice"), CFG, progress=False)
    hb = fit(b, _data(), _data(6, seed=1), build_loss("bce+dice"), CFG, progress=False)
    assert ha.column("train_loss") == hb.column("train_loss")
    assert ha.column("train_loss")[-1] < ha.column("train_loss")[0]
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    _, scores = evaluate(a, _data(6, seed=2), CFG)
    assert scores.summary()["dice_per_image"] > 0.3
    # per-epoch accuracy and IoU on the training batches and on validation (p2's Fig. 6)
    last = ha.rows[-1]
    assert {"train_accuracy", "train_iou", "val_accuracy", "val_iou"} <= set(last)
    assert ha.column("train_iou")[-1] > ha.column("train_iou")[0] and last["val_iou"] > 0.2
    assert 0.9 < last["val_accuracy"] <= 1 and 0 <= last["train_accuracy"] <= 1


def test_training_counts_match_a_pass_over_the_same_batches():
    # one epoch at lr ~0: the pooled training counts equal those of the (train-mode) forward pass
    model = _model()
    data = _data(8)
    h = fit(model, data, None, build_loss("bce"), TrainConfig(epochs=1, batch_size=8, lr=1e-12, device="cpu", seed=0), progress=False)
    model.train()
    with torch.no_grad():
        logits = model(torch.from_numpy(data.images)[:, None])
    pred = (logits[:, 0] >= 0).numpy()
    truth = data.masks > 0
    tp, fp, fn = (pred & truth).sum(), (pred & ~truth).sum(), (~pred & truth).sum()
    assert h.rows[0]["train_iou"] == pytest.approx(tp / (tp + fp + fn), abs=0.02)
    assert h.rows[0]["train_accuracy"] == pytest.approx((pred == truth).mean(), abs=0.01)


def test_resume_continues_exactly(tmp_path):
    full = _model()
    fit(full, _data(), None, build_loss("bce"), CFG, progress=False)
    part = _model()
    fit(part, _data(), None, build_loss("bce"), TrainConfig(**{**CFG.to_dict(), "epochs": 2}), checkpoint_dir=tmp_path, progress=False)
    assert (tmp_path / "last.pt").is_file() and (tmp_path / "best.pt").is_file()
    resumed = _model()
    h = fit(resumed, _data(), None, build_loss("bce"), CFG, checkpoint_dir=tmp_path, resume=True, progress=False)
    assert [r["epoch"] for r in h.rows] == [1, 2, 3, 4]
    for pa, pb in zip(full.parameters(), resumed.parameters()):
        assert torch.allclose(pa, pb, atol=1e-6)


def test_early_stopping_restores_the_best_weights():
    model = _model()
    cfg = TrainConfig(epochs=40, batch_size=4, lr=1e-9, patience=2, device="cpu")
    val = _data(6, seed=1)
    h = fit(model, _data(), val, build_loss("bce"), cfg, progress=False)
    # with a negligible learning rate the validation Dice plateaus: training stops `patience`
    # epochs after the best one, and the best epoch's weights are the ones kept
    assert h.stopped_early and len(h.rows) == h.best_epoch + 1 + cfg.patience < cfg.epochs
    _, scores = evaluate(model, val, cfg)
    # the best epoch is picked by Dice over the validation images with a lesion (the default monitor)
    assert scores.summary()["dice_lesion_images"] == pytest.approx(h.best_score)


def test_step_schedule_and_loss_monitor():
    # p4's MATLAB options: lr x 0.3 every 2 epochs here, best epoch by the lowest validation loss
    model = _model()
    cfg = TrainConfig(epochs=5, batch_size=4, lr=1e-2, optimizer="sgd", scheduler="step", step_every=2, step_factor=0.3, monitor="loss", device="cpu")
    h = fit(model, _data(), _data(6, seed=1), build_loss("bce"), cfg, progress=False)
    assert h.column("lr") == pytest.approx([1e-2, 1e-2, 3e-3, 3e-3, 9e-4])
    losses = h.column("val_loss")
    assert h.best_epoch == int(np.argmin(losses)) and h.best_score == pytest.approx(-min(losses))
    with pytest.raises(ConfigError, match="monitor='accuracy'"):
        TrainConfig(monitor="accuracy")
    with pytest.raises(ConfigError, match="step_factor=1.5"):
        TrainConfig(scheduler="step", step_factor=1.5)


def test_bad_settings_are_one_line_errors():
    with pytest.raises(ConfigError, match="epochs=-1"):
        TrainConfig(epochs=-1)
    with pytest.raises(ConfigError, match="optimizer"):
        TrainConfig(optimizer="lbfgs")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            resolve_device("cuda")


def _augmented(n=12):
    from mammorepro.preprocess.augment import build_augmentation

    ds = _data(n)
    ds.augment = build_augmentation(seed=0)
    return ds


def test_resume_with_augmentation_continues_exactly(tmp_path):
    full = _model()
    h_full = fit(full, _augmented(), None, build_loss("bce"), CFG, progress=False)
    part = _model()
    fit(part, _augmented(), None, build_loss("bce"), TrainConfig(**{**CFG.to_dict(), "epochs": 2}), checkpoint_dir=tmp_path, progress=False)
    resumed = _model()
    h = fit(resumed, _augmented(), None, build_loss("bce"), CFG, checkpoint_dir=tmp_path, resume=True, progress=False)
    assert h.column("train_loss") == pytest.approx(h_full.column("train_loss"), rel=1e-5)


def test_resume_refuses_changed_settings_and_keeps_an_early_stop(tmp_path):
    model = _model()
    cfg = TrainConfig(epochs=40, batch_size=4, lr=1e-9, patience=2, device="cpu")
    h = fit(model, _data(), _data(6, seed=1), build_loss("bce"), cfg, checkpoint_dir=tmp_path, progress=False)
    assert h.stopped_early
    again = fit(_model(), _data(), _data(6, seed=1), build_loss("bce"), cfg, checkpoint_dir=tmp_path, resume=True, progress=False)
    assert len(again.rows) == len(h.rows)  # no extra epoch after an early stop
    with pytest.raises(ConfigError, match="lr"):
        fit(_model(), _data(), None, build_loss("bce"), TrainConfig(**{**cfg.to_dict(), "lr": 0.1}), checkpoint_dir=tmp_path, resume=True, progress=False)
