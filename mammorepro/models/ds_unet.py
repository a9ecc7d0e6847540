"""Deeply supervised U-Net (p1: Rajalakshmi & Ramesh, sec. II and Fig. 2).

The paper's text stops after its overview; the architecture follows the authors' released
Keras code (``Ravitha/DSU-Net-for-Mass-Segmentation-in-Mammograms``, summarised in the
project's design notes):

* encoder: 5 levels of 2 x (3x3 conv - BN - ReLU) with 64, 128, 256, 512, 1024 filters
  (``base`` scales them), 2x2 max pooling between levels;
* decoder: bilinear 2x upsampling; squeeze-and-excitation channel attention (Hu et al. 2018)
  on both the skip features and the upsampled deep features before they are concatenated;
  dropout 0.5 on the deepest features;
* six side branches: encoder levels 2-4 ("attend to boundaries") and the first three decoder
  stages ("attend to regions"), each a 1x1 conv to one channel, upsampled to the input size;
* fusion: the six side maps and the final decoder map are concatenated and a learnable 1x1
  conv produces the output (sec. I, contribution 2).

``forward`` returns a dict: ``out`` (the prediction: fused, or the final decoder map when
``fusion=False``), ``final`` and ``sides`` (the six side logits, for deep supervision).
``deep_supervision=False`` and ``fusion=False`` give the same backbone without side outputs:
the plain baseline of the paper's ablation.
"""

from __future__ import annotations

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
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.skip_se = nn.ModuleList(SqueezeExcitation(w) for w in reversed(widths[:-1]))
        self.deep_se = nn.ModuleList(SqueezeExcitation(w) for w in reversed(widths[1:]))
        self.decoder = nn.ModuleList(conv_block(w * 3, w) for w in reversed(widths[:-1]))
        self.head = nn.Conv2d(widths[0], classes, 1)
        if deep_supervision:
            # encoder levels 2-4 and the first three decoder stages
            self.side_encoder = nn.ModuleList(nn.Conv2d(w, classes, 1) for w in widths[1:4])
            self.side_decoder = nn.ModuleList(nn.Conv2d(w, classes, 1) for w in reversed(widths[1:4]))
        if fusion:
            self.fuse = nn.Conv2d(7 * classes, classes, 1)

    def forward(self, x: torch.Tensor) -> dict:
        size = x.shape[-2:]
        feats = []
        for i, block in enumerate(self.encoder):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            feats.append(x)
        x = self.dropout(feats[-1])
        decoded = []
        for skip_se, deep_se, block, skip in zip(self.skip_se, self.deep_se, self.decoder, reversed(feats[:-1])):
            up = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([skip_se(skip), deep_se(up)], dim=1))
            decoded.append(x)
        final = self.head(x)
        if not self.deep_supervision:
            return {"out": final, "final": final, "sides": []}

        def full(t: torch.Tensor) -> torch.Tensor:
            return F.interpolate(t, size=size, mode="bilinear", align_corners=False)

        sides = [full(conv(f)) for conv, f in zip(self.side_encoder, feats[1:4])]
        sides += [full(conv(f)) for conv, f in zip(self.side_decoder, decoded[:3])]
        out = self.fuse(torch.cat(sides + [final], dim=1)) if self.fusion else final
        return {"out": out, "final": final, "sides": sides}
