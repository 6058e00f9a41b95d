"""The stand-in body as one smooth implicit surface: limbs, torso, head, hands and feet blended together.

Parts are sphere-swept cones along the bones and ellipsoids for muscle masses, joined with smooth minima so
joints have fillets instead of creases; the torso is a loft of superellipse sections. Sizes are the neutral
adult of `proportions` (stature 1.70 m), with girths set toward the ANSUR II means (rounded averages of the
male and female values: chest about 1.0 m, waist 0.85 m, buttocks 1.0 m, upper thigh 0.58 m, calf 0.37 m,
biceps 0.30 m, forearm 0.27 m, wrist 0.165 m, head 0.56 m) but kept a little slimmer in the trunk and
thighs, that survey being of soldiers; hand 0.184 x 0.085 m and foot 0.26 x 0.097 m as surveyed.
assets/body/README.md lists the girths measured on the result.
"""
from __future__ import annotations

import numpy as np

from .proportions import FLOOR_Y, JOINT_NAMES, rest_joints
from .sdf import Part, combine, ellipsoid, loft, part, round_cone, rotation_from_axes

_J = {name: position for name, position in zip(JOINT_NAMES, rest_joints())}


def _cone(a, b, ra: float, rb: float, k: float, squash=(1.0, 1.0), up=(0.0, 1.0, 0.0)) -> Part:
    a, b = np.asarray(a, float), np.asarray(b, float)
    reach = max(ra, rb) * max(squash)
    return part(round_cone(a, b, ra, rb, squash, up), np.minimum(a, b) - reach, np.maximum(a, b) + reach, k)


def _blob(center, radii, k: float, mode: str = "add") -> Part:
    c, r = np.asarray(center, float), np.asarray(radii, float)
    return part(ellipsoid(c, r), c - r, c + r, k, mode)


def _oriented_blob(center, radii, rotation: np.ndarray, k: float) -> Part:
    c, reach = np.asarray(center, float), float(np.max(radii))
    return part(ellipsoid(c, radii, rotation), c - reach, c + reach, k)


def _foot_axes(side: float, toe_out_degrees: float = 10.0) -> np.ndarray:
    """Axes of a foot whose long axis (third column) turns outward from straight ahead by toe_out."""
    a = np.radians(toe_out_degrees)
    return rotation_from_axes((np.cos(a), 0.0, -side * np.sin(a)), (0.0, 1.0, 0.0))


def _mirror(point, side: float) -> np.ndarray:
    x, y, z = point
    return np.array([side * x, y, z])


def _torso() -> list[Part]:
    # height, half width, front z, back z, superellipse exponent
    keys = np.array([
        (-0.390, 0.050, 0.020, -0.060, 2.0),
        (-0.350, 0.135, 0.058, -0.112, 2.2),
        (-0.300, 0.155, 0.074, -0.120, 2.3),
        (-0.230, 0.155, 0.088, -0.114, 2.3),
        (-0.150, 0.150, 0.099, -0.100, 2.3),
        (-0.090, 0.142, 0.102, -0.092, 2.3),
        (-0.020, 0.147, 0.106, -0.096, 2.35),
        (0.040, 0.160, 0.111, -0.102, 2.4),
        (0.100, 0.172, 0.108, -0.106, 2.45),
        (0.160, 0.168, 0.094, -0.101, 2.5),
        (0.210, 0.140, 0.068, -0.085, 2.4),
        (0.250, 0.092, 0.040, -0.068, 2.2),
        (0.285, 0.060, 0.025, -0.055, 2.0),
    ])
    body = loft(keys[:, 0], keys[:, 1], keys[:, 2], keys[:, 3], keys[:, 4], rounding=0.03)
    low, high = (-0.17, -0.41, -0.14), (0.17, 0.29, 0.12)
    parts = [part(body, low, high, 0.0),
             _blob((0.0, -0.125, 0.035), (0.115, 0.12, 0.060), 0.04)]  # belly
    for side in (1.0, -1.0):
        parts += [
            _blob(_mirror((0.068, -0.300, -0.066), side), (0.074, 0.080, 0.064), 0.035),  # buttock
            _blob(_mirror((0.064, 0.080, 0.080), side), (0.064, 0.046, 0.025), 0.04),  # chest muscle
            _blob(_mirror((0.080, 0.130, -0.064), side), (0.065, 0.075, 0.030), 0.05),  # shoulder blade
        ]
    return parts


def _neck_and_head() -> list[Part]:
    parts = [_cone((0.0, 0.235, -0.020), (0.0, 0.375, 0.000), 0.054, 0.048, 0.03)]
    for side in (1.0, -1.0):
        parts.append(_cone(_mirror((0.030, 0.285, -0.035), side), _mirror((0.165, 0.228, -0.030), side),
                           0.032, 0.028, 0.05, squash=(0.7, 1.25)))  # trapezius
    parts += [
        _blob((0.0, 0.425, 0.008), (0.074, 0.088, 0.097), 0.03),  # cranium
        _cone((0.0, 0.385, 0.040), (0.0, 0.318, 0.058), 0.055, 0.027, 0.025),  # cheeks to chin
        _blob((0.0, 0.345, 0.062), (0.032, 0.028, 0.028), 0.025),  # mouth
        _blob((0.0, 0.300, 0.080), (0.021, 0.016, 0.016), 0.012),  # chin
        _blob((0.0, 0.432, 0.084), (0.050, 0.012, 0.018), 0.02),  # brow
        _cone((0.0, 0.412, 0.086), (0.0, 0.366, 0.122), 0.009, 0.010, 0.012),  # nose
        _blob((0.0, 0.365, 0.119), (0.009, 0.009, 0.009), 0.008),  # tip of the nose
        _blob((0.0, 0.333, 0.092), (0.021, 0.011, 0.010), 0.012),  # lips
    ]
    for side in (1.0, -1.0):
        parts += [
            _cone(_mirror((0.058, 0.362, -0.010), side), _mirror((0.020, 0.300, 0.070), side), 0.009, 0.012,
                  0.025),  # jaw line
            _blob(_mirror((0.046, 0.388, 0.066), side), (0.018, 0.012, 0.013), 0.02),  # cheekbone
            _blob(_mirror((0.010, 0.362, 0.106), side), (0.008, 0.007, 0.007), 0.012),  # wing of the nose
            _blob(_mirror((0.077, 0.395, -0.008), side), (0.011, 0.029, 0.017), 0.006),  # ear
        ]
    for side in (1.0, -1.0):
        parts.append(_blob(_mirror((0.034, 0.414, 0.117), side), (0.017, 0.011, 0.012), 0.015, "cut"))
    for side in (1.0, -1.0):
        parts.append(_blob(_mirror((0.032, 0.413, 0.093), side), (0.012, 0.010, 0.011), 0.008))  # eye
    return parts


def _leg(side: float) -> list[Part]:
    m = lambda point: _mirror(point, side)  # noqa: E731 (a local shorthand for the many points below)
    parts = [
        _cone(m((0.093, -0.300, 0.000)), m((0.101, -0.500, 0.012)), 0.090, 0.076, 0.045),  # thigh
        _cone(m((0.101, -0.500, 0.012)), m((0.104, -0.660, 0.012)), 0.076, 0.057, 0.0),
        _blob(m((0.105, -0.700, 0.010)), (0.054, 0.060, 0.056), 0.02),  # knee
        _blob(m((0.105, -0.685, 0.052)), (0.028, 0.032, 0.018), 0.015),  # kneecap
        _cone(m((0.105, -0.720, 0.000)), m((0.097, -0.820, -0.010)), 0.052, 0.056, 0.02),  # calf
        _cone(m((0.097, -0.820, -0.010)), m((0.085, -1.040, -0.030)), 0.056, 0.034, 0.0),
        _blob(m((0.095, -0.830, -0.030)), (0.045, 0.090, 0.045), 0.03),  # calf muscle
        _cone(m((0.085, -1.040, -0.030)), m((0.082, -1.100, -0.030)), 0.034, 0.033, 0.0),
        _blob(m((0.082, -1.105, -0.030)), (0.036, 0.028, 0.030), 0.025),  # ankle
        _cone(m((0.082, -1.110, -0.020)), m((0.108, -1.150, 0.100)), 0.034, 0.024, 0.03),  # instep
        _oriented_blob(m((0.098, -1.163, 0.048)), (0.046, 0.028, 0.112), _foot_axes(side), 0.03),  # sole
        _blob(m((0.080, -1.158, -0.050)), (0.032, 0.032, 0.034), 0.03),  # heel
        _oriented_blob(m((0.118, -1.172, 0.148)), (0.040, 0.016, 0.033), _foot_axes(side), 0.02),  # toes
    ]
    low, high = m((0.02, FLOOR_Y - 0.05, -0.12)), m((0.18, FLOOR_Y + 0.01, 0.22))
    sole = lambda points: FLOOR_Y - points[:, 1]  # noqa: E731
    parts.append(Part(sole, np.minimum(low, high), np.maximum(low, high), 0.008, "clip"))
    return parts


# Left hand, palm down: the fingers' centre line, and per finger (name, base offset in z from it, base x,
# length, base radius, tip offset in z); the thumb's last segment and its tip.
HAND_CENTER = np.array([0.0, 0.193, -0.040])
FINGERS = (("index", 0.027, 0.795, 0.074, 0.0095, 0.035), ("middle", 0.008, 0.799, 0.084, 0.0098, 0.009),
            ("ring", -0.011, 0.796, 0.078, 0.0092, -0.016), ("pinky", -0.028, 0.789, 0.062, 0.0082, -0.038))

_THUMB_END = (np.array([0.760, 0.178, 0.025]), np.array([0.798, 0.170, 0.046]))
_THUMB_TIP_RADIUS = 0.0085
THUMB_TIP = _THUMB_END[1] + _THUMB_TIP_RADIUS * (_THUMB_END[1] - _THUMB_END[0]) / np.linalg.norm(
    _THUMB_END[1] - _THUMB_END[0])


def _arm(side: float) -> list[Part]:
    m = lambda point: _mirror(point, side)  # noqa: E731
    shoulder, elbow, wrist = (_J[f"left_{name}"] for name in ("shoulder", "elbow", "wrist"))
    parts = [
        _blob(m(shoulder + (0.020, 0.004, 0.0)), (0.070, 0.050, 0.052), 0.03),  # deltoid
        _cone(m(shoulder + (0.03, 0, 0)), m(elbow - (0.03, 0, 0)), 0.050, 0.040, 0.025),  # upper arm
        _blob(m((0.310, 0.206, -0.014)), (0.085, 0.042, 0.044), 0.04),  # biceps
        _blob(m(elbow), (0.042, 0.036, 0.038), 0.03),  # elbow
        _cone(m(elbow + (0.02, 0, 0)), m((0.530, 0.201, -0.035)), 0.041, 0.042, 0.02, squash=(1.0, 1.1)),
        _cone(m((0.530, 0.201, -0.035)), m(wrist), 0.042, 0.026, 0.0, squash=(0.85, 1.15)),  # forearm
        _cone(m(wrist + (0.015, 0, 0)), m((0.797, 0.192, -0.040)), 0.030, 0.030, 0.012,
              squash=(0.5, 1.45)),  # palm
        _blob(m((0.735, 0.186, -0.005)), (0.030, 0.014, 0.020), 0.01),  # ball of the thumb
        _cone(m((0.718, 0.190, -0.008)), m((0.760, 0.178, 0.025)), 0.014, 0.011, 0.008),  # thumb
        _cone(m(_THUMB_END[0]), m(_THUMB_END[1]), 0.011, _THUMB_TIP_RADIUS, 0.0),
    ]
    hand_y, hand_z = HAND_CENTER[1:]
    for _, base_dz, base_x, length, radius, tip_dz in FINGERS:
        base = np.array([base_x, hand_y, hand_z + base_dz])
        middle = np.array([base_x + 0.55 * length, hand_y - 0.004, hand_z + (base_dz + tip_dz) / 2])
        tip = np.array([base_x + length, hand_y - 0.012, hand_z + tip_dz])
        parts += [_cone(m(base), m(middle), radius, 0.9 * radius, 0.006),
                  _cone(m(middle), m(tip), 0.9 * radius, 0.8 * radius, 0.0)]
    return parts


def body_parts() -> list[Part]:
    """Every part of the neutral stand-in, in blending order."""
    parts = _torso() + _neck_and_head()
    for side in (1.0, -1.0):
        parts += _leg(side) + _arm(side)
    return parts


def body_field(points: np.ndarray, parts: list[Part] | None = None) -> np.ndarray:
    """points (N, 3) -> signed distance to the stand-in's surface (negative inside), approximate."""
    value = np.full(len(points), 1.0)
    for piece in parts or body_parts():
        value = combine(value, piece, points)
    return value


BOUNDS = (np.array([-0.93, FLOOR_Y - 0.03, -0.16]), np.array([0.93, 0.54, 0.24]))


def sample_grid(spacing: float, parts: list[Part] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The field on a regular grid over BOUNDS: (values (nx, ny, nz) float64, origin (3,))."""
    low, high = BOUNDS
    counts = np.ceil((high - low) / spacing).astype(int) + 1
    axes = [low[i] + spacing * np.arange(counts[i]) for i in range(3)]
    values = np.full(tuple(counts), 1.0)
    for piece in parts or body_parts():
        lo = np.clip(np.floor((piece.low - low) / spacing).astype(int), 0, counts - 1)
        hi = np.clip(np.ceil((piece.high - low) / spacing).astype(int) + 1, 0, counts)
        block = values[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        grid = np.stack(np.meshgrid(*(axes[i][lo[i]:hi[i]] for i in range(3)), indexing="ij"), axis=-1)
        flat = combine(block.reshape(-1).copy(), piece, grid.reshape(-1, 3))
        values[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = flat.reshape(block.shape)
    return values, low
