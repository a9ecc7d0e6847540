"""One shared test runs forward and backward on every registered model (smp pattern)."""

import pytest
import torch

from mammorepro.engine import main_output
from mammorepro.errors import ConfigError, WeightsError
from mammorepro.models import check_input_size, count_parameters, create_model, get_spec, list_models


@pytest.mark.parametrize("name", sorted(list_models()))
def test_every_model_runs_forward_and_backward(name):
    torch.manual_seed(0)
    spec = get_spec(name)
    model = create_model(name, **spec.smoke_kwargs)
    size = 2 * spec.size_multiple
    x = torch.randn(2, 1, size, size)
    out = model(x)
    logits = main_output(out)
    assert logits.shape == (2, 1, size, size)
    (logits.mean() + sum(s.mean() for s in (out.get("sides", []) if isinstance(out, dict) else []))).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)


def test_unknown_model_lists_the_valid_names():
    with pytest.raises(ConfigError) as err:
        create_model("unet3000")
    for name in list_models():
        assert name in str(err.value)


def test_input_size_check_says_what_fits():
    check_input_size("unet", 256)
    with pytest.raises(ConfigError, match="multiple of 16"):
        check_input_size("unet", 250)


def test_original_unet_width():
    # Ronneberger's U-Net with 64 base filters has about 31 M parameters
    assert 30e6 < count_parameters(create_model("unet")) < 32e6


def test_imagenet_weights_are_never_downloaded():
    with pytest.raises(WeightsError, match="no ImageNet"):
        create_model("unet", encoder_weights="imagenet")
    try:
        create_model("smp-unet", encoder_name="resnet18", encoder_weights="imagenet")
    except WeightsError as err:
        assert "encoder_weights='file.pth'" in str(err)  # says how to provide a file


def test_encoder_weights_from_a_local_file(tmp_path):
    torch.manual_seed(1)
    src = create_model("smp-unet", encoder_name="resnet18")
    path = tmp_path / "encoder.pth"
    torch.save(src.encoder.state_dict(), path)
    dst = create_model("smp-unet", encoder_name="resnet18", encoder_weights=str(path))
    for k, v in src.encoder.state_dict().items():
        assert torch.equal(v, dst.encoder.state_dict()[k])
    with pytest.raises(WeightsError, match="does not exist"):
        create_model("smp-unet", encoder_name="resnet18", encoder_weights=str(tmp_path / "missing.pth"))
    torch.save({"foo": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(WeightsError, match="fits"):
        create_model("smp-unet", encoder_name="resnet18", encoder_weights=str(tmp_path / "bad.pth"))


def test_rgb_first_conv_is_summed_for_grayscale(tmp_path):
    rgb = create_model("smp-unet", encoder_name="resnet18", in_channels=3)
    path = tmp_path / "rgb.pth"
    torch.save(rgb.encoder.state_dict(), path)
    gray = create_model("smp-unet", encoder_name="resnet18", in_channels=1, encoder_weights=str(path))
    w = gray.encoder.state_dict()["conv1.weight"]
    assert torch.allclose(w, rgb.encoder.state_dict()["conv1.weight"].sum(1, keepdim=True))


def test_bad_model_option_is_one_line():
    with pytest.raises(ConfigError, match="bad option"):
        create_model("unet", widht=3)


def test_seeded_init_is_reproducible_and_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    a = create_model("unet", base=4, depth=2, seed=5)
    assert torch.equal(torch.get_rng_state(), state)
    b = create_model("unet", base=4, depth=2, seed=5)
    c = create_model("unet", base=4, depth=2, seed=6)
    pa, pb, pc = (torch.cat([p.flatten() for p in m.parameters()]) for m in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)


def test_ds_unet_side_outputs_and_ablation_variants():
    x = torch.randn(1, 1, 64, 64)
    fused = create_model("ds-unet", base=4, seed=0)(x)
    assert len(fused["sides"]) == 6 and all(s.shape == (1, 1, 64, 64) for s in fused["sides"])
    nofusion = create_model("ds-unet-nofusion", base=4, seed=0)
    assert len(nofusion(x)["sides"]) == 6 and not hasattr(nofusion, "fuse")
    plain = create_model("ds-unet-plain", base=4, seed=0)
    assert plain(x)["sides"] == [] and not hasattr(plain, "side_encoder")
    # the fusion layer sees the last decoder features (base channels) and the six side maps
    assert create_model("ds-unet", base=4).fuse.in_channels == 4 + 6
    # same backbone, same seed: the variants differ only by their side branches and head/fusion
    a, b = create_model("ds-unet-plain", base=4, seed=0), create_model("ds-unet-nofusion", base=4, seed=0)
    assert torch.equal(a.encoder[0][0].weight, b.encoder[0][0].weight)
    # the paper's widths: 64..1024 filters
    assert count_parameters(create_model("ds-unet")) > count_parameters(create_model("ds-unet-plain")) > 30e6


def test_multires_unet_structure_and_parameter_budget():
    model = create_model("multires-unet", seed=0)
    # Res paths of length 4, 3, 2, 1 from the top level down; MultiRes widths from W = 1.67 U
    assert [len(p.convs) for p in model.paths] == [4, 3, 2, 1]
    w = 1.67 * 32
    assert model.encoder[0].out_channels == int(0.167 * w) + int(0.333 * w) + int(0.5 * w) == 51
    # alpha 1.67 keeps it slightly below a U-Net of the same U = 32..512 (Ibtehaz & Rahman sec. 4.2)
    ratio = count_parameters(model) / count_parameters(create_model("unet", base=32))
    assert 0.85 < ratio < 1.0, ratio
    assert create_model("multires-unet", base=4)(torch.randn(2, 1, 48, 48)).shape == (2, 1, 48, 48)
