"""Temporal smoothing of one person's per-frame estimates: rotations, root translation and shape.

The filter is the one-euro filter (Casiez, Roussel & Vogel, CHI 2012): an exponential low-pass whose cutoff
rises with the signal's speed, so a still body stops jittering while a moving one keeps up. Per step, with
`elapsed` the time since the previous sample:

    alpha(fc) = r / (1 + r), r = 2 pi fc elapsed        (the discrete first-order low-pass)
    speed    <- speed + alpha(d_cutoff) (delta / elapsed - speed)
    estimate <- estimate + alpha(min_cutoff + beta |speed|) delta,   delta = sample - previous estimate

Time base and units. PARE's demo runs this filter with t = the sample's position in the clip (1 per frame),
so its defaults min_cutoff = 0.004 and d_cutoff = 1.0 are in cycles per *frame* (0.004 is 0.12 Hz at 30 fps,
a time constant of 1 / (2 pi 0.004) = 40 frames at rest) and beta multiplies a speed in units per frame.
Here the time is the actual frame index, which keeps that meaning and also makes a clip run with a stride
or with missing frames smooth the same way in seconds. Every quantity filtered here is dimensionless per
frame: radians for rotations, the tangent of the viewing angle and the log of the depth for the translation,
so one set of numbers means the same thing for all of them (metres would tie beta to the scene scale).

Rotations stay rotations. PARE filters the nine matrix entries independently, which leaves the rotation
group (the result is no longer orthonormal). Here each joint's rotation is a unit quaternion and every step
is taken on the group: delta = log(sample * estimate^-1) is the rotation vector (radians, parent frame) that
carries the estimate to the new sample, and the estimate moves by exp(alpha delta). The log always takes the
short way (w >= 0), so the double cover q ~ -q never causes a flip near 180 degrees, and the cutoff uses the
length of the angular velocity, which does not depend on the axes chosen. For small steps this is the same
filter as PARE's: a rotation by a small angle changes the matrix entries by about that many radians.

Lag. In the steady state of a constant speed w (units per frame) the causal filter trails by
D = w / (2 pi fc) with fc >= min_cutoff + beta w, which gives D <= sqrt(w / (2 pi beta)) and D < 1 / (2 pi
beta): with beta = 1 at most 0.16 rad (9 degrees) however fast, and e.g. 0.05 rad/frame lags by 1.3 frames.
`zero_lag=True`, the default (allowed offline: all frames are estimated before smoothing), averages the
causal pass with the same filter run backwards in time (geodesic midpoint for rotations). Their lags cancel
on steady motion (measured lag 0.00 frames on ramps and sines, where the causal pass lags 0.5-7.5 frames),
a sine keeps 85-98 % of its amplitude, and the two passes' noise partly averages out. On moving joints the
causal pass's lag costs more than its jitter removal saves (the error to the true motion can grow), which
the zero-lag pass does not: see tests/test_smoothing.py for the measured numbers. `zero_lag=False` is the
causal filter PARE's demo uses (with the element-wise matrix filter replaced as above).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from contract.options import OPTIONS

from .models.rotation import axis_angle_to_rotmat, rotmat_to_axis_angle


@dataclass(frozen=True)
class OneEuroParams:
    """One-euro settings; the defaults (PARE's demo ones, cycles per frame, see the module docstring) are the
    --smooth-min-cutoff and --smooth-beta defaults of contract.options.

    min_cutoff: cutoff at rest; lower removes more jitter from still poses, at the price of lag on slow moves.
    beta: how fast the cutoff rises with speed; higher follows fast moves with less lag, but lets more noise
        through, since noise also looks like speed.
    d_cutoff: cutoff of the speed estimate itself.
    """

    min_cutoff: float = OPTIONS["smooth_min_cutoff"].default
    beta: float = OPTIONS["smooth_beta"].default
    d_cutoff: float = 1.0


@dataclass(frozen=True)
class Space:
    """Where a filtered signal lives: how to step from an estimate toward a sample and to move by a step.

    difference(sample, estimate) -> tangent step (..., d) that carries the estimate onto the sample;
    retract(estimate, step) -> the estimate moved by the step. `isotropic`: the cutoff follows the length
    of the speed vector (one cutoff per rotation) instead of each component's speed.
    """

    difference: Callable[[np.ndarray, np.ndarray], np.ndarray]
    retract: Callable[[np.ndarray, np.ndarray], np.ndarray]
    isotropic: bool


def smoothing_factor(cutoff: np.ndarray | float, elapsed: float) -> np.ndarray:
    """Weight of the new sample in a first-order low-pass of `cutoff` cycles per frame after `elapsed` frames."""
    r = 2.0 * np.pi * np.asarray(cutoff, dtype=np.float64) * elapsed
    return r / (1.0 + r)


class OneEuroFilter:
    """Causal, streaming one-euro filter over samples (..., d) in a `Space` (EUCLIDEAN by default).

    Call it with each new sample in time order (time in frames); it returns the filtered sample. The first
    sample passes unchanged, with the speed taken as zero, as in PARE's demo.
    """

    def __init__(self, params: OneEuroParams = OneEuroParams(), space: Space | None = None):
        self.params = params
        self.space = space if space is not None else EUCLIDEAN
        self._estimate: np.ndarray | None = None
        self._speed: np.ndarray | float = 0.0
        self._time = 0.0

    def __call__(self, time: float, sample: np.ndarray) -> np.ndarray:
        sample = np.asarray(sample, dtype=np.float64)
        if self._estimate is None:
            self._estimate, self._time = sample.copy(), time
            return sample.copy()
        elapsed = time - self._time
        if not elapsed > 0:
            raise ValueError(f"samples must come in increasing time order, got {time} after {self._time}")
        delta = self.space.difference(sample, self._estimate)
        self._speed = self._speed + smoothing_factor(self.params.d_cutoff, elapsed) * (delta / elapsed - self._speed)
        if self.space.isotropic:
            speed = np.linalg.norm(self._speed, axis=-1, keepdims=True)
        else:
            speed = np.abs(self._speed)
        gain = smoothing_factor(self.params.min_cutoff + self.params.beta * speed, elapsed)
        self._estimate, self._time = self.space.retract(self._estimate, gain * delta), time
        return self._estimate.copy()


# ---- unit quaternions (w, x, y, z), numpy float64, any leading shape ----

def _hamilton_table() -> np.ndarray:
    """(4, 4, 4) table T with (a * b)_k = sum_ij T[k, i, j] a_i b_j, from i*i = j*j = k*k = ijk = -1."""
    table = np.zeros((4, 4, 4))
    units = {(0, 0): (0, 1), (1, 1): (0, -1), (2, 2): (0, -1), (3, 3): (0, -1),  # (i, j): (index of e_i e_j, sign)
             (1, 2): (3, 1), (2, 3): (1, 1), (3, 1): (2, 1), (2, 1): (3, -1), (3, 2): (1, -1), (1, 3): (2, -1)}
    for i in range(4):
        units[(0, i)], units[(i, 0)] = (i, 1), (i, 1)
    for (i, j), (k, sign) in units.items():
        table[k, i, j] = sign
    return table


_HAMILTON = _hamilton_table()


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a * b of (..., 4) quaternions (w, x, y, z): the rotation b followed by a."""
    return np.einsum("kij,...i,...j->...k", _HAMILTON, a, b)


def _quat_inverse(q: np.ndarray) -> np.ndarray:
    return np.concatenate([q[..., :1], -q[..., 1:]], axis=-1)


def _quat_exp(rotvec: np.ndarray) -> np.ndarray:
    """Rotation vectors (..., 3) (radians) -> unit quaternions (..., 4)."""
    angle = np.linalg.norm(rotvec, axis=-1, keepdims=True)
    # sin(angle / 2) / angle = sinc(angle / 2pi) / 2 with numpy's sinc(x) = sin(pi x) / (pi x): exact at 0.
    return np.concatenate([np.cos(angle / 2.0), rotvec * (np.sinc(angle / (2.0 * np.pi)) / 2.0)], axis=-1)


def _quat_log(q: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) -> rotation vectors (..., 3) of angle <= pi (the short way, q ~ -q)."""
    q = np.where(q[..., :1] < 0.0, -q, q)
    sin_half = np.linalg.norm(q[..., 1:], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(sin_half, q[..., :1])
    # angle / sin_half tends to 2 / w = 2 as sin_half -> 0 (w -> 1).
    scale = np.divide(angle, sin_half, out=np.full_like(angle, 2.0), where=sin_half > 0.0)
    return q[..., 1:] * scale


def _rotation_step(sample: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    return _quat_log(_quat_mul(sample, _quat_inverse(estimate)))


def _rotate_by(estimate: np.ndarray, step: np.ndarray) -> np.ndarray:
    moved = _quat_mul(_quat_exp(step), estimate)
    return moved / np.linalg.norm(moved, axis=-1, keepdims=True)


EUCLIDEAN = Space(difference=np.subtract, retract=np.add, isotropic=False)
UNIT_QUATERNIONS = Space(difference=_rotation_step, retract=_rotate_by, isotropic=True)


# ---- whole-track smoothing ----

RESTART_AFTER_MISSING = 3
"""A gap of more than this many missing samples (in units of the clip's frame step) restarts the filter:
the person may have moved anywhere meanwhile, and a stale estimate would drag the first frames back."""


def _segments(frames: np.ndarray, restart_after_missing: int) -> list[slice]:
    """(n,) strictly increasing frame indices -> slices of runs without a long gap."""
    if frames.ndim != 1 or np.any(np.diff(frames) <= 0):
        raise ValueError("frames must be a 1-D array of strictly increasing frame indices")
    steps = np.diff(frames)
    if steps.size == 0:
        return [slice(0, frames.size)] if frames.size else []
    cuts = np.flatnonzero(steps > (restart_after_missing + 1) * steps.min()) + 1
    bounds = [0, *cuts.tolist(), frames.size]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def _filter_pass(samples: np.ndarray, times: np.ndarray, params: OneEuroParams, space: Space) -> np.ndarray:
    one_euro = OneEuroFilter(params, space)
    return np.stack([one_euro(float(t), s) for t, s in zip(times, samples)])


def _smooth(samples: np.ndarray, frames: np.ndarray, params: OneEuroParams, space: Space, zero_lag: bool,
            restart_after_missing: int) -> np.ndarray:
    """(n, ...) samples at (n,) frames -> (n, ...) filtered, segment by segment, optionally both ways."""
    frames = np.asarray(frames, dtype=np.float64)
    if samples.shape[0] != frames.shape[0]:
        raise ValueError(f"{samples.shape[0]} samples but {frames.shape[0]} frame indices")
    out = samples.copy()
    for part in _segments(frames, restart_after_missing):
        forward = _filter_pass(samples[part], frames[part], params, space)
        if zero_lag:
            backward = _filter_pass(samples[part][::-1], -frames[part][::-1], params, space)[::-1]
            forward = space.retract(forward, 0.5 * space.difference(backward, forward))  # midpoint
        out[part] = forward
    return out


def smooth_rotations(rotmats: np.ndarray, frames: np.ndarray,
                     min_cutoff: float = OneEuroParams.min_cutoff, beta: float = OneEuroParams.beta,
                     d_cutoff: float = OneEuroParams.d_cutoff, zero_lag: bool = True,
                     restart_after_missing: int = RESTART_AFTER_MISSING) -> np.ndarray:
    """(n, J, 3, 3) rotation matrices of one track at (n,) frame indices -> (n, J, 3, 3) smoothed rotations.

    Each joint is filtered on the rotation group (see the module docstring), so the output is orthonormal
    with determinant +1 to float precision; dtype follows the input. The input is never modified.
    """
    rotmats = np.asarray(rotmats)
    rotvecs = rotmat_to_axis_angle(torch.from_numpy(rotmats.astype(np.float64))).numpy()
    quats = _smooth(_quat_exp(rotvecs), frames, OneEuroParams(min_cutoff, beta, d_cutoff), UNIT_QUATERNIONS,
                    zero_lag, restart_after_missing)
    smoothed = axis_angle_to_rotmat(torch.from_numpy(_quat_log(quats))).numpy()
    return smoothed.astype(rotmats.dtype, copy=False)


MIN_DEPTH = 1e-6
"""Depths are clamped to this before their log; a body at or behind the camera is a failed estimate anyway."""


def smooth_translation(cam_t: np.ndarray, frames: np.ndarray,
                       min_cutoff: float = OneEuroParams.min_cutoff, beta: float = OneEuroParams.beta,
                       d_cutoff: float = OneEuroParams.d_cutoff, zero_lag: bool = True,
                       restart_after_missing: int = RESTART_AFTER_MISSING) -> np.ndarray:
    """(n, 3) root translations (x, y, z; camera frame, z forward) at (n,) frames -> (n, 3) smoothed.

    The depth z comes from the apparent body size and is several times noisier than x and y, whose
    image position (x/z, y/z) comes from the box centre and is precise. Filtering x, y, z in metres would mix
    the two: depth noise would shake x and y (x = z * x/z), and a shared cutoff would let depth noise lift the
    lateral cutoff. So the filter runs per component on (x/z, y/z, log z): the body stays on its image
    position, relative depth noise is treated alike near and far, and each component gets its own cutoff.
    """
    cam_t = np.asarray(cam_t, dtype=np.float64)
    depth = np.maximum(cam_t[:, 2:3], MIN_DEPTH)
    view = np.concatenate([cam_t[:, :2] / depth, np.log(depth)], axis=-1)
    view = _smooth(view, frames, OneEuroParams(min_cutoff, beta, d_cutoff), EUCLIDEAN, zero_lag,
                   restart_after_missing)
    depth = np.exp(view[:, 2:3])
    return np.concatenate([view[:, :2] * depth, depth], axis=-1)


def constant_shape(betas: np.ndarray) -> np.ndarray:
    """(n, B) per-frame shape coefficients of one track -> (n, B) with every row the per-coefficient median.

    One person has one body: frame-to-frame changes of the betas are estimation noise (and make the mesh
    breathe). The median ignores the frames where the estimate failed, which a mean would not.
    """
    betas = np.asarray(betas)
    return np.broadcast_to(np.median(betas, axis=0), betas.shape).astype(betas.dtype, copy=True)
