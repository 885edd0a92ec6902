"""Compact copies of the ensemble models for the UDF and the process graphs (float16 weights).

    python -m cotmask.training.fp16     # rewrites models/*_ensemble_fp16.onnx (needs the ``onnx`` package)

A published UDP must stay well below 1 MiB, and the float32 ensembles are 0.5 MB each. The compact
copy stores the weight matrices as float16 and casts them to float32 inside the graph (a ``Cast``
node that onnxruntime and the numpy engine fold once at load); biases, normalisation and all
computation stay float32. The model card reports what this costs (``training/evaluate.py``).
"""

import hashlib
import json

import numpy as np

from ..core.bands import LEVELS
from ..core.shipped import compact_path, model_path, write_checksums


def to_fp16(onnx_bytes: bytes) -> bytes:
    """The model with every weight matrix (initializers ``W*``) stored as float16 plus a Cast node."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load_from_string(onnx_bytes)
    inits, casts = [], []
    for t in model.graph.initializer:
        if t.name.startswith("W"):
            inits.append(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name + "_fp16"))
            casts.append(helper.make_node("Cast", [t.name + "_fp16"], [t.name], to=TensorProto.FLOAT))
        else:
            inits.append(t)
    del model.graph.initializer[:]
    model.graph.initializer.extend(inits)
    nodes = casts + list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    props = {p.key: p.value for p in model.metadata_props}
    props["weights"] = json.dumps("float16 weight matrices, cast to float32 at load; computation in float32")
    props["derived_from"] = json.dumps(
        {
            "file": model_path(json.loads(props["level"]), json.loads(props["kind"])).name,
            "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        }
    )
    del model.metadata_props[:]
    helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def main() -> None:
    """Write the compact copy of each ensemble."""
    for level in LEVELS:
        out = compact_path(level)
        out.write_bytes(to_fp16(model_path(level, "ensemble").read_bytes()))
        print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
    print(f"recorded {write_checksums(names=[compact_path(level).name for level in LEVELS])}")


if __name__ == "__main__":
    main()
