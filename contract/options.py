"""Every option of an estimate, declared once: name, type, default, choices, limits, help, and where it shows.

`python -m inference estimate` and `addon/batch.py` both build their argparse from `ESTIMATE_OPTIONS`
(`add_arguments`), so they accept the same options with the same defaults; the add-on's worker turns the
chosen values back into that command line (`command_line`); the Blender panel's properties are derived from
the options marked `panel` (addon/option_properties.py). Scene options (how a result becomes a scene) are
declared here too, for batch.py and the panel. Adding an option is one entry here plus the code that uses it.

Values are checked where they come in (`parse_value` for text, `check_value` for the panel's numbers), before
any work starts, with messages that name the command-line flag.
"""
from __future__ import annotations

import argparse
import math
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from .errors import UserError
from .worker_protocol import CHECKPOINT_ENV, SMPL_ENV

PANEL, ADVANCED = "panel", "advanced"  # where the sidebar shows an option: its main panel or Advanced


@dataclass(frozen=True)
class Option:
    """One option. `kind` is bool, int, float or str; a bool is a flag that flips `default` (`--no-<name>` when
    the default is True). `minimum` and `maximum` are inclusive. `syntax` checks a str value's form (raises
    UserError). `env` names an environment variable that supplies the default. `panel` says where the Blender
    sidebar shows it (None: only on the command line, or composed from several panel fields)."""

    name: str
    kind: type
    default: Any
    help: str
    label: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    syntax: Callable[[str], None] | None = None
    env: str | None = None
    panel: str | None = None

    @property
    def flag(self) -> str:
        stem = self.name.replace("_", "-")
        return f"--no-{stem}" if self.kind is bool and self.default else f"--{stem}"

    def current_default(self, environ: Mapping[str, str] | None = None) -> Any:
        """The default, from the environment variable where the option has one (and it is set)."""
        environ = os.environ if environ is None else environ
        return (environ.get(self.env) or self.default) if self.env else self.default


def _numbers(text: str, count: int, what: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) != count or not all(math.isfinite(v) for v in values):
        raise UserError(what)
    return values


def check_bbox(text: str) -> None:
    """`X,Y,W,H`: four finite pixel numbers, width and height positive."""
    message = f"--bbox must be X,Y,W,H in pixels with positive width and height, got {text!r}"
    values = _numbers(text, 4, message)
    if values[2] <= 0 or values[3] <= 0:
        raise UserError(message)


def check_frame_range(text: str) -> None:
    """`START:END` source frames, END exclusive; either end may be left out (`10:`, `:50`)."""
    match = re.fullmatch(r"\s*(\d*)\s*:\s*(\d*)\s*", text)
    if not match:
        raise UserError(f"--frame-range must look like START:END (e.g. 0:120), got {text!r}")
    if match.group(2) and int(match.group(2)) <= int(match.group(1) or 0):
        raise UserError(f"--frame-range {text!r} is empty: END must be greater than START")


_FLOOR_ANGLE = r"\s*(pitch|roll)\s*=\s*[-+]?(\d+\.?\d*|\.\d+)\s*"


def check_floor(text: str) -> None:
    """`auto`, `level`, or `pitch=P[,roll=R]` in degrees (inference.grounding.floor.parse_floor_hint reads it)."""
    if text.strip().lower() not in ("auto", "level") and \
            not re.fullmatch(f"{_FLOOR_ANGLE}(,{_FLOOR_ANGLE})?", text.lower()):
        raise UserError(f"--floor {text!r} is not understood: use auto, level, or pitch=DEG[,roll=DEG] (the "
                        "camera's downward pitch and roll in degrees), e.g. --floor pitch=15")


def check_person(text: str) -> None:
    """`all`, `most-visible`, or track ids like `0,2`."""
    if text not in ("all", "most-visible") and not re.fullmatch(r"\d+(,\d+)*", text.replace(" ", "")):
        raise UserError(f"--person {text!r}: use all, most-visible or track ids like 0,2")


ESTIMATE_OPTIONS: tuple[Option, ...] = (
    Option("checkpoint", str, None, env=CHECKPOINT_ENV,
           help=f"PARE .ckpt or SPIN/EFT/DSR checkpoint (default: ${CHECKPOINT_ENV}; without one, the bundled "
                "keypoint backend fits the body to BlazePose landmarks)"),
    Option("smpl", str, None, env=SMPL_ENV,
           help=f"SMPL model file (.pkl or .npz) or its folder (default: ${SMPL_ENV}; without one, the bundled "
                "license-free stand-in body)"),
    Option("bbox", str, None, syntax=check_bbox, label="Box", panel=ADVANCED,
           help="one person's box X,Y,W,H in pixels, used in every frame (default: people are found by the "
                "bundled detector)"),
    Option("detect", bool, True, label="Detect People", panel=ADVANCED,
           help="without --bbox: take the whole frame as one centred person instead of detecting"),
    Option("person", str, "all", syntax=check_person,
           help="which tracked people to keep: all, most-visible, or ids like 0,2"),
    Option("refine", bool, False, label="Refine with Landmarks", panel=PANEL,
           help="with a checkpoint: fit PARE's estimate to BlazePose landmarks (reprojection before/after goes "
                "into the result meta)"),
    Option("smooth", bool, True, label="Smooth Motion", panel=PANEL,
           help="keep the raw per-frame estimate instead of smoothing videos over time"),
    Option("smooth_min_cutoff", float, 0.004, minimum=0.0, label="Min Cutoff", panel=ADVANCED,
           help="PARE's one-euro filter minimum cutoff, per frame (lower = smoother, more lag)"),
    Option("smooth_beta", float, 1.0, minimum=0.0, label="Beta", panel=ADVANCED,
           help="PARE's one-euro filter speed coefficient (higher = less lag on fast motion)"),
    Option("device", str, "auto", choices=("auto", "cpu", "cuda"),
           help="where the network runs: auto takes the GPU when there is one"),
    Option("batch_size", int, 8, minimum=1, maximum=1024, label="Batch Size", panel=ADVANCED,
           help="person crops per network batch"),
    Option("precision", str, "fp32", choices=("fp32", "bf16", "fp16"), label="Precision", panel=ADVANCED,
           help="fp32 reproduces the official outputs; bf16 is faster on CPUs with AVX-512 BF16 or AMX (slower "
                "elsewhere); fp16 needs a GPU"),
    Option("focal_length", float, None, minimum=1.0, maximum=1e6, label="Focal Length (px)", panel=ADVANCED,
           help="camera focal length in pixels (default: the image diagonal, a normal lens)"),
    Option("frame_range", str, None, syntax=check_frame_range,
           help="START:END source frames, END exclusive (default: every frame)"),
    Option("stride", int, 1, minimum=1, maximum=100000, label="Stride", panel=PANEL, help="use every N-th frame"),
    Option("floor", str, "auto", syntax=check_floor, label="Floor", panel=ADVANCED,
           help="auto: the floor from the people's feet; level: the camera is level; pitch=P[,roll=R]: the "
                "camera looks down P degrees, its horizon turned clockwise by R"),
    Option("foot_lock", str, "auto", choices=("auto", "off"), label="Foot Lock", panel=ADVANCED,
           help="auto: keep planted feet still (the unlocked motion is kept too, as a second action); off: "
                "the unlocked motion only"),
    Option("camera_motion", str, "auto", choices=("auto", "static"), label="Camera Motion", panel=ADVANCED,
           help="auto: estimate a panning or handheld camera's rotation from the background (a still camera "
                "stays exactly still); static: the camera did not move"),
)

SCENE_OPTIONS: tuple[Option, ...] = (
    Option("frame_start", int, 1, minimum=-1048574, maximum=1048574, label="Start Frame", panel=ADVANCED,
           help="scene frame of source frame 0"),
    Option("pose_correctives", bool, True, label="Pose Correctives", panel=ADVANCED,
           help="leave out SMPL's 207 pose-corrective shape keys (a lighter, less exact mesh)"),
)

OPTIONS: dict[str, Option] = {option.name: option for option in ESTIMATE_OPTIONS + SCENE_OPTIONS}


def check_value(option: Option, value: Any) -> Any:
    """`value` if it is allowed for `option`, else UserError naming the flag. None is allowed where the
    default is None (the option is then left out)."""
    if value is None and option.default is None:
        return None
    if option.kind is bool:
        return bool(value)
    if option.choices and value not in option.choices:
        raise UserError(f"{option.flag} must be one of {', '.join(option.choices)}, not {value!r}")
    if option.kind in (int, float):
        if not math.isfinite(value):
            raise UserError(f"{option.flag} must be a finite number, got {value}")
        if (option.minimum is not None and value < option.minimum) or \
                (option.maximum is not None and value > option.maximum):
            raise UserError(f"{option.flag} must be {_limits(option)}, got {value}")
    if option.syntax is not None:
        option.syntax(value)
    return value


def _limits(option: Option) -> str:
    low = f"at least {option.minimum:g}" if option.minimum is not None else ""
    high = f"at most {option.maximum:g}" if option.maximum is not None else ""
    return " and ".join(part for part in (low, high) if part)


def parse_value(option: Option, text: str) -> Any:
    """A command-line value -> the checked value (UserError when it is not one)."""
    if option.kind in (int, float):
        try:
            value = option.kind(text)
        except ValueError:
            raise UserError(f"{option.flag} takes {'a whole number' if option.kind is int else 'a number'}, "
                            f"got {text!r}") from None
        return check_value(option, value)
    return check_value(option, text)


class CommandLineParser(argparse.ArgumentParser):
    """argparse that raises UserError for a bad command line instead of printing its usage and exiting, so a
    caller reports it like any other user error: one line (or a JSON error event), exit status 2."""

    def error(self, message: str) -> None:
        raise UserError(f"{message} (see {self.prog} --help)")


def _argparse_type(option: Option) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        return parse_value(option, text)  # its UserError passes through argparse to the caller
    convert.__name__ = option.kind.__name__
    return convert


def add_arguments(parser: argparse.ArgumentParser, options: Iterable[Option]) -> None:
    """One argparse argument per option, with its default (from the environment where it has one)."""
    for option in options:
        if option.kind is bool:
            action = "store_false" if option.default else "store_true"
            parser.add_argument(option.flag, dest=option.name, action=action, help=option.help)
            continue
        default = option.current_default()
        shown = f" (default: {default})" if default is not None and not option.env else ""
        parser.add_argument(option.flag, dest=option.name, default=default, type=_argparse_type(option),
                            choices=option.choices or None, help=option.help + shown,
                            metavar=option.name.upper() if not option.choices else None)


def values_of(namespace: argparse.Namespace, options: Iterable[Option]) -> dict[str, Any]:
    """The options' values from parsed arguments, by option name."""
    return {option.name: getattr(namespace, option.name) for option in options}


def checked_values(values: Mapping[str, Any], options: Sequence[Option] = ESTIMATE_OPTIONS) -> dict[str, Any]:
    """Every option of `options`: the given value checked (unknown names are a programming error), or its
    default. Empty strings count as not given."""
    unknown = set(values) - {option.name for option in options}
    if unknown:
        raise KeyError(f"not options: {', '.join(sorted(unknown))}")
    given = {name: value for name, value in values.items() if value is not None and value != ""}
    return {option.name: check_value(option, given[option.name]) if option.name in given else option.default
            for option in options}


def command_line(values: Mapping[str, Any], options: Sequence[Option] = ESTIMATE_OPTIONS) -> list[str]:
    """The command-line arguments that give `values` (checked): each option whose value differs from its
    default, so the command line says what was chosen and nothing else."""
    arguments: list[str] = []
    checked = checked_values(values, options)
    for option in options:
        value = checked[option.name]
        if value == option.default:
            continue
        arguments += [option.flag] if option.kind is bool else \
            [option.flag, repr(value) if option.kind is float else str(value)]
    return arguments
