"""The models p4 (Khan et al.) compares, built as its section 2 describes them.

* :class:`FCN`: FCN32 / FCN16 / FCN8 (Long et al. 2015; p4 sec. 2.1, Tables 2-3) on VGG16 with
  fc6 as a 7x7 convolution and fc7 as a 1x1 convolution. FCN16 upsamples the pool5 scores with a
  4x4 stride-2 transposed convolution (followed by ReLU, as p4 says every convolution is) and
  adds the pool4 scores; FCN8 does it again with pool3; the sum is resized bilinearly to the
  input. :func:`FCN.load_coarser` starts FCN16 from FCN32 and FCN8 from FCN16, the paper's
  sequential training.
* :class:`Dilation10`: the front end (p4 Table 5; Yu & Koltun 2016): VGG16 without pool4 and
  pool5, conv5 with dilation 2, fc6 as a 7x7 convolution with dilation 4, fc7 1x1, scores; and
  the context module (Table 6): 3x3 convolutions on ``classes`` channels with dilations 1, 1, 2,
  4, 8, 16, 32, 1 and a final 1x1, identity-initialised so that the untrained module passes the
  front end's scores through. ``stage`` = "front" | "context" | "global" picks the paper's
  three training stages (front alone; context with the front frozen; everything).
* :class:`DeepLabV3`: ResNet18 with the last two stages dilated (rates 2 and 4, output stride 8;
  p4 sec. 2.4), ASPP (1x1, three 3x3 at rates 12, 24, 36 scaled for output stride 8, and image
  pooling), BatchNorm replaced by GroupNorm (p4: batches of 2).

``width`` multiplies every channel count (1.0 is the paper's network; the CPU profiles use
less and say so). The VGG16 layers are laid out as torchvision's ``vgg16().features`` so a
local ImageNet state dict loads by name at width 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mammorepro.errors import ConfigError

VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def _w(c: int, width: float) -> int:
    return max(4, int(round(c * width)))


def vgg16_features(in_channels: int, width: float, dilated: bool = False) -> tuple[nn.Sequential, dict[str, int], int]:
    """VGG16 conv layers in torchvision's index order. With ``dilated`` (Dilation10's front end)
    pool4 and pool5 are dropped and conv5 uses dilation 2. Returns the layers, the indices of
    the layer ending each pool stage (``pool3``, ``pool4``, ``pool5``) and the output channels."""
    layers: list[nn.Module] = []
    marks: dict[str, int] = {}
    c, pools, dilation = in_channels, 0, 1
    for v in VGG16:
        if v == "M":
            pools += 1
            if dilated and pools >= 4:
                dilation = 2
                layers.append(nn.Identity())  # keeps torchvision's indices for the conv layers
            else:
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
            marks[f"pool{pools}"] = len(layers) - 1
            continue
        out = _w(v, width)
        layers += [nn.Conv2d(c, out, 3, padding=dilation, dilation=dilation), nn.ReLU(inplace=True)]
        c = out
    return nn.Sequential(*layers), marks, c


def he_init(module: nn.Module) -> None:
    """He et al. (2015) initialisation of every convolution of ``module`` (fan-in, ReLU; zero
    biases). PyTorch's layer default (uniform, gain 1/sqrt(3)) shrinks the signal at each of
    VGG16's 15 plain layers, and a from-scratch VGG then outputs a constant."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _bilinear_init(deconv: nn.ConvTranspose2d) -> None:
    """Long et al. sec. 3.3: the 2x upsampling starts as bilinear interpolation, per class."""
    k = deconv.kernel_size[0]
    factor = (k + 1) // 2
    centre = factor - 1 if k % 2 == 1 else factor - 0.5
    og = torch.arange(k, dtype=torch.float32)
    filt = 1 - (og - centre).abs() / factor
    with torch.no_grad():
        deconv.weight.zero_()
        for c in range(min(deconv.in_channels, deconv.out_channels)):
            deconv.weight[c, c] = filt[:, None] * filt[None, :]
        nn.init.zeros_(deconv.bias)


class FCN(nn.Module):
    """FCN32 (``stride=32``), FCN16 (16) or FCN8 (8) on VGG16; returns logits at input size."""

    def __init__(self, stride: int = 8, in_channels: int = 1, classes: int = 1, width: float = 1.0, dropout: float = 0.5):
        super().__init__()
        if stride not in (32, 16, 8):
            raise ConfigError(f"FCN stride={stride}: use 32, 16 or 8 (FCN32, FCN16, FCN8)")
        self.stride = stride
        self.features, self.marks, c5 = vgg16_features(in_channels, width)
        fc = _w(4096, width)
        self.fc6 = nn.Sequential(nn.Conv2d(c5, fc, 7, padding=3), nn.ReLU(inplace=True), nn.Dropout2d(dropout))
        self.fc7 = nn.Sequential(nn.Conv2d(fc, fc, 1), nn.ReLU(inplace=True), nn.Dropout2d(dropout))
        self.score5 = nn.Conv2d(fc, classes, 1)
        if stride <= 16:
            self.score4 = nn.Conv2d(_w(512, width), classes, 1)
            self.up5 = nn.Sequential(nn.ConvTranspose2d(classes, classes, 4, 2, 1), nn.ReLU(inplace=True))  # Table 3, t_conv_1
        if stride == 8:
            self.score3 = nn.Conv2d(_w(256, width), classes, 1)
            self.up4 = nn.Sequential(nn.ConvTranspose2d(classes, classes, 4, 2, 1), nn.ReLU(inplace=True))  # t_conv_2
        # He-initialised when no ImageNet weights are loaded, the score layers included: Long et
        # al. zero their score layers on top of ImageNet features, but on a from-scratch VGG the
        # zero scores stay near zero (measured: FCN8's training loss flat for 8 epochs on the
        # phantom). The upsampling starts as bilinear interpolation (Long et al. sec. 3.3).
        he_init(self)
        for name in ("up5", "up4"):
            if hasattr(self, name):
                _bilinear_init(getattr(self, name)[0])

    @property
    def encoder(self) -> nn.Sequential:
        """The VGG16 conv layers, where ``create_model(encoder_weights=path)`` loads a local
        torchvision ``vgg16`` state dict (``features.*``; fc6/fc7 stay randomly initialised)."""
        return self.features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        taps = {}
        for i, layer in enumerate(self.features):
            x = layer(x)
            for name, idx in self.marks.items():
                if idx == i:
                    taps[name] = x
        s = self.score5(self.fc7(self.fc6(x)))
        if self.stride <= 16:
            s4 = self.score4(taps["pool4"])
            s = F.interpolate(self.up5(s), size=s4.shape[-2:], mode="bilinear", align_corners=False) + s4
        if self.stride == 8:
            s3 = self.score3(taps["pool3"])
            s = F.interpolate(self.up4(s), size=s3.shape[-2:], mode="bilinear", align_corners=False) + s3
        return F.interpolate(s, size=size, mode="bilinear", align_corners=False)

    def load_coarser(self, coarser: FCN) -> None:
        """Start from a trained coarser FCN (FCN32 -> FCN16 -> FCN8): every tensor they share."""
        own = self.state_dict()
        own.update({k: v for k, v in coarser.state_dict().items() if k in own and v.shape == own[k].shape})
        self.load_state_dict(own)


def _identity_init(conv: nn.Conv2d) -> None:
    """Yu & Koltun's identity initialisation: each output channel copies its input channel."""
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    k = conv.kernel_size[0] // 2
    with torch.no_grad():
        for c in range(min(conv.in_channels, conv.out_channels)):
            conv.weight[c, c, k, k] = 1.0


class Dilation10(nn.Module):
    """Dilation10: front end (output stride 8) + context module; logits at input size.

    The context module is p4's Table 6: ten 3 x 3 convolutions on the class scores, dilations
    1, 1, 2, 4, 8, 16, 16, 32, 1, 1 (receptive field 161), each identity-initialised (Yu &
    Koltun), a ReLU after every one but the last, so the scores can stay negative. The table is
    not consistent with itself: its receptive-field column stays at 161 after context9 and
    context10, which 1 x 1 kernels would give, while its kernel column says 3; the kernel column
    is followed (receptive field 165)."""

    CONTEXT_DILATIONS = (1, 1, 2, 4, 8, 16, 16, 32, 1, 1)  # Table 6, layers context1..context10

    def __init__(self, in_channels: int = 1, classes: int = 1, width: float = 1.0, stage: str = "global", dropout: float = 0.5):
        super().__init__()
        self.features, _, c5 = vgg16_features(in_channels, width, dilated=True)
        fc = _w(4096, width)
        self.fc6 = nn.Sequential(nn.Conv2d(c5, fc, 7, padding=12, dilation=4), nn.ReLU(inplace=True), nn.Dropout2d(dropout))
        self.fc7 = nn.Sequential(nn.Conv2d(fc, fc, 1), nn.ReLU(inplace=True), nn.Dropout2d(dropout))
        self.score = nn.Conv2d(fc, max(classes, 2), 1)  # the context module needs >= 2 channels to aggregate
        he_init(self)  # before the context module's identity initialisation below
        ch = max(classes, 2)
        convs = []
        for d in self.CONTEXT_DILATIONS:
            conv = nn.Conv2d(ch, ch, 3, padding=d, dilation=d)
            _identity_init(conv)
            convs += [conv, nn.ReLU(inplace=True)]
        self.context = nn.Sequential(*convs[:-1])  # no ReLU after context10
        self.head = nn.Conv2d(ch, classes, 1) if ch != classes else nn.Identity()
        if classes == 1:  # one mass logit from the two class scores: mass minus background
            with torch.no_grad():
                self.head.weight.zero_()
                self.head.weight[0, 0], self.head.weight[0, 1] = -1.0, 1.0
                self.head.bias.zero_()
        self.stage = ""
        self.set_stage(stage)

    @property
    def encoder(self) -> nn.Sequential:
        """The VGG16 conv layers, where ``create_model(encoder_weights=path)`` loads a local
        torchvision ``vgg16`` state dict (``features.*``; fc6/fc7 stay randomly initialised)."""
        return self.features

    def set_stage(self, stage: str) -> None:
        """``front``: the front end alone; ``context``: front frozen, context trained;
        ``global``: everything trained (p4 sec. 2.3)."""
        if stage not in ("front", "context", "global"):
            raise ConfigError(f"Dilation10 stage={stage!r}: use front, context or global")
        self.stage = stage
        for module in (self.features, self.fc6, self.fc7, self.score):
            for p in module.parameters():
                p.requires_grad = stage != "context"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        s = self.score(self.fc7(self.fc6(self.features(x))))
        if self.stage != "front":
            s = self.context(s)
        return F.interpolate(self.head(s), size=size, mode="bilinear", align_corners=False)


def _gn(channels: int) -> nn.GroupNorm:
    groups = next(g for g in (32, 16, 8, 4, 2, 1) if channels % g == 0)
    return nn.GroupNorm(groups, channels)


class _Block(nn.Module):
    """ResNet basic block (two 3x3 convolutions) with GroupNorm."""

    def __init__(self, cin: int, cout: int, stride: int, dilation: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False)
        self.n1 = _gn(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, padding=dilation, dilation=dilation, bias=False)
        self.n2 = _gn(cout)
        self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), _gn(cout)) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        y = F.relu(self.n1(self.conv1(x)))
        return F.relu(self.n2(self.conv2(y)) + self.down(x))


class DeepLabV3(nn.Module):
    """DeepLabv3 on a GroupNorm ResNet18, output stride 8 (layer3 rate 2, layer4 rate 4), ASPP."""

    def __init__(self, in_channels: int = 1, classes: int = 1, width: float = 1.0, aspp_rates: tuple[int, ...] = (12, 24, 36)):
        super().__init__()
        c = [_w(v, width) for v in (64, 128, 256, 512)]
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c[0], 7, 2, 3, bias=False), _gn(c[0]), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        specs = [(c[0], c[0], 1, 1), (c[0], c[1], 2, 1), (c[1], c[2], 1, 2), (c[2], c[3], 1, 4)]
        self.layers = nn.ModuleList(nn.Sequential(_Block(i, o, s, d), _Block(o, o, 1, d)) for i, o, s, d in specs)
        a = _w(256, width)
        self.aspp = nn.ModuleList([nn.Sequential(nn.Conv2d(c[3], a, 1, bias=False), _gn(a), nn.ReLU(inplace=True))])
        self.aspp.extend(nn.Sequential(nn.Conv2d(c[3], a, 3, padding=r, dilation=r, bias=False), _gn(a), nn.ReLU(inplace=True)) for r in aspp_rates)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c[3], a, 1, bias=False), nn.ReLU(inplace=True))
        self.project = nn.Sequential(nn.Conv2d(a * (len(aspp_rates) + 2), a, 1, bias=False), _gn(a), nn.ReLU(inplace=True))
        self.classifier = nn.Sequential(nn.Conv2d(a, a, 3, padding=1, bias=False), _gn(a), nn.ReLU(inplace=True), nn.Conv2d(a, classes, 1))
        he_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x)
        branches = [b(x) for b in self.aspp]
        branches.append(F.interpolate(self.pool(x), size=x.shape[-2:], mode="bilinear", align_corners=False))
        return F.interpolate(self.classifier(self.project(torch.cat(branches, 1))), size=size, mode="bilinear", align_corners=False)
