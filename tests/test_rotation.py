"""Rotation conversions: 6D layout, Rodrigues, and matrix -> axis-angle at every angle incl. 0 and pi."""
import math

import pytest
import torch

from inference.models.rotation import axis_angle_to_rotmat, rot6d_to_rotmat, rotmat_to_axis_angle

EDGE_ANGLES = (0.0, 1e-9, 1e-6, 1e-4, 1e-3, 2e-3, 0.5, math.pi / 2, 3.0, math.pi - 1e-2,
               math.pi - 1e-4, math.pi - 1e-6)


def _axis_angles(dtype: torch.dtype) -> torch.Tensor:
    """Random axes with random angles in [0, pi) plus every edge angle on random axes, (N, 3)."""
    g = torch.Generator().manual_seed(1)
    axes = torch.nn.functional.normalize(torch.randn(2000 + len(EDGE_ANGLES), 3, generator=g,
                                                     dtype=torch.float64), dim=-1)
    angles = torch.rand(2000, generator=g, dtype=torch.float64) * math.pi
    angles = torch.cat((angles, torch.tensor(EDGE_ANGLES, dtype=torch.float64)))
    return (axes * angles[:, None]).to(dtype)


def _exp_map(r: torch.Tensor) -> torch.Tensor:
    """Independent reference: matrix exponential of the cross-product matrix of r (float64)."""
    x, y, z = r.double().unbind(-1)
    zero = torch.zeros_like(x)
    k = torch.stack((zero, -z, y, z, zero, -x, -y, x, zero), dim=-1).reshape(*r.shape[:-1], 3, 3)
    return torch.linalg.matrix_exp(k)


def test_axis_angle_to_rotmat_matches_matrix_exponential():
    r = _axis_angles(torch.float64)
    torch.testing.assert_close(axis_angle_to_rotmat(r), _exp_map(r), atol=1e-12, rtol=0)


@pytest.mark.parametrize(("dtype", "tol"), [(torch.float64, 1e-12), (torch.float32, 1e-6)])
def test_rotmat_to_axis_angle_inverts_rodrigues(dtype, tol):
    r = _axis_angles(dtype)
    matrices = _exp_map(r).to(dtype)
    recovered = rotmat_to_axis_angle(matrices)
    assert recovered.dtype == dtype
    # Angles are below pi here, so the axis-angle vector is unique.
    assert (recovered - r).abs().max() <= tol


def test_rotmat_to_axis_angle_at_exactly_pi_gives_a_valid_half_turn():
    axes = torch.nn.functional.normalize(torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1],
                                                       [1, 2, -3], [-1, 0.5, 0.25]],
                                                      dtype=torch.float64), dim=-1)
    recovered = rotmat_to_axis_angle(_exp_map(axes * math.pi))
    torch.testing.assert_close(recovered.norm(dim=-1), torch.full((5,), math.pi, dtype=torch.float64))
    # r and -r are the same half turn; either is correct.
    assert torch.minimum((recovered - axes * math.pi).norm(dim=-1),
                         (recovered + axes * math.pi).norm(dim=-1)).max() < 1e-9


def test_rotmat_to_axis_angle_keeps_batch_shape():
    r = _axis_angles(torch.float32)[:24].reshape(2, 12, 3)
    assert rotmat_to_axis_angle(axis_angle_to_rotmat(r)).shape == (2, 12, 3)


def test_rot6d_layout_is_row_major_3x2_of_the_first_two_columns():
    """The first two matrix columns, read row by row, are the 6D code of a rotation."""
    matrices = _exp_map(_axis_angles(torch.float64)).float()
    six_d = matrices[..., :2].reshape(-1, 6)
    torch.testing.assert_close(rot6d_to_rotmat(six_d), matrices, atol=1e-6, rtol=0)


def test_rot6d_gram_schmidt_on_arbitrary_inputs():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(4, 24, 6, generator=g)
    matrices = rot6d_to_rotmat(x)
    assert matrices.shape == (4, 24, 3, 3)
    eye = torch.eye(3).expand_as(matrices)
    torch.testing.assert_close(matrices.transpose(-1, -2) @ matrices, eye, atol=1e-6, rtol=0)
    torch.testing.assert_close(torch.linalg.det(matrices), torch.ones(4, 24), atol=1e-6, rtol=0)
    a = x.reshape(4, 24, 3, 2)
    # b1 is the normalised first column; b2 lies in the plane of both columns, on a2's side.
    torch.testing.assert_close(matrices[..., 0], a[..., 0] / a[..., 0].norm(dim=-1, keepdim=True))
    in_plane = torch.linalg.cross(a[..., 0], a[..., 1], dim=-1)
    assert (matrices[..., 1] * in_plane).sum(-1).abs().max() < 1e-4
    assert ((matrices[..., 1] * a[..., 1]).sum(-1) > 0).all()
