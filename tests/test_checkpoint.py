"""Checkpoint reading: every supported layout, architecture detection, strict fit, refusals."""
from __future__ import annotations

import argparse
import logging
import os
import pathlib
import sys
import types

import numpy as np
import pytest
import torch

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from weight_rule import REFERENCE, rule_state_dict, write_lightning_checkpoint  # noqa: E402

from inference.checkpoint import load_model, read_checkpoint, state_mismatch  # noqa: E402
from contract.errors import UnsafeFileError, UserError  # noqa: E402


@pytest.fixture(scope="module")
def pare_hrnet_ckpt(tmp_path_factory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("ckpt") / "pare_checkpoint.ckpt"
    write_lightning_checkpoint(path, "pare_hrnet32_state_dict.tsv")
    return path


@pytest.fixture(scope="module")
def spin_state() -> dict[str, torch.Tensor]:
    return rule_state_dict("hmr_spin_state_dict.tsv")


def _assert_same_state(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor]) -> None:
    assert list(got) == list(want)
    assert all(torch.equal(got[key], want[key]) for key in want)


def _predict(model: torch.nn.Module, golden: str) -> tuple[dict, np.lib.npyio.NpzFile]:
    reference = np.load(REFERENCE / f"{golden}_golden.npz")
    with torch.no_grad():
        return model(torch.from_numpy(reference["input_tensor"])), reference


def test_official_lightning_pare_checkpoint(pare_hrnet_ckpt, caplog):
    with caplog.at_level(logging.INFO, logger="inference.checkpoint"):
        arch, state = read_checkpoint(pare_hrnet_ckpt)
    assert arch == "pare_hrnet32"
    _assert_same_state(state, rule_state_dict("pare_hrnet32_state_dict.tsv"))
    assert len(state) == 1905 and not any(key.startswith(("model.", "smpl.")) for key in state)
    [record] = caplog.records
    message = record.getMessage()
    assert "ignoring 41 entries" in message and "model.smpl (12)" in message and "smpl_native (11)" in message

    arch, model = load_model(pare_hrnet_ckpt)
    assert arch == "pare_hrnet32" and not model.training
    _assert_same_state(model.state_dict(), state)


def test_lightning_pare_resnet50_predicts_the_golden(tmp_path):
    path = tmp_path / "pare_r50.ckpt"
    write_lightning_checkpoint(path, "pare_resnet50_state_dict.tsv")
    arch, model = load_model(path)
    assert arch == "pare_resnet50"
    out, reference = _predict(model, "pare_resnet50")
    for key in ("pred_pose", "pred_shape", "pred_cam"):
        np.testing.assert_allclose(out[key].numpy(), reference[key], atol=1e-5, rtol=0)


@pytest.mark.parametrize("zip_format", [False, True])  # SPIN's 2019 model_checkpoint.pt is the legacy format
def test_spin_checkpoint_predicts_the_golden(tmp_path, spin_state, zip_format):
    path = tmp_path / "model_checkpoint.pt"
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(3))]).state_dict()
    torch.save({"model": spin_state, "optimizer": optimizer, "epoch": 7, "batch_idx": 0, "batch_size": 64,
                "total_step_count": 1000}, path, _use_new_zipfile_serialization=zip_format)
    arch, model = load_model(path)
    assert arch == "hmr_spin"
    out, reference = _predict(model, "hmr_spin")
    for key in ("pred_pose", "pred_shape", "pred_cam"):
        np.testing.assert_allclose(out[key].numpy(), reference[key], atol=1e-5, rtol=0)


def test_dsr_lightning_layout_is_flattened(tmp_path, spin_state):
    head_names = ("fc1", "fc2", "decpose", "decshape", "deccam", "init_pose", "init_shape", "init_cam")
    nested = {f"model.{'head' if key.split('.')[0] in head_names else 'backbone'}.{key}": value
              for key, value in spin_state.items()}
    nested["model.smpl.faces_tensor"] = torch.zeros(13776, 3, dtype=torch.int64)
    path = tmp_path / "dsr.ckpt"
    torch.save({"state_dict": nested, "epoch": 1}, path)
    arch, state = read_checkpoint(path)
    assert arch == "hmr_spin"
    _assert_same_state(state, spin_state)


def test_bare_state_dicts(tmp_path, spin_state):
    path = tmp_path / "bare.pt"
    torch.save(spin_state, path)
    assert read_checkpoint(path)[0] == "hmr_spin"
    pare = rule_state_dict("pare_resnet50_state_dict.tsv")
    torch.save(pare, path)
    arch, state = read_checkpoint(path)
    assert arch == "pare_resnet50"
    _assert_same_state(state, pare)


def test_only_the_leading_model_prefix_is_removed(tmp_path, spin_state):
    state = {f"model.{key}": value for key, value in spin_state.items()}
    state["model.fc1.model.extra"] = torch.ones(1)
    path = tmp_path / "prefixed.ckpt"
    torch.save({"state_dict": state}, path)
    assert "fc1.model.extra" in read_checkpoint(path)[1]


def test_hyper_parameters_of_uninstalled_classes_load(tmp_path, spin_state):
    module = types.ModuleType("yacs_like_not_installed")
    module.CfgNode = type("CfgNode", (dict,), {"__module__": module.__name__})
    cfg = module.CfgNode(MODEL={"BACKBONE": "resnet50"})
    sys.modules[module.__name__] = module
    try:
        path = tmp_path / "with_hparams.ckpt"
        torch.save({"state_dict": {f"model.{k}": v for k, v in spin_state.items()},
                    "hyper_parameters": {"hparams": cfg, "args": argparse.Namespace(lr=1e-4)}}, path)
    finally:
        del sys.modules[module.__name__]
    arch, model = load_model(path)
    assert arch == "hmr_spin" and module.__name__ not in sys.modules


@pytest.mark.parametrize("zip_format", [True, False])
def test_checkpoint_carrying_code_is_refused(tmp_path, spin_state, zip_format):
    class RunsShell:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    marker = tmp_path / "pwned"
    path = tmp_path / "poisoned.ckpt"
    torch.save({"state_dict": {f"model.{k}": v for k, v in spin_state.items()},
                "hyper_parameters": {"cfg": RunsShell()}}, path, _use_new_zipfile_serialization=zip_format)
    with pytest.raises(UnsafeFileError, match="system") as info:
        load_model(path)
    assert not marker.exists()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("change, expected", [
    ("remove", r"1 missing: fc2\.bias"),
    ("add", r"1 unexpected: fc2\.extra"),
    ("reshape", r"1 of another shape: fc2\.bias \(file 5, network 1024\)"),
])
def test_weights_must_fit_the_network_exactly(tmp_path, spin_state, change, expected):
    state = dict(spin_state)
    if change == "remove":
        del state["fc2.bias"]
    elif change == "add":
        state["fc2.extra"] = torch.zeros(1)
    else:
        state["fc2.bias"] = torch.zeros(5)
    path = tmp_path / "changed.pt"
    torch.save({"model": state}, path)
    with pytest.raises(UserError, match=expected) as info:
        load_model(path)
    assert "hmr_spin" in str(info.value)


def test_mismatch_lists_at_most_ten_keys_each():
    expected = {f"k{i}": torch.zeros(1) for i in range(15)}
    message = state_mismatch(expected, {"other": torch.zeros(1)})
    assert message.startswith("15 missing: k0, k1,") and "k9 and 5 more" in message and "k10" not in message
    assert "1 unexpected: other" in message
    assert state_mismatch(expected, dict(expected)) is None


def test_other_checkpoints_are_explained(tmp_path):
    path = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"model.encoder.weight": torch.zeros(2)}}, path)
    with pytest.raises(UserError, match="not a PARE or SPIN/EFT/DSR checkpoint.*pare_checkpoint.ckpt"):
        read_checkpoint(path)
    torch.save({"epoch": 3, "note": "no weights"}, path)
    with pytest.raises(UserError, match="no network weights.*pare_w_3dpw_checkpoint.ckpt"):
        read_checkpoint(path)
    torch.save({"head.pose_mlp.weight": torch.zeros(1), "backbone.blocks.0.weight": torch.zeros(1)}, path)
    with pytest.raises(UserError, match="not a PARE or SPIN/EFT/DSR checkpoint"):
        read_checkpoint(path)


def test_unusable_files_are_user_errors(tmp_path, pare_hrnet_ckpt):
    with pytest.raises(UserError, match="does not exist"):
        read_checkpoint(tmp_path / "missing.ckpt")
    with pytest.raises(UserError, match="is a folder"):
        read_checkpoint(tmp_path)
    empty = tmp_path / "empty.ckpt"
    empty.touch()
    with pytest.raises(UserError, match="empty"):
        read_checkpoint(empty)
    truncated = tmp_path / "truncated.ckpt"
    with pare_hrnet_ckpt.open("rb") as whole:
        truncated.write_bytes(whole.read(1_000_000))
    with pytest.raises(UserError, match="damaged, truncated") as info:
        read_checkpoint(truncated)
    assert not isinstance(info.value, UnsafeFileError) and "\n" not in str(info.value)


@pytest.mark.parametrize("native", [False, True])
def test_bf16_on_a_cpu_without_bfloat16_arithmetic_is_warned_about(pare_hrnet_ckpt, caplog, monkeypatch, native):
    """Where the CPU has no bfloat16 arithmetic PyTorch emulates it, several times slower than fp32 (1.87 against
    0.24 s an image on an AVX2 CPU): a user who picks bf16 for speed is told; the run itself goes ahead."""
    import inference.crop_estimator as crop_estimator

    monkeypatch.setattr(crop_estimator, "native_bf16", lambda: native)
    with caplog.at_level(logging.WARNING, logger="inference.crop_estimator"):
        estimator = crop_estimator.CropEstimator.load(pare_hrnet_ckpt, None, torch.device("cpu"), "bf16")
    assert estimator.precision == "bf16"
    warned = [r for r in caplog.records if "no bfloat16 arithmetic" in r.getMessage()]
    assert len(warned) == (0 if native else 1)
