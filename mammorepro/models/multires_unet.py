"""MultiResUNet (Ibtehaz & Rahman 2020, Neural Networks 121, sec. 3-4, Figs. 3-5), the model of p2
(Kumar et al., sec. 3.3).

* MultiRes block with ``U`` and ``alpha``: ``W = alpha * U``; three chained 3x3 conv - BN - ReLU
  with ``int(0.167 W)``, ``int(0.333 W)`` and ``int(0.5 W)`` filters (the chain stands in for
  3x3, 5x5 and 7x7 receptive fields), concatenated and batch-normalised, plus a 1x1 conv - BN
  shortcut to the same width; ReLU, then BN;
* Res path of length ``n``: ``n`` times (3x3 conv - BN - ReLU) + (1x1 conv - BN) shortcut,
  added, ReLU, BN; lengths 4, 3, 2, 1 from the top level down;
* encoder U = 32, 64, 128, 256, 512 (``base`` scales them), alpha = 1.67, 2x2 max pooling;
  decoder: 2x2 transposed convolution to ``U`` channels, concatenation with the Res path's
  output, MultiRes block; a 1x1 conv head to logits (the sigmoid is in the loss).

With alpha = 1.67 the parameter count stays slightly below a U-Net of the same ``U`` (sec. 4.2
of Ibtehaz & Rahman); ``tests/test_models.py`` checks it against ours.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_bn(cin: int, cout: int, k: int, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class MultiResBlock(nn.Module):
    def __init__(self, cin: int, u: int, alpha: float = 1.67):
        super().__init__()
        w = alpha * u
        c1, c2, c3 = int(w * 0.167), int(w * 0.333), int(w * 0.5)
        self.out_channels = c1 + c2 + c3
        self.conv1, self.conv2, self.conv3 = conv_bn(cin, c1, 3), conv_bn(c1, c2, 3), conv_bn(c2, c3, 3)
        self.bn_cat = nn.BatchNorm2d(self.out_channels)
        self.shortcut = conv_bn(cin, self.out_channels, 1, relu=False)
        self.bn_out = nn.BatchNorm2d(self.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.conv1(x)
        b = self.conv2(a)
        c = self.conv3(b)
        out = self.bn_cat(torch.cat([a, b, c], dim=1)) + self.shortcut(x)
        return self.bn_out(torch.relu(out))


class ResPath(nn.Module):
    def __init__(self, cin: int, filters: int, length: int):
        super().__init__()
        self.convs = nn.ModuleList(conv_bn(cin if i == 0 else filters, filters, 3) for i in range(length))
        self.shortcuts = nn.ModuleList(conv_bn(cin if i == 0 else filters, filters, 1, relu=False) for i in range(length))
        self.norms = nn.ModuleList(nn.BatchNorm2d(filters) for _ in range(length))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, shortcut, norm in zip(self.convs, self.shortcuts, self.norms):
            x = norm(torch.relu(conv(x) + shortcut(x)))
        return x


class MultiResUNet(nn.Module):
    """MultiResUNet. Input height and width must be multiples of 16."""

    def __init__(self, in_channels: int = 1, classes: int = 1, base: int = 32, alpha: float = 1.67):
        super().__init__()
        us = [base * 2**i for i in range(5)]
        self.encoder = nn.ModuleList()
        self.paths = nn.ModuleList()
        cin = in_channels
        for level, u in enumerate(us):
            block = MultiResBlock(cin, u, alpha)
            self.encoder.append(block)
            cin = block.out_channels
            if level < 4:
                self.paths.append(ResPath(cin, u, 4 - level))
        self.ups = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for u in reversed(us[:-1]):
            self.ups.append(nn.ConvTranspose2d(cin, u, 2, stride=2))
            block = MultiResBlock(2 * u, u, alpha)
            self.decoder.append(block)
            cin = block.out_channels
        self.head = nn.Conv2d(cin, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for level, block in enumerate(self.encoder):
            x = block(x if level == 0 else nn.functional.max_pool2d(x, 2))
            if level < 4:
                skips.append(self.paths[level](x))
        for up, block, skip in zip(self.ups, self.decoder, reversed(skips)):
            x = block(torch.cat([up(x), skip], dim=1))
        return self.head(x)
