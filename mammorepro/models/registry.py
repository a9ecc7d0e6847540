"""One registry of models keyed by name, with one entry point ``create_model(name, **kw)``.

Every model takes ``in_channels`` (1 for grayscale mammograms), ``classes`` (1: mass logits)
and ``encoder_weights``: ``None`` (random init), ``"imagenet"`` (only if already in the local
cache: nothing is downloaded at run time) or a path to a local ``.pth`` / ``.safetensors``
file. Unknown names raise an error listing the valid ones (pattern of
segmentation_models.pytorch).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from mammorepro.errors import ConfigError, WeightsError
from mammorepro.models.ds_unet import DSUNet
from mammorepro.models.multires_unet import MultiResUNet
from mammorepro.models.p4_models import FCN, DeepLabV3, Dilation10
from mammorepro.models.unet import UNet


@dataclass(frozen=True)
class ModelSpec:
    builder: Callable[..., nn.Module]
    description: str
    size_multiple: int  # input height/width must be a multiple of this
    pretrained_encoder: bool  # whether "imagenet" weights exist for it
    smoke_kwargs: dict  # small settings for fast tests


_REGISTRY: dict[str, ModelSpec] = {}


def register(name: str, description: str, size_multiple: int, pretrained_encoder: bool, smoke_kwargs=None):
    def deco(fn):
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = ModelSpec(fn, description, size_multiple, pretrained_encoder, dict(smoke_kwargs or {}))
        return fn

    return deco


def list_models() -> dict[str, str]:
    """Registered names and one-line descriptions."""
    return {k: v.description for k, v in sorted(_REGISTRY.items())}


def get_spec(name: str) -> ModelSpec:
    if name not in _REGISTRY:
        raise ConfigError(f"unknown model {name!r}: valid names are {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def check_input_size(name: str, size: int, parameter: str = "image_size") -> None:
    """One-line error, naming ``parameter``, when ``size`` does not suit the model's downsampling."""
    m = get_spec(name).size_multiple
    if size <= 0 or size % m:
        lower = max(m, size // m * m)
        raise ConfigError(
            f"{parameter}={size} does not suit model {name!r}: it must be a positive multiple of {m} (e.g. {lower} or {lower + m})"
        )


def create_model(
    name: str,
    *,
    in_channels: int = 1,
    classes: int = 1,
    encoder_weights: str | None = None,
    seed: int | None = None,
    **kwargs,
) -> nn.Module:
    """Build a registered model. See the module doc for ``encoder_weights``.

    ``seed`` makes the random initialisation reproducible without touching the global RNG
    (torch seeds its default generator randomly at start-up, so an unseeded init differs
    from run to run)."""
    if seed is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return create_model(name, in_channels=in_channels, classes=classes, encoder_weights=encoder_weights, **kwargs)
    spec = get_spec(name)
    path = None
    if encoder_weights not in (None, "", "none", "imagenet"):
        path = Path(str(encoder_weights)).expanduser()
        if not path.is_file():
            raise WeightsError(f"encoder weights file {str(path)!r} does not exist: pass the path of a local .pth/.safetensors file or None")
    if encoder_weights == "imagenet" and not spec.pretrained_encoder:
        raise WeightsError(f"model {name!r} has no ImageNet-pretrained encoder: use encoder_weights=None or a local weights file")
    try:
        model = spec.builder(
            in_channels=in_channels,
            classes=classes,
            encoder_weights="imagenet" if encoder_weights == "imagenet" else None,
            **kwargs,
        )
    except TypeError as exc:
        raise ConfigError(f"bad option for model {name!r}: {exc}") from None
    if path is not None:
        load_weights(model, path)
    return model


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt files, pickled modules, other formats
        raise WeightsError(
            f"{path} is not a loadable state dict ({type(exc).__name__}): save weights with torch.save(model.state_dict(), path)"
        ) from None
    for key in ("state_dict", "model", "model_state"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise WeightsError(f"{path} does not hold a state dict: save it with torch.save(model.state_dict(), path)")
    return obj


def load_weights(model: nn.Module, path: Path) -> None:
    """Load a local state dict into the model's encoder (if it has one and the keys fit) or the
    whole model. A first convolution with 3 input channels is summed to 1 channel for grayscale."""
    state = _read_state_dict(path)
    target = getattr(model, "encoder", model)
    own = target.state_dict()
    if not set(state) & set(own):
        # a checkpoint of a larger model (e.g. torchvision's vgg16: features.* and classifier.*):
        # the sub-dict under the one prefix whose keys fit the encoder best
        prefixes = {k.split(".", 1)[0] for k in state if "." in k}
        subs = [{k.split(".", 1)[1]: v for k, v in state.items() if k.startswith(f"{p}.")} for p in sorted(prefixes)]
        stripped = max(subs, key=lambda sub: len(set(sub) & set(own)), default={})
        if set(stripped) & set(own):
            state = stripped
        elif target is not model and set(state) & set(model.state_dict()):
            target, own = model, model.state_dict()
    fitted = {}
    for k, v in state.items():
        if k not in own:
            continue
        if v.shape != own[k].shape and v.ndim == 4 and v.shape[1] == 3 and own[k].shape[1] == 1:
            v = v.sum(dim=1, keepdim=True)
        if v.shape == own[k].shape:
            fitted[k] = v
    if not fitted:
        raise WeightsError(f"no tensor in {path} fits the model's encoder: is it the weights of the right encoder?")
    missing = [k for k in own if k not in fitted and not k.endswith("num_batches_tracked")]
    if missing:
        raise WeightsError(f"{path} lacks {len(missing)} encoder tensors (first: {missing[0]}): it is not a complete encoder checkpoint")
    target.load_state_dict(fitted, strict=False)


def _smp(arch: str, encoder_name: str, in_channels: int, classes: int, encoder_weights, **kw) -> nn.Module:
    import segmentation_models_pytorch as smp

    cls = getattr(smp, arch)
    if encoder_weights != "imagenet":
        return cls(encoder_name=encoder_name, encoder_weights=None, in_channels=in_channels, classes=classes, **kw)
    # only a local cache may serve the weights: make every hub offline for this call
    saved = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    try:
        return cls(encoder_name=encoder_name, encoder_weights="imagenet", in_channels=in_channels, classes=classes, **kw)
    except Exception as exc:  # noqa: BLE001 - any hub/network failure means "not cached"
        raise WeightsError(
            f"ImageNet weights for encoder {encoder_name!r} are not in the local cache ({type(exc).__name__}) and nothing is "
            f"downloaded at run time: on a machine with internet save them with torch.save(encoder.state_dict(), 'file.pth') "
            f"and pass encoder_weights='file.pth'"
        ) from None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@register("unet", "original U-Net (Ronneberger 2015), padded convs, base width 64, 4 poolings", 16, False, {"base": 8})
def _unet(in_channels=1, classes=1, encoder_weights=None, base=64, depth=4, batch_norm=True, dropout=0.0):
    return UNet(in_channels, classes, base=base, depth=depth, batch_norm=batch_norm, dropout=dropout)


@register("smp-unet", "U-Net decoder on any smp encoder (encoder_name=..., default resnet34)", 32, True, {"encoder_name": "resnet18"})
def _smp_unet(in_channels=1, classes=1, encoder_weights=None, encoder_name="resnet34", **kw):
    return _smp("Unet", encoder_name, in_channels, classes, encoder_weights, **kw)


@register("smp-unetplusplus", "UNet++ (Zhou 2018) on any smp encoder (encoder_name=..., default resnet34)", 32, True, {"encoder_name": "resnet18"})
def _smp_unetpp(in_channels=1, classes=1, encoder_weights=None, encoder_name="resnet34", **kw):
    return _smp("UnetPlusPlus", encoder_name, in_channels, classes, encoder_weights, **kw)


@register("ds-unet", "deeply supervised U-Net with SE attention and learnable fusion of 6 side outputs (p1)", 16, False, {"base": 4})
def _ds_unet(in_channels=1, classes=1, encoder_weights=None, base=64, dropout=0.5):
    return DSUNet(in_channels, classes, base=base, dropout=dropout, deep_supervision=True, fusion=True)


@register("ds-unet-nofusion", "p1 ablation: DS U-Net, side outputs supervised, no fusion layer", 16, False, {"base": 4})
def _ds_unet_nofusion(in_channels=1, classes=1, encoder_weights=None, base=64, dropout=0.5):
    return DSUNet(in_channels, classes, base=base, dropout=dropout, deep_supervision=True, fusion=False)


@register("ds-unet-plain", "p1 ablation: the DS U-Net backbone without side outputs", 16, False, {"base": 4})
def _ds_unet_plain(in_channels=1, classes=1, encoder_weights=None, base=64, dropout=0.5):
    return DSUNet(in_channels, classes, base=base, dropout=dropout, deep_supervision=False, fusion=False)


@register("multires-unet", "MultiResUNet (Ibtehaz & Rahman 2020): MultiRes blocks, Res paths, U = 32..512, alpha 1.67 (p2)", 16, False, {"base": 4})
def _multires_unet(in_channels=1, classes=1, encoder_weights=None, base=32, alpha=1.67):
    return MultiResUNet(in_channels, classes, base=base, alpha=alpha)


for _stride in (32, 16, 8):

    @register(f"fcn{_stride}", f"FCN{_stride} on VGG16 (Long 2015; p4 Tables 2-3), width multiplier", 32, False, {"width": 0.0625})
    def _fcn(in_channels=1, classes=1, encoder_weights=None, width=1.0, dropout=0.5, _stride=_stride):
        return FCN(_stride, in_channels, classes, width, dropout)


@register("dilation10", "Dilation10 front end + identity-initialised context module (Yu & Koltun 2016; p4 Tables 5-6)", 8, False, {"width": 0.0625})
def _dilation10(in_channels=1, classes=1, encoder_weights=None, width=1.0, stage="global", dropout=0.5):
    return Dilation10(in_channels, classes, width, stage, dropout)


@register("deeplabv3-resnet18-gn", "DeepLabv3, ResNet18 with GroupNorm, output stride 8, ASPP (p4 sec. 2.4)", 8, False, {"width": 0.125})
def _deeplabv3(in_channels=1, classes=1, encoder_weights=None, width=1.0):
    return DeepLabV3(in_channels, classes, width)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
