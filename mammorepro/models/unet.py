"""The original U-Net (Ronneberger, Fischer & Brox 2015, Fig. 1), with padded convolutions.

The paper uses unpadded 3x3 convolutions and crops the skip connections; like most
re-implementations (and p4 Table 4, which pads) we pad, so the output has the input's size.
Widths double from ``base`` (64 in the paper) at each of ``depth`` downsamplings (4 in the
paper); upsampling is a 2x2 transposed convolution; the head is a 1x1 convolution to
``classes`` logits (no activation: losses take logits).
"""

from __future__ import annotations

import torch
from torch import nn


def conv_block(cin: int, cout: int, batch_norm: bool = True) -> nn.Sequential:
    """Two 3x3 conv (+BN) + ReLU, the unit of every U-Net level."""
    layers: list[nn.Module] = []
    for i in range(2):
        layers.append(nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(cout))
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """Ronneberger U-Net. Input height and width must be multiples of ``2**depth``."""

    def __init__(
        self,
        in_channels: int = 1,
        classes: int = 1,
        base: int = 64,
        depth: int = 4,
        batch_norm: bool = True,
        dropout: float = 0.0,
    ):
        super().__init__()
        widths = [base * 2**i for i in range(depth + 1)]
        self.depth = depth
        self.down = nn.ModuleList()
        cin = in_channels
        for w in widths:
            self.down.append(conv_block(cin, w, batch_norm))
            cin = w
        self.pool = nn.MaxPool2d(2)
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(w * 2, w, 2, stride=2))
            self.dec.append(conv_block(w * 2, w, batch_norm))
        self.head = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < self.depth:
                skips.append(x)
                x = self.pool(x)
        x = self.dropout(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
            x = dec(torch.cat([up(x), skip], dim=1))
        return self.head(x)
