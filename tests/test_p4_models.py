"""The p4 models' structure: FCN strides and sequential initialisation, Dilation10's output
stride, identity-initialised context module and training stages, DeepLabv3's dilated ResNet18
with GroupNorm. (Forward and backward of each is in the shared registry test.)"""

import pytest
import torch
from torch import nn

from mammorepro.errors import ConfigError
from mammorepro.models import count_parameters, create_model
from mammorepro.models.p4_models import FCN, DeepLabV3, Dilation10


def test_fcn_variants_add_the_skips_of_the_paper():
    names = {s: {n for n, _ in FCN(s, width=0.0625).named_children()} for s in (32, 16, 8)}
    assert not {"score4", "up5"} & names[32] and {"score4", "up5"} <= names[16] and {"score3", "up4"} <= names[8]
    out = FCN(8, width=0.0625)(torch.randn(1, 1, 96, 64))
    assert out.shape == (1, 1, 96, 64)
    with pytest.raises(ConfigError, match="FCN stride"):
        FCN(4)


def test_fcn16_starts_from_fcn32_and_fcn8_from_fcn16():
    torch.manual_seed(0)
    f32, f16, f8 = FCN(32, width=0.0625), FCN(16, width=0.0625), FCN(8, width=0.0625)
    f16.load_coarser(f32)
    f8.load_coarser(f16)
    assert torch.equal(f8.fc6[0].weight, f32.fc6[0].weight) and torch.equal(f8.score4.weight, f16.score4.weight)


def test_fcn_at_full_width_has_vgg16_size():
    # VGG16 convolutions (14.7 M) + fc6 as 7x7 conv (102.8 M) + fc7 (16.8 M): the FCN-8s size
    assert 134e6 < count_parameters(create_model("fcn8")) < 135e6


def test_dilation10_front_end_keeps_output_stride_8():
    m = Dilation10(width=0.0625)
    feats = m.features(torch.randn(1, 1, 64, 64))
    assert feats.shape[-2:] == (8, 8)
    dil = [c.dilation[0] for c in m.features if isinstance(c, nn.Conv2d)]
    assert dil == [1] * 10 + [2] * 3  # conv5 dilated by 2; fc6 by 4
    assert m.fc6[0].dilation == (4, 4)


def test_dilation10_context_is_identity_at_initialisation():
    m = Dilation10(width=0.0625)
    x = torch.rand(1, 2, 12, 12)  # non-negative scores pass every ReLU unchanged
    assert torch.allclose(m.context(x), x, atol=1e-6)
    convs = [c for c in m.context if isinstance(c, nn.Conv2d)]
    # p4 Table 6, typed from the paper here (not read from the model's constant): ten 3 x 3 layers
    assert [c.dilation[0] for c in convs] == [1, 1, 2, 4, 8, 16, 16, 32, 1, 1] and all(c.kernel_size == (3, 3) for c in convs)
    # and the receptive field the table's last column gives after context8 (1 + 2 * sum of dilations)
    assert 1 + 2 * sum(c.dilation[0] for c in convs[:8]) == 161


def test_dilation10_stages_freeze_the_front_end_only_for_context():
    m = Dilation10(width=0.0625, stage="context")
    assert not any(p.requires_grad for p in m.features.parameters()) and all(p.requires_grad for p in m.context.parameters())
    m.set_stage("global")
    assert all(p.requires_grad for p in m.parameters())
    with pytest.raises(ConfigError, match="stage"):
        m.set_stage("all")


def test_deeplabv3_resnet18_uses_groupnorm_and_output_stride_8():
    m = DeepLabV3(width=0.125)
    assert not any(isinstance(x, nn.BatchNorm2d) for x in m.modules()) and any(isinstance(x, nn.GroupNorm) for x in m.modules())
    x = m.stem(torch.randn(1, 1, 64, 64))
    for layer in m.layers:
        x = layer(x)
    assert x.shape[-2:] == (8, 8)
    assert m(torch.randn(2, 1, 64, 64)).shape == (2, 1, 64, 64)


def test_frequency_weights_follow_one_minus_the_class_share():
    import numpy as np

    from mammorepro.losses import frequency_weights

    masks = np.zeros((2, 10, 10), np.uint8)
    masks[0, :2, :] = 1  # 20 of 200 pixels are mass: 10 %
    pos, neg = frequency_weights(masks)
    assert (pos, neg) == pytest.approx((0.9, 0.1))
    assert frequency_weights(mass_share=0.25) == pytest.approx((0.75, 0.25))
    with pytest.raises(ConfigError, match="not both"):
        frequency_weights(masks, mass_share=0.1)


def test_balanced_crops_centre_on_mass_pixels_and_are_reproducible():
    import numpy as np

    from mammorepro.preprocess.crops import BalancedCropDataset, balanced_crop_centre, crop_at

    mask = np.zeros((100, 60), np.uint8)
    mask[70:74, 40:43] = 1
    rng = np.random.default_rng(0)
    centres = {balanced_crop_centre(mask, rng) for _ in range(50)}
    assert all(mask[c] for c in centres) and len(centres) > 1
    empty = balanced_crop_centre(np.zeros((5, 5)), rng)
    assert 0 <= empty[0] < 5 and 0 <= empty[1] < 5
    assert crop_at(np.ones((10, 10)), (0, 9), 32).shape == (32, 32)  # padded when the image is smaller
    win = crop_at(np.arange(100 * 60).reshape(100, 60), (99, 59), 32)
    assert win.shape == (32, 32) and win[-1, -1] == 100 * 60 - 1  # shifted inside, not padded
    images = np.random.default_rng(1).random((3, 100, 60)).astype(np.float32)
    masks = np.stack([mask] * 3)
    ds = BalancedCropDataset(images, masks, 32, seed=3)
    ds.set_epoch(0, 1)
    first = [ds[i][1].sum().item() for i in range(3)]
    ds.set_epoch(0, 1)
    assert [ds[i][1].sum().item() for i in range(3)] == first and all(v > 0 for v in first)
    x, y, _ = ds[0]
    assert x.shape == y.shape == (1, 32, 32) and 0 <= x.min() and x.max() <= 1
    # every crop holds the whole 12-pixel mass: the crops' mass share is 12/1024, not the
    # image's 12/6000, and measuring it leaves the training stream where it was
    ds.set_epoch(0, 1)
    assert ds.mass_fraction() == pytest.approx(12 / 1024)
    assert [ds[i][1].sum().item() for i in range(3)] == first


@pytest.mark.parametrize("name", ["fcn8", "dilation10"])
def test_a_local_torchvision_vgg16_checkpoint_loads_into_the_conv_layers(tmp_path, name):
    # torchvision's vgg16 layout (features.* and classifier.*, RGB input), saved as a local file
    import torchvision

    vgg = torchvision.models.vgg16(weights=None)
    torch.save(vgg.state_dict(), tmp_path / "vgg16.pth")
    model = create_model(name, encoder_weights=str(tmp_path / "vgg16.pth"))
    first = model.features[0].weight
    assert torch.allclose(first, vgg.features[0].weight.sum(dim=1, keepdim=True))  # RGB stem summed to grey
    assert torch.equal(model.features[28].weight, vgg.features[28].weight)  # conv5_3 (dilated in Dilation10)
    with pytest.raises(Exception, match="no tensor"):
        create_model(name, width=0.5, encoder_weights=str(tmp_path / "vgg16.pth"))
