"""Write an ``MLP`` ensemble as an ONNX model (needs the ``onnx`` package: ``pip install onnx``).

Graph: float32 reflectance (N, n_bands) -> standardise -> per-member MLP as batched MatMuls
(M, N, .) -> outputs ``cot`` (ensemble mean * 50, clipped at 0, shape (N,)) and ``cot_std``
(population std of members * 50). A distilled model (one member, two outputs: COT/50 and
spread/50) writes the same two outputs from plain 2-D MatMuls (N, .): onnxruntime runs those
faster than the batched form with one member. With an out-of-distribution codebook in the metadata
(``pipeline.fit_codebook``) the graph has a third output ``ood``: the distance of the standardised input to
the nearest centroid divided by ``d99`` (``core.Model.run``), computed by the same engine as the COT, so no
BLAS threads of numpy compete with onnxruntime's (that cost ~2x on 2 cores). Opset 17 and IR version 8
keep older onnxruntime versions on openEO backends able to load it.
"""

import json

import numpy as np

from .mlp import COT_SCALE, MLP

OPSET = 17
IR_VERSION = 8


def to_onnx_bytes(net: MLP, metadata: dict[str, object], distilled: bool = False) -> bytes:
    """Serialise ``net`` with ``metadata`` (values JSON-encoded into ``metadata_props``)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    f32 = lambda a, name: numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)  # noqa: E731
    n_in = net.weights[0].shape[1]
    inits = [
        f32(net.mean, "mean"),
        f32(net.std, "std"),
        f32([COT_SCALE], "scale"),
        f32([0.0], "zero"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "flat"),
    ]
    if not distilled:
        inits.append(numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0"))
    nodes = [
        helper.make_node("Sub", ["reflectance", "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "std"], ["z"]),
    ]
    if not distilled:
        nodes.append(helper.make_node("Unsqueeze", ["z", "axis0"], ["h0"]))
    h = "h0" if not distilled else "z"
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        inits += [f32(w[0] if distilled else w, f"W{i}"), f32(b[0] if distilled else b, f"b{i}")]
        nodes += [
            helper.make_node("MatMul", [h, f"W{i}"], [f"mm{i}"]),
            helper.make_node("Add", [f"mm{i}", f"b{i}"], [f"a{i}"]),
        ]
        h = f"a{i}"
        if i < len(net.weights) - 1:
            nodes.append(helper.make_node("Relu", [h], [f"r{i}"]))
            h = f"r{i}"
    nodes.append(helper.make_node("Mul", [h, "scale"], ["y"]))  # (M, N, n_out) or distilled (N, 2) in COT units
    if distilled:
        nodes += [
            helper.make_node("Split", ["y"], ["m2", "s2"], axis=1),
            helper.make_node("Reshape", ["m2", "flat"], ["m1"]),
            helper.make_node("Reshape", ["s2", "flat"], ["s1"]),
            helper.make_node("Max", ["m1", "zero"], ["cot"]),
            helper.make_node("Max", ["s1", "zero"], ["cot_std"]),
        ]
    else:
        nodes += [
            helper.make_node("ReduceMean", ["y"], ["ym"], axes=[0], keepdims=1),
            helper.make_node("Sub", ["y", "ym"], ["dev"]),
            helper.make_node("Mul", ["dev", "dev"], ["dev2"]),
            helper.make_node("ReduceMean", ["dev2"], ["var"], axes=[0], keepdims=0),
            helper.make_node("Sqrt", ["var"], ["sd"]),
            helper.make_node("Reshape", ["sd", "flat"], ["cot_std"]),
            helper.make_node("Reshape", ["ym", "flat"], ["m1"]),
            helper.make_node("Max", ["m1", "zero"], ["cot"]),
        ]
    outputs = ["cot", "cot_std"]
    book = metadata.get("ood")
    if book:  # distance of z to the nearest codebook centroid / d99: |z|^2 + min_c (|c|^2 - 2 c.z), as one MatMul
        c = np.asarray(book["centroids"], dtype=np.float32)
        inits += [f32((-2 * c).T, "ood_c"), f32((c * c).sum(axis=1), "ood_c2"), f32([book["d99"]], "ood_d99")]
        nodes += [
            helper.make_node("MatMul", ["z", "ood_c"], ["ood_zc"]),
            helper.make_node("Add", ["ood_zc", "ood_c2"], ["ood_s"]),
            helper.make_node("ReduceMin", ["ood_s"], ["ood_min"], axes=[1], keepdims=0),
            helper.make_node("ReduceSumSquare", ["z"], ["ood_zz"], axes=[1], keepdims=0),
            helper.make_node("Add", ["ood_min", "ood_zz"], ["ood_d2"]),
            helper.make_node("Max", ["ood_d2", "zero"], ["ood_d2p"]),
            helper.make_node("Sqrt", ["ood_d2p"], ["ood_d"]),
            helper.make_node("Div", ["ood_d", "ood_d99"], ["ood"]),
        ]
        outputs.append("ood")
    graph = helper.make_graph(
        nodes,
        "cotmask",
        [helper.make_tensor_value_info("reflectance", TensorProto.FLOAT, ["N", n_in])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, ["N"]) for o in outputs],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="cotmask")
    model.ir_version = IR_VERSION
    helper.set_model_props(model, {k: json.dumps(v) for k, v in metadata.items()})
    onnx.checker.check_model(model)
    return model.SerializeToString()


def reference_outputs(net: MLP, x: np.ndarray, distilled: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """What the ONNX graph computes, with the numpy training code in float32 (for parity tests)."""
    if not distilled:
        return net.predict(x, np.float32)
    y = net.forward(x, np.float32)[0] * COT_SCALE
    return np.maximum(y[:, 0], 0.0), np.maximum(y[:, 1], 0.0)
