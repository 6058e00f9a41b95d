"""Convolution building blocks shared by the HRNet and ResNet backbones and the PARE head.

Layers are returned as flat lists so that wrapping them in `nn.Sequential` reproduces the index-based
parameter names of the released checkpoints (`.0` = conv, `.1` = batch norm, `.2` = ReLU without weights).
"""
from __future__ import annotations

from torch import Tensor, nn


def conv_bn(in_channels: int, out_channels: int, kernel: int, stride: int = 1,
            relu: bool = True) -> list[nn.Module]:
    """Conv (no bias, padding that keeps the size at stride 1) + batch norm, optionally + ReLU."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return layers


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers around an identity shortcut; keeps channels and size (HRNet branches)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carries the stride), 1x1 expand by 4, plus a shortcut (ResNet-50, HRNet layer1).

    The shortcut is a strided 1x1 conv-BN (`downsample`) whenever size or channel count changes.
    """

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        needs_projection = stride != 1 or in_channels != out_channels
        self.downsample = (nn.Sequential(*conv_bn(in_channels, out_channels, 1, stride, relu=False))
                           if needs_projection else nn.Identity())

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.downsample(x))


def bottleneck_stage(in_channels: int, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
    """`blocks` bottlenecks; the first one changes stride / channels, the rest keep planes * 4 channels."""
    layers = [Bottleneck(in_channels, planes, stride)]
    layers += [Bottleneck(planes * Bottleneck.expansion, planes) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)
