"""Bone maps: which bone of a target armature plays which SMPL joint (no bpy, no numpy).

A map is a dict {SMPL joint name: target bone name}. Presets cover the common rigs: `rigify` (the generated
rig's FK controls, so the animator's IK/FK snapping still works), `mixamo`, `ue5` (the UE5 mannequin) and
`smpl`; `auto` tries the presets, then guesses from bone names and the hierarchy. A map can be saved to and
loaded from JSON. Names match with or without a namespace prefix ("mixamorig:Hips", "mixamorig1:Hips" and
"Hips" all match "Hips"), since FBX exports add or rename that prefix.

A required joint the target cannot play is an error naming the limb, never a silent gap: a rig missing its
forearm would otherwise retarget with a frozen arm. Optional joints (collars, neck, feet, hands, some spine
joints) may be left out; the mapped bones still follow the source's world directions.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Mapping

from ...contract.errors import UserError
from ...contract.skeleton import JOINT_NAMES

BoneMap = dict[str, str]
"""{SMPL joint name: target bone name}"""

MAP_FORMAT, MAP_VERSION = "pare-body-bone-map", 1

# What an animator calls each SMPL joint's bone (the bone that starts at that joint).
LIMB_NAMES: dict[str, str] = {
    "pelvis": "hips", "spine1": "lower spine", "spine2": "middle spine", "spine3": "chest", "neck": "neck",
    "head": "head", **{f"{side}_{joint}": f"{side} {limb}" for side in ("left", "right") for joint, limb in (
        ("hip", "thigh"), ("knee", "shin"), ("ankle", "foot"), ("foot", "toes"), ("collar", "collarbone"),
        ("shoulder", "upper arm"), ("elbow", "forearm"), ("wrist", "hand"), ("hand", "fingers"))},
}
REQUIRED: tuple[str, ...] = ("pelvis", "head", *(f"{side}_{joint}" for side in ("left", "right") for joint in (
    "hip", "knee", "ankle", "shoulder", "elbow", "wrist")))
SPINE = ("spine1", "spine2", "spine3")  # at least one of them is required: the trunk


def _sided(left: str, right: str, pairs: tuple[tuple[str, str], ...]) -> BoneMap:
    """Both sides of `pairs` (SMPL joint without side, bone name with `{}` for the side marker)."""
    out = {}
    for joint, bone in pairs:
        out[f"left_{joint}"], out[f"right_{joint}"] = bone.format(left), bone.format(right)
    return out


PRESETS: dict[str, BoneMap] = {
    "smpl": {name: name for name in JOINT_NAMES},
    # Rigify's spine: torso carries the whole body about its pivot (the hips' FK controls spine_fk and
    # spine_fk.001 hang below it and swing the hips), spine_fk.002 and .003 bend the chest above it.
    "rigify": {"pelvis": "torso", "spine2": "spine_fk.002", "spine3": "spine_fk.003",
               "neck": "neck", "head": "head",
               **_sided(".L", ".R", (("hip", "thigh_fk{}"), ("knee", "shin_fk{}"), ("ankle", "foot_fk{}"),
                                     ("foot", "toe_fk{}"), ("collar", "shoulder{}"),
                                     ("shoulder", "upper_arm_fk{}"), ("elbow", "forearm_fk{}"),
                                     ("wrist", "hand_fk{}")))},
    "mixamo": {"pelvis": "Hips", "spine1": "Spine", "spine2": "Spine1", "spine3": "Spine2", "neck": "Neck",
               "head": "Head",
               **_sided("Left", "Right", (("hip", "{}UpLeg"), ("knee", "{}Leg"), ("ankle", "{}Foot"),
                                          ("foot", "{}ToeBase"), ("collar", "{}Shoulder"), ("shoulder", "{}Arm"),
                                          ("elbow", "{}ForeArm"), ("wrist", "{}Hand")))},
    "ue5": {"pelvis": "pelvis", "spine1": "spine_01", "spine2": "spine_03", "spine3": "spine_05",
            "neck": "neck_01", "head": "head",
            **_sided("l", "r", (("hip", "thigh_{}"), ("knee", "calf_{}"), ("ankle", "foot_{}"), ("foot", "ball_{}"),
                                ("collar", "clavicle_{}"), ("shoulder", "upperarm_{}"), ("elbow", "lowerarm_{}"),
                                ("wrist", "hand_{}")))},
}
PRESET_NAMES = ("auto", *PRESETS)


def bare_name(bone: str) -> str:
    """A bone name without its namespace prefix: "mixamorig:LeftArm" -> "LeftArm"."""
    return bone.rsplit(":", 1)[-1]


def missing_joints(bone_map: Mapping[str, str]) -> list[str]:
    """The required joints (and the trunk) `bone_map` leaves out, in skeleton order."""
    missing = [joint for joint in REQUIRED if joint not in bone_map]
    if not any(joint in bone_map for joint in SPINE):
        missing.append("spine2")
    return sorted(missing, key=JOINT_NAMES.index)


def check_complete(bone_map: Mapping[str, str], rig_name: str, how: str) -> None:
    """UserError naming every limb `bone_map` cannot drive on `rig_name` (`how`: where the map came from)."""
    missing = missing_joints(bone_map)
    if missing:
        limbs = ", ".join(f"{LIMB_NAMES[joint]} ({joint})" for joint in missing)
        raise UserError(f"Cannot map the {limbs} onto '{rig_name}' with {how}: no such bone. Choose another "
                        f"bone map, or edit the map to name the bones that play these limbs.")


def apply_preset(preset: BoneMap, bones: list[str]) -> BoneMap:
    """The entries of `preset` whose bone exists in `bones` (names compared without namespace prefixes),
    with the target's real bone names."""
    by_bare = {}
    for bone in bones:
        by_bare.setdefault(bare_name(bone), bone)
    return {joint: by_bare[name] for joint, name in preset.items() if name in by_bare}


# --- auto: names and hierarchy -------------------------------------------------------------------------------

_SIDE_PATTERNS = (("left", re.compile(r"(^|[^a-z])(left|l)([^a-z]|$)|left")),
                  ("right", re.compile(r"(^|[^a-z])(right|r)([^a-z]|$)|right")))
_HELPER = re.compile(r"^(def|org|mch|ik|ctrl|vis|tweak|twist|roll|ik_)[-_.]|(_ik|ik_target|_ik[.]|pole|twist|"
                     r"roll|tweak|parent|socket|target|end|nub|leaf)")
# (joint without side, keywords any of which names it), tried in order: more specific words first.
_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("elbow", ("forearm", "lowerarm", "lower_arm", "elbow")),
    ("shoulder", ("upperarm", "upper_arm", "uparm", "arm")),
    ("collar", ("clavicle", "collar", "shoulder")),
    ("wrist", ("hand", "wrist")),
    ("hip", ("upleg", "thigh", "upperleg", "upper_leg")),
    ("knee", ("calf", "shin", "lowerleg", "lower_leg", "knee", "leg")),
    ("ankle", ("foot", "ankle")),
    ("foot", ("toe", "ball")),
)


def _side(name: str) -> str | None:
    lowered = re.sub(r"([a-z])([A-Z])", r"\1_\2", bare_name(name)).lower()
    for side, pattern in _SIDE_PATTERNS:
        if pattern.search(lowered):
            return side
    return None


def _words(name: str) -> str:
    return bare_name(name).lower().replace(" ", "_")


def guess_bone_map(bones: list[str], parents: Mapping[str, str | None]) -> BoneMap:
    """A map guessed from bone names and the hierarchy: sided limb words (thigh, calf, upperarm...), the
    pelvis as the topmost bone the thighs hang from, the spine as the chain from there to the neck."""
    depth = {bone: _depth(bone, parents) for bone in bones}
    candidates = sorted((bone for bone in bones if not _HELPER.search(_words(bone))), key=lambda b: depth[b])
    bone_map: BoneMap = {}
    taken: set[str] = set()
    for joint, keywords in _KEYWORDS:
        for side in ("left", "right"):
            for bone in candidates:
                if bone not in taken and _side(bone) == side and any(k in _words(bone) for k in keywords):
                    bone_map[f"{side}_{joint}"] = bone
                    taken.add(bone)
                    break
    for joint, keywords in (("head", ("head",)), ("neck", ("neck",))):
        found = [bone for bone in candidates if bone not in taken and any(k in _words(bone) for k in keywords)]
        if found:
            bone_map[joint] = found[0]
            taken.add(found[0])
    thigh = bone_map.get("left_hip")
    pelvis = _ancestors(thigh, parents)[0] if thigh and _ancestors(thigh, parents) else None
    if pelvis is not None:
        bone_map["pelvis"] = pelvis
        top = bone_map.get("neck") or bone_map.get("head")
        chain = [b for b in reversed(_ancestors(top, parents)) if b != pelvis and pelvis in _ancestors(b, parents)] \
            if top else []
        chain = [b for b in chain if b not in taken]
        for joint, index in zip(SPINE, _spread(len(chain))):
            bone_map[joint] = chain[index]
    return bone_map


def _ancestors(bone: str | None, parents: Mapping[str, str | None]) -> list[str]:
    """Parents of `bone`, nearest first."""
    out = []
    while bone is not None and parents.get(bone) is not None:
        bone = parents[bone]
        out.append(bone)
    return out


def _depth(bone: str, parents: Mapping[str, str | None]) -> int:
    return len(_ancestors(bone, parents))


def _spread(count: int) -> list[int]:
    """Indices of up to three spine bones spread over a chain of `count`: first, middle, last."""
    if count >= 3:
        return [0, count // 2, count - 1]
    return list(range(count))


def check_spec(spec: str) -> None:
    """A preset name or a readable .json map, checked before anything changes. Raises UserError."""
    if spec.lower().endswith(".json"):
        load_bone_map(Path(spec))
    elif spec.lower() not in PRESET_NAMES:
        raise UserError(f"Unknown bone map '{spec}': use {', '.join(PRESET_NAMES)} or a .json map file")


def resolve_bone_map(spec: str, rig_name: str, bones: list[str], parents: Mapping[str, str | None]) -> BoneMap:
    """The map `spec` (a preset name, "auto", or a .json file) for a rig with `bones` ({bone: parent}),
    checked complete and every bone present. Raises UserError."""
    if spec.lower().endswith(".json"):
        bone_map = load_bone_map(Path(spec))
        absent = sorted(set(bone_map.values()) - set(bones))
        if absent:
            raise UserError(f"The bone map {Path(spec).name} names bones '{rig_name}' does not have: "
                            f"{', '.join(absent)}")
        check_complete(bone_map, rig_name, f"the bone map {Path(spec).name}")
        return bone_map
    check_spec(spec)
    name = spec.lower()
    if name != "auto":
        bone_map = apply_preset(PRESETS[name], bones)
        check_complete(bone_map, rig_name, f"the {name} bone map")
        return bone_map
    fitting = [apply_preset(preset, bones) for preset in PRESETS.values()]
    complete = [bone_map for bone_map in fitting if not missing_joints(bone_map)]
    bone_map = max(complete, key=len) if complete else guess_bone_map(bones, parents)
    check_complete(bone_map, rig_name, "the automatic bone map")
    return bone_map


def save_bone_map(bone_map: Mapping[str, str], path: Path) -> None:
    """Write `bone_map` as JSON, in skeleton order, so a hand-edited map can be reused for every take."""
    ordered = {joint: bone_map[joint] for joint in JOINT_NAMES if joint in bone_map}
    text = json.dumps({"format": MAP_FORMAT, "version": MAP_VERSION, "bones": ordered}, indent=2)
    Path(path).write_text(text + "\n", encoding="utf-8")


def load_bone_map(path: Path) -> BoneMap:
    """Read a map written by `save_bone_map` (or by hand). Raises UserError on a missing or malformed file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"Bone map file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"Cannot read the bone map {path}: {error}") from None
    bones = data.get("bones") if isinstance(data, dict) and data.get("format") == MAP_FORMAT else None
    if not isinstance(bones, dict) or not all(isinstance(v, str) and v for v in bones.values()):
        raise UserError(f"{path} is not a bone map: expected {{\"format\": \"{MAP_FORMAT}\", \"version\": 1, "
                        f"\"bones\": {{\"pelvis\": \"Hips\", ...}}}}")
    unknown = sorted(set(bones) - set(JOINT_NAMES))
    if unknown:
        raise UserError(f"The bone map {path} names joints SMPL does not have: {', '.join(unknown)} "
                        f"(joints: {', '.join(JOINT_NAMES)})")
    return dict(bones)
