"""Deeply supervised U-Net (p1: Rajalakshmi & Ramesh, sec. I contributions 1-2, sec. II and Fig. 2).

The paper's text stops after its overview; the architecture follows the authors' released
Keras code (``Ravitha/DSU-Net-for-Mass-Segmentation-in-Mammograms``, ``Models/DeepSupervision.py``,
summarised in the project's design notes; no code is copied):

* encoder: 5 levels of 2 x (3x3 conv - BN - ReLU) with 64, 128, 256, 512, 1024 filters
  (``base`` scales them), 2x2 max pooling between levels;
* decoder stage (four of them): squeeze-and-excitation channel attention (Hu et al. 2018) on the
  skip features and on the deep features; the deep features are upsampled (bilinear, 2x),
  convolved to the skip's width (3x3 conv - BN - ReLU) and *added* to the attended skip; then
  2 x (3x3 conv - BN - ReLU) and dropout 0.5;
* six side branches: encoder levels 2-4 ("attend to boundaries") and decoder stages 1-3
  ("attend to regions"), each a 1x1 conv to one channel, upsampled (bilinear) to the input size;
* fusion: the last decoder stage's features and the six side maps are concatenated and a
  learnable 1x1 conv produces the output (contribution 2).

The released model has a single Keras output, but its ``composite_loss`` closes over the six
side tensors and supervises them (commit 7109b32): the encoder sides against the mask's boundary
band, the decoder sides against the mask (:class:`mammorepro.losses.DeepSupervisionLoss`).
Difference from the released code, on purpose: side branches end in logits (no BN + ReLU after
the 1x1 conv), so that a side's loss sees a probability after the sigmoid, as the output's does.

``forward`` returns a dict: ``out`` (the prediction: the fusion, or a 1x1 head on the last
decoder features when ``fusion=False``) and ``sides`` (the six side logits, empty when
``deep_supervision=False``). ``deep_supervision=False`` gives the plain baseline of the
ablation; ``fusion=False`` keeps the supervised side branches but predicts from the head.
"""

from __future__ import annotations

ENCODER_SIDES = 3  # the first three of the six side outputs come from the encoder (levels 2-4)

import torch
import torch.nn.functional as F
from torch import nn

from mammorepro.models.unet import conv_block


class SqueezeExcitation(nn.Module):
    """Channel attention: global average pool -> FC (C/r) -> ReLU -> FC -> sigmoid -> rescale."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(4, channels // reduction)
        self.fc = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.fc(x.mean(dim=(2, 3)))
        return x * w[:, :, None, None]


class DecoderStage(nn.Module):
    """SE(skip) + conv(upsample(SE(deep))), then two convs and dropout."""

    def __init__(self, width: int, dropout: float):
        super().__init__()
        self.skip_se = SqueezeExcitation(width)
        self.deep_se = SqueezeExcitation(2 * width)
        self.reduce = nn.Sequential(nn.Conv2d(2 * width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.block = conv_block(width, width)
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()

    def forward(self, skip: torch.Tensor, deep: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(self.deep_se(deep), size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.dropout(self.block(self.skip_se(skip) + self.reduce(up)))


class DSUNet(nn.Module):
    """DS U-Net. Input height and width must be multiples of 16."""

    def __init__(
        self,
        in_channels: int = 1,
        classes: int = 1,
        base: int = 64,
        dropout: float = 0.5,
        deep_supervision: bool = True,
        fusion: bool = True,
    ):
        super().__init__()
        if fusion and not deep_supervision:
            raise ValueError("fusion needs the side outputs: set deep_supervision=True")
        widths = [base * 2**i for i in range(5)]
        self.deep_supervision, self.fusion = deep_supervision, fusion
        self.encoder = nn.ModuleList(conv_block(cin, w) for cin, w in zip([in_channels] + widths[:-1], widths))
        self.decoder = nn.ModuleList(DecoderStage(w, dropout) for w in reversed(widths[:-1]))
        if deep_supervision:
            # encoder levels 2-4 and decoder stages 1-3
            self.side_encoder = nn.ModuleList(nn.Conv2d(w, classes, 1) for w in widths[1:4])
            self.side_decoder = nn.ModuleList(nn.Conv2d(w, classes, 1) for w in reversed(widths[1:4]))
        if fusion:
            self.fuse = nn.Conv2d(widths[0] + 6 * classes, classes, 1)
        else:
            self.head = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x: torch.Tensor) -> dict:
        size = x.shape[-2:]
        feats = []
        for i, block in enumerate(self.encoder):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            feats.append(x)
        decoded = []
        for stage, skip in zip(self.decoder, reversed(feats[:-1])):
            x = stage(skip, x)
            decoded.append(x)
        if not self.deep_supervision:
            return {"out": self.head(x), "sides": []}

        def full(t: torch.Tensor) -> torch.Tensor:
            return F.interpolate(t, size=size, mode="bilinear", align_corners=False)

        sides = [full(conv(f)) for conv, f in zip(self.side_encoder, feats[1:4])]
        sides += [full(conv(f)) for conv, f in zip(self.side_decoder, decoded[:3])]
        out = self.fuse(torch.cat([x] + sides, dim=1)) if self.fusion else self.head(x)
        return {"out": out, "sides": sides}
