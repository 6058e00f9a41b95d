"""HRNet-W32 backbone as used by PARE: four parallel resolutions fused back to one 480-channel 56x56 map.

Structure (names follow the released checkpoint): a stem of two stride-2 3x3 convs (224 -> 56), `layer1`
of 4 bottlenecks, then stages 2/3/4 with 1/4/3 multi-resolution modules, each adding one branch at half
the resolution of the previous lowest. Branches run 4 basic blocks each and are then fused: every output
resolution receives the sum of all branches, brought to its size by a 1x1 conv + nearest upsampling
(lower resolutions) or by a chain of stride-2 3x3 convs (higher resolutions). Finally branches 2-4 are
bilinearly upsampled to 56x56 and concatenated with branch 1 (32 + 64 + 128 + 256 = 480 channels).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .blocks import BasicBlock, bottleneck_stage, conv_bn

BRANCH_WIDTHS = (32, 64, 128, 256)
MODULES_PER_STAGE = (1, 4, 3)  # stages 2, 3, 4
BLOCKS_PER_BRANCH = 4
STEM_WIDTH = 64
KEYPOINTS = 24  # channels of the unused `final_layer` heatmap conv (kept only so checkpoints load strictly)


def _fuse_path(widths: tuple[int, ...], src: int, dst: int) -> nn.Module:
    """The layers that bring branch `src` to the resolution and width of branch `dst`."""
    if src == dst:
        return nn.Identity()
    if src > dst:
        return nn.Sequential(*conv_bn(widths[src], widths[dst], 1, relu=False),
                             nn.Upsample(scale_factor=2 ** (src - dst), mode="nearest"))
    halvings = [nn.Sequential(*conv_bn(widths[src], widths[src], 3, stride=2))
                for _ in range(dst - src - 1)]
    halvings.append(nn.Sequential(*conv_bn(widths[src], widths[dst], 3, stride=2, relu=False)))
    return nn.Sequential(*halvings)


class MultiResolutionModule(nn.Module):
    """Runs each branch's basic blocks, then fuses all branches into every resolution (sum + ReLU)."""

    def __init__(self, widths: tuple[int, ...]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(*[BasicBlock(w) for _ in range(BLOCKS_PER_BRANCH)]) for w in widths)
        self.fuse_layers = nn.ModuleList(
            nn.ModuleList(_fuse_path(widths, src, dst) for src in range(len(widths)))
            for dst in range(len(widths)))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, xs: list[Tensor]) -> list[Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        fused = []
        for paths in self.fuse_layers:
            total = paths[0](xs[0])
            for path, x in zip(paths[1:], xs[1:]):
                total = total + path(x)
            fused.append(self.relu(total))
        return fused


def _transition(previous: tuple[int, ...], widths: tuple[int, ...]) -> nn.ModuleList:
    """Adapts the previous stage's outputs to the next stage's branches.

    Existing branches get a 3x3 conv only if their width changes; the new branch is a stride-2 3x3 conv of
    the previous lowest-resolution output.
    """
    layers: list[nn.Module] = []
    for i, width in enumerate(widths):
        if i < len(previous):
            same = previous[i] == width
            layers.append(nn.Identity() if same else nn.Sequential(*conv_bn(previous[i], width, 3)))
        else:
            layers.append(nn.Sequential(nn.Sequential(*conv_bn(previous[-1], width, 3, stride=2))))
    return nn.ModuleList(layers)


def _bilinear_upsampling(width: int, doublings: int) -> nn.Sequential:
    """`doublings` x (bilinear x2 with aligned corners, 3x3 conv, BN, ReLU), channel count unchanged."""
    layers: list[nn.Module] = []
    for _ in range(doublings):
        layers.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True))
        layers += conv_bn(width, width, 3)
    return nn.Sequential(*layers)


class HRNetW32(nn.Module):
    """Image (B, 3, 224, 224) -> concatenated multi-resolution features (B, 480, 56, 56)."""

    out_channels = sum(BRANCH_WIDTHS)

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, STEM_WIDTH, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(STEM_WIDTH)
        self.conv2 = nn.Conv2d(STEM_WIDTH, STEM_WIDTH, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(STEM_WIDTH)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = bottleneck_stage(STEM_WIDTH, STEM_WIDTH, 4)
        previous: tuple[int, ...] = (STEM_WIDTH * 4,)
        for stage, modules in enumerate(MODULES_PER_STAGE, start=2):
            widths = BRANCH_WIDTHS[:stage]
            setattr(self, f"transition{stage - 1}", _transition(previous, widths))
            setattr(self, f"stage{stage}",
                    nn.Sequential(*[MultiResolutionModule(widths) for _ in range(modules)]))
            previous = widths
        self.final_layer = nn.Conv2d(BRANCH_WIDTHS[0], KEYPOINTS, 1)
        for branch in range(1, len(BRANCH_WIDTHS)):
            setattr(self, f"upsample_stage_{branch + 1}",
                    _bilinear_upsampling(BRANCH_WIDTHS[branch], branch))

    def forward(self, images: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(images)))
        x = self.relu(self.bn2(self.conv2(x)))
        xs = [self.layer1(x)]
        for transition, stage in ((self.transition1, self.stage2), (self.transition2, self.stage3),
                                  (self.transition3, self.stage4)):
            xs = stage([layer(xs[min(i, len(xs) - 1)]) for i, layer in enumerate(transition)])
        upsampled = [xs[0], self.upsample_stage_2(xs[1]), self.upsample_stage_3(xs[2]),
                     self.upsample_stage_4(xs[3])]
        return torch.cat(upsampled, dim=1)
