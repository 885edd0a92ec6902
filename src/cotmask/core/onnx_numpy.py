"""Run a cotmask ONNX model with numpy alone: a minimal protobuf reader and an interpreter for the
few operators the cotmask export writes.

openEO backends do not always have onnxruntime (CDSE's default Python UDF runtime does not), so the
UDF falls back to this engine. It reads the very ONNX bytes onnxruntime would load, so both engines
run the same network. Imports only numpy and the standard library; ``cotmask.udf.build`` inlines it
into the UDF file.
"""

import struct

import numpy as np

#: ONNX TensorProto data types this reader understands.
_DTYPES = {
    1: np.float32,
    2: np.uint8,
    3: np.int8,
    5: np.int16,
    6: np.int32,
    7: np.int64,
    10: np.float16,
    11: np.float64,
}


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _fields(buf: bytes):
    """(field number, wire type, value) of each field of a protobuf message."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        wire = key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            size, i = _varint(buf, i)
            value, i = buf[i : i + size], i + size
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}: not an ONNX model?")
        yield key >> 3, wire, value


def _ints(wire: int, value) -> list[int]:
    """Repeated int64 field (packed or not), two's complement."""
    if wire == 0:
        vals = [value]
    else:
        vals, i = [], 0
        while i < len(value):
            v, i = _varint(value, i)
            vals.append(v)
    return [v - (1 << 64) if v >= 1 << 63 else v for v in vals]


def _tensor(buf: bytes) -> tuple[str, np.ndarray]:
    dims, dtype, name, raw, floats, int64s = [], 1, "", None, [], []
    for f, w, v in _fields(buf):
        if f == 1:
            dims += _ints(w, v)
        elif f == 2:
            dtype = v
        elif f == 8:
            name = v.decode()
        elif f == 9:
            raw = v
        elif f == 4:
            floats += list(struct.unpack(f"<{len(v) // 4}f", v))
        elif f == 7:
            int64s += _ints(w, v)
    if dtype not in _DTYPES:
        raise ValueError(f"ONNX tensor {name!r} has data type {dtype}, which the numpy engine does not read")
    if raw is not None:
        arr = np.frombuffer(raw, dtype=np.dtype(_DTYPES[dtype]).newbyteorder("<")).astype(_DTYPES[dtype])
    else:
        arr = np.asarray(floats if dtype == 1 else int64s, dtype=_DTYPES[dtype])
    return name, arr.reshape(dims)


def _attribute(buf: bytes) -> tuple[str, object]:
    name, value, ints = "", None, []
    for f, w, v in _fields(buf):
        if f == 1:
            name = v.decode()
        elif f == 2:
            value = struct.unpack("<f", v)[0]
        elif f == 3:
            value = _ints(0, v)[0]
        elif f == 4:
            value = v.decode()
        elif f == 8:
            ints += _ints(w, v)
    return name, (ints if value is None else value)


def read_onnx(data: bytes) -> dict:
    """The parts of an ONNX ModelProto that inference needs: ``nodes`` (op, inputs, outputs,
    attributes), ``initializers``, graph ``inputs``/``outputs`` and ``metadata`` (metadata_props)."""
    model = {"nodes": [], "initializers": {}, "inputs": [], "outputs": [], "metadata": {}}
    graph = None
    for f, _, v in _fields(data):
        if f == 7:
            graph = v
        elif f == 14:
            entry = {k: val.decode() for k, _, val in _fields(v) if k in (1, 2)}
            model["metadata"][entry.get(1, "")] = entry.get(2, "")
    if graph is None:
        raise ValueError("not an ONNX model: no graph")
    for f, _, v in _fields(graph):
        if f == 1:
            node = {"inputs": [], "outputs": [], "attrs": {}, "op": ""}
            for nf, _, nv in _fields(v):
                if nf == 1:
                    node["inputs"].append(nv.decode())
                elif nf == 2:
                    node["outputs"].append(nv.decode())
                elif nf == 4:
                    node["op"] = nv.decode()
                elif nf == 5:
                    key, val = _attribute(nv)
                    node["attrs"][key] = val
            model["nodes"].append(node)
        elif f == 5:
            name, arr = _tensor(v)
            model["initializers"][name] = arr
        elif f in (11, 12):
            name = next(val.decode() for k, _, val in _fields(v) if k == 1)
            model["inputs" if f == 11 else "outputs"].append(name)
    model["inputs"] = [n for n in model["inputs"] if n not in model["initializers"]]
    return model


def _split(attrs: dict, n: int, x: np.ndarray, split: np.ndarray | None = None) -> list[np.ndarray]:
    axis = attrs.get("axis", 0)
    sizes = list(split) if split is not None else [x.shape[axis] // n] * n
    return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


def _reduce_mean(attrs: dict, x: np.ndarray, axes: np.ndarray | None = None) -> np.ndarray:
    axes = attrs.get("axes") if axes is None else axes
    return np.mean(
        x,
        axis=None if axes is None else tuple(int(a) for a in axes),
        keepdims=bool(attrs.get("keepdims", 1)),
        dtype=x.dtype,
    )


def _reshape(x: np.ndarray, shape: np.ndarray) -> np.ndarray:
    shape = [x.shape[i] if s == 0 else int(s) for i, s in enumerate(shape)]
    return x.reshape(shape)


#: Operators of the cotmask export (opset 17): name -> f(attributes, *inputs) -> output(s).
OPS = {
    "Add": lambda a, x, y: x + y,
    "Sub": lambda a, x, y: x - y,
    "Mul": lambda a, x, y: x * y,
    "Div": lambda a, x, y: x / y,
    "MatMul": lambda a, x, y: np.matmul(x, y),
    "Relu": lambda a, x: np.maximum(x, np.zeros((), x.dtype)),
    "Sqrt": lambda a, x: np.sqrt(x),
    "Max": lambda a, *xs: np.maximum.reduce(np.broadcast_arrays(*xs)) if len(xs) > 1 else xs[0],
    "Unsqueeze": lambda a, x, axes=None: np.expand_dims(
        x, tuple(int(i) for i in (a.get("axes") if axes is None else axes))
    ),
    "Squeeze": lambda a, x, axes=None: np.squeeze(x, tuple(int(i) for i in (a.get("axes") if axes is None else axes))),
    "Reshape": lambda a, x, shape: _reshape(x, shape),
    "ReduceMean": _reduce_mean,
    "Cast": lambda a, x: x.astype(_DTYPES[a["to"]]),
    "ReduceMin": lambda a, x: np.min(x, axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1))),
    "ReduceSumSquare": lambda a, x: np.sum(x * x, axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1))),
}
_MULTI_OUTPUT = {"Split": _split}


class NumpyGraph:
    """An ONNX model run by numpy: constant subgraphs (e.g. fp16 weights -> float32) are folded once."""

    def __init__(self, onnx_bytes: bytes) -> None:
        model = read_onnx(onnx_bytes)
        self.metadata: dict[str, str] = model["metadata"]
        self.inputs: list[str] = model["inputs"]
        self.outputs: list[str] = model["outputs"]
        values = dict(model["initializers"])
        self.nodes = []
        for node in model["nodes"]:
            if node["op"] not in OPS and node["op"] not in _MULTI_OUTPUT:
                raise ValueError(
                    f"ONNX operator {node['op']} is not supported by the numpy engine; install onnxruntime"
                )
            if all(i in values for i in node["inputs"] if i):
                self._run_node(node, values)  # constant: fold now
            else:
                self.nodes.append(node)
        self.constants = values

    @staticmethod
    def _run_node(node: dict, values: dict) -> None:
        args = [values[i] if i else None for i in node["inputs"]]
        if node["op"] in _MULTI_OUTPUT:
            outs = _MULTI_OUTPUT[node["op"]](node["attrs"], len(node["outputs"]), *args)
        else:
            outs = [OPS[node["op"]](node["attrs"], *args)]
        values.update(zip(node["outputs"], outs))

    def run(self, feeds: dict[str, np.ndarray], block: int = 8192) -> list[np.ndarray]:
        """The graph outputs for ``feeds``, computed in blocks of ``block`` rows (cache-sized temporaries)."""
        name = self.inputs[0]
        x = feeds[name]
        parts = []
        for s in range(0, max(len(x), 1), block):
            values = dict(self.constants)
            values[name] = x[s : s + block]
            for node in self.nodes:
                self._run_node(node, values)
            parts.append([values[o] for o in self.outputs])
        return [np.concatenate([p[k] for p in parts]) for k in range(len(self.outputs))]
