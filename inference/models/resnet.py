"""ResNet-50 feature extractor (no pooling, no classifier): image (B, 3, 224, 224) -> (B, 2048, 7, 7).

Shared by the ResNet-50 PARE backbone and the SPIN-layout HMR, whose checkpoints name its layers
identically (`conv1`, `bn1`, `layer1`..`layer4`).
"""
from __future__ import annotations

from torch import Tensor, nn

from .blocks import Bottleneck, bottleneck_stage

STEM_WIDTH = 64
STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # (planes, blocks, stride) of layer1..4


class ResNet50(nn.Module):
    """7x7 stride-2 conv + max pool, then four bottleneck stages; output stride 32."""

    out_channels = STAGES[-1][0] * Bottleneck.expansion

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, STEM_WIDTH, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(STEM_WIDTH)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_channels = STEM_WIDTH
        for index, (planes, blocks, stride) in enumerate(STAGES, start=1):
            setattr(self, f"layer{index}", bottleneck_stage(in_channels, planes, blocks, stride))
            in_channels = planes * Bottleneck.expansion

    def forward(self, images: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(images))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))
