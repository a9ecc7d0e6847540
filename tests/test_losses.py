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
    assert loss({"out": good, "sides": [bad, good]}, t).item() == pytest.approx(0.5 * (1 + 0) / 2, abs=1e-5)
    assert loss({"out": bad, "sides": []}, t).item() == pytest.approx(1, abs=1e-5)
    assert DeepSupervisionLoss(SoftDiceLoss(smooth=0), side_weight=0)({"out": good, "sides": [bad]}, t).item() == pytest.approx(0, abs=1e-6)


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
    assert build_loss("bce+logdice", weights=(1, 1), logdice_gamma=1.0, bce_neg_weight=0.7)(logits, target).item() > 0
    with pytest.raises(ConfigError, match="gamma"):
        LogDiceLoss(gamma=0)
