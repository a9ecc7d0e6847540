"""ImageNet input statistics for a grey mammogram: the preprocessing an ImageNet-pretrained
encoder was trained with (segmentation_models' ``preprocess_input``, p5's Keras pipeline).

:class:`ImageNetInput` wraps a model built with three input channels: a grey image in [0, 1]
is repeated to R, G and B and each channel is standardised by ImageNet's mean and standard
deviation before the wrapped model sees it, so the pretrained first convolution keeps its own
RGB filters (instead of their sum on one grey channel)."""

from __future__ import annotations

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageNetInput(nn.Module):
    """``model((x.repeat(3) - mean) / std)`` for ``x`` of shape (N, 1, H, W) in [0, 1]."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def encoder(self) -> nn.Module:
        return self.model.encoder

    def forward(self, x: torch.Tensor):
        if x.shape[1] != 1:
            raise ValueError(f"ImageNetInput takes grey images (N, 1, H, W), got {tuple(x.shape)}")
        return self.model((x.expand(-1, 3, -1, -1) - self.mean.to(x.dtype)) / self.std.to(x.dtype))
