import numpy as np
import pytest
import torch

from mammorepro.errors import ConfigError
from mammorepro.losses import BinaryFocalLoss, SoftDiceLoss, WeightedBCELoss, WeightedSum, build_loss


def _pair():
    target = torch.zeros(2, 1, 8, 8)
    target[:, :, 2:5, 2:5] = 1
    return target


def test_dice_loss_is_zero_for_a_perfect_prediction_and_one_for_the_opposite():
    t = _pair()
    assert SoftDiceLoss(smooth=0)(t * 40 - 20, t).item() == pytest.approx(0, abs=1e-6)
    assert SoftDiceLoss(smooth=0)((1 - t) * 40 - 20, t).item() == pytest.approx(1, abs=1e-6)


def test_weighted_bce_penalises_false_positives_more():
    t = _pair()
    logits = torch.full_like(t, -5.0)
    fp = logits.clone()
    fp[:, :, 6, 6] = 5.0  # one false positive pixel
    fn = logits.clone()
    fn[:, :, 2:5, 2:5] = 5.0
    fn[:, :, 2, 2] = -5.0  # one missed lesion pixel
    loss = WeightedBCELoss(pos_weight=0.3, neg_weight=0.7)
    assert loss(fp, t) > loss(fn, t)


def test_focal_loss_down_weights_easy_pixels():
    t = _pair()
    easy = t * 10 - 5
    hard = t * 0.4 - 0.2
    assert BinaryFocalLoss()(easy, t) < 0.01 * BinaryFocalLoss()(hard, t)


def test_build_loss_specs():
    assert isinstance(build_loss("dice"), SoftDiceLoss)
    combo = build_loss("bce+dice", weights=(0.5, 0.5), bce_neg_weight=0.7)
    assert isinstance(combo, WeightedSum) and combo.terms[0].neg_weight == 0.7
    t = _pair()
    logits = torch.randn_like(t, requires_grad=True)
    combo(logits, t).backward()
    assert logits.grad is not None
    with pytest.raises(ConfigError, match="unknown loss"):
        build_loss("lovasz")
    with pytest.raises(ConfigError, match="match no term"):
        build_loss("dice", focal_gamma=2)


def test_deep_supervision_loss_adds_the_side_terms():
    from mammorepro.losses import DeepSupervisionLoss

    t = _pair()
    good = t * 60 - 30  # sigmoid saturates: soft Dice 0 (or 1 for the opposite)
    bad = -good
    loss = DeepSupervisionLoss(SoftDiceLoss(smooth=0), side_weight=0.5)
    assert loss(good, t).item() == pytest.approx(0, abs=1e-6)  # a plain tensor: main term only
    assert loss({"out": good, "sides": [bad, good, bad]}, t).item() == pytest.approx(0.5 * (1 + 0 + 1), abs=1e-5)  # the sides' sum
    assert loss({"out": bad, "sides": []}, t).item() == pytest.approx(1, abs=1e-5)
    assert DeepSupervisionLoss(SoftDiceLoss(smooth=0), side_weight=0)({"out": good, "sides": [bad]}, t).item() == pytest.approx(0, abs=1e-6)


def test_mask_boundary_is_the_mask_minus_its_erosion_by_a_disk():
    # p1's released composite_loss: x - skimage's binary_erosion(x, disk(3)), which is scipy's
    # with the border counted as mask (skimage's own binary_erosion is deprecated from 0.26)
    from scipy.ndimage import binary_erosion
    from skimage.morphology import disk

    from mammorepro.losses import mask_boundary

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:48, :48]
    mask = ((yy - 20) ** 2 / 150 + (xx - 26) ** 2 / 60 <= 1) | ((yy < 6) & (xx < 10))  # an ellipse and a blob cut by the border
    mask |= rng.random(mask.shape) < 0.02  # specks the erosion removes whole
    want = mask & ~binary_erosion(mask, disk(3), border_value=1)
    got = mask_boundary(torch.from_numpy(mask.astype(np.float32))[None, None], 3)[0, 0].numpy().astype(bool)
    assert got.any() and np.array_equal(got, want)
    assert not (got & ~mask).any()  # the band lies inside the mask


def test_released_deep_supervision_uses_boundary_targets_and_a_decaying_weight():
    from mammorepro.losses import DeepSupervisionLoss, mask_boundary

    t = torch.zeros(2, 1, 32, 32)
    t[..., 8:24, 8:24] = 1
    edge = mask_boundary(t, 3)
    saturate = lambda m: m * 60 - 30  # noqa: E731
    loss = DeepSupervisionLoss(SoftDiceLoss(smooth=0), side_weight=1.0, boundary_sides=1, decay_epochs=100)
    # side 0 (an encoder side) is scored against the band, side 1 against the mask
    right = {"out": saturate(t), "sides": [saturate(edge), saturate(t)]}
    swapped = {"out": saturate(t), "sides": [saturate(t), saturate(edge)]}
    assert loss(right, t).item() == pytest.approx(0, abs=1e-5)
    assert loss(swapped, t).item() > 0.4  # 2 x (1 - Dice of the band against the square), 0.485
    # (1 - t / 100) ** 2 at epoch t: 1, 0.25, then 0 once t passes 100
    wrong = {"out": saturate(t), "sides": [saturate(1 - t), saturate(1 - t)]}
    full = loss(wrong, t).item()
    loss.set_epoch(50)
    assert loss.weight() == pytest.approx(0.25) and loss(wrong, t).item() == pytest.approx(0.25 * full, rel=1e-5)
    loss.set_epoch(150)
    assert loss(wrong, t).item() == pytest.approx(0, abs=1e-6)
    with pytest.raises(ConfigError, match="decay_epochs >= 0"):
        DeepSupervisionLoss(SoftDiceLoss(), decay_epochs=-1)


def test_the_engine_tells_the_loss_its_epoch():
    from mammorepro.engine import ArraySegmentationDataset, TrainConfig, fit
    from mammorepro.models import create_model

    class Recording(SoftDiceLoss):
        def __init__(self):
            super().__init__()
            self.epochs = []

        def set_epoch(self, epoch):
            self.epochs.append(epoch)

    images = np.random.default_rng(0).random((4, 16, 16)).astype(np.float32)
    masks = (images > 0.7).astype(np.uint8)
    ds = ArraySegmentationDataset(images, masks, [f"c{i}" for i in range(4)])
    torch.manual_seed(0)
    rec = Recording()
    fit(create_model("unet", base=2, depth=1), ds, ds, rec, TrainConfig(epochs=3, batch_size=2, device="cpu"), progress=False)
    assert rec.epochs == [0, 1, 2]


def test_log_dice_loss_matches_its_formula_per_image():
    from mammorepro.losses import LogDiceLoss

    logits = torch.tensor([[[[0.0, 2.0], [-1.0, 3.0]]], [[[-2.0, -2.0], [-2.0, -2.0]]]])
    target = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]], [[[0.0, 0.0], [0.0, 0.0]]]])
    p = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    dice = (2 * (p * t).sum(1) + 1) / ((p**2).sum(1) + (t**2).sum(1) + 1)
    expected = ((-torch.log(dice)) ** 0.3).mean()
    assert LogDiceLoss(gamma=0.3)(logits, target).item() == pytest.approx(expected.item(), rel=1e-6)
    # a perfect, saturated prediction: loss ~0 and no NaN despite the 0.3 power
    perfect = (target * 60 - 30).requires_grad_()
    value = LogDiceLoss()(perfect, target)
    value.backward()
    assert value.item() < 0.02 and torch.isfinite(perfect.grad).all()
    # a good but unsaturated prediction: finite, non-zero gradient that lowers the loss
    good = (target * 8 - 4).requires_grad_()
    value = LogDiceLoss()(good, target)
    value.backward()
    assert torch.isfinite(good.grad).all() and good.grad.abs().sum() > 0
    assert LogDiceLoss()(good.detach() - 0.1 * good.grad, target) < value
    # the released form: the power of the log of the batch's mean Dice, larger here than the
    # mean of the per-image powers (x ** 0.3 is concave)
    batch = (-torch.log(dice.mean())) ** 0.3
    assert LogDiceLoss(gamma=0.3, reduction="batch")(logits, target).item() == pytest.approx(batch.item(), rel=1e-6)
    assert batch.item() != pytest.approx(expected.item(), rel=1e-3)
    with pytest.raises(ConfigError, match="reduction 'sum'"):
        LogDiceLoss(reduction="sum")
    assert build_loss("bce+logdice", weights=(1, 1), logdice_gamma=1.0, bce_neg_weight=0.7)(logits, target).item() > 0
    with pytest.raises(ConfigError, match="gamma"):
        LogDiceLoss(gamma=0)
