"""SMPL body parts and their colours, shared by the mesh's part colours and the segmentation overlay.

Part j is the region that joint j moves: a vertex belongs to the joint with its strongest skinning weight.
PARE's 25-channel part segmentation uses channel 0 for the background and channel j + 1 for part j, so the
overlay draws channel j + 1 in PART_COLORS[j].
"""
from __future__ import annotations

import colorsys

import numpy as np

from ..contract.skeleton import NUM_JOINTS

GOLDEN_RATIO_CONJUGATE = 0.6180339887498949


def _palette(count: int) -> np.ndarray:
    """(count, 3) sRGB colours in [0, 1]: hues spread by the golden ratio so neighbouring parts (and left /
    right twins, which sit next to each other in SMPL's joint order) differ clearly; saturation and value
    alternate to separate the few hues that still come close."""
    colors = [colorsys.hsv_to_rgb((index * GOLDEN_RATIO_CONJUGATE) % 1.0, (0.85, 0.6)[index % 2],
                                  (0.95, 0.8)[(index // 2) % 2]) for index in range(count)]
    return np.asarray(colors, dtype=np.float64)


PART_COLORS = _palette(NUM_JOINTS)  # (24, 3) sRGB, part j = SMPL joint j


def vertex_parts(weights: np.ndarray) -> np.ndarray:
    """weights (V, 24) skinning weights -> (V,) part index per vertex (its most influential joint)."""
    return np.argmax(np.asarray(weights), axis=1)


def vertex_colors(weights: np.ndarray) -> np.ndarray:
    """weights (V, 24) -> (V, 4) opaque sRGB colour of each vertex's part."""
    colors = PART_COLORS[vertex_parts(weights)]
    return np.concatenate([colors, np.ones((len(colors), 1))], axis=1)
