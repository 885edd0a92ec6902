"""Add the out-of-distribution codebook to the shipped models without retraining them.

    python training/stamp_ood.py        # rewrites models/cotmask_*.onnx metadata; then python -m cotmask.compact
                                        # and cotmask build (~1 min)

The codebook (``cotmask.pipeline.fit_codebook``) is fitted on the very training inputs each model's metadata
names (generator, n_samples, data_seed), standardised with the model's own normalisation; weights and graph
stay byte for byte. ``training/train.py`` fits the same codebook when it trains.
"""

import json

import numpy as np

from cotmask.model import model_path
from cotmask.pipeline import fit_codebook, level_inputs
from cotmask.synth import generate


def main() -> None:
    """Stamp every shipped model."""
    import onnx
    from onnx import helper

    data: dict = {}
    for level in ("L1C", "L2A"):
        for kind in ("ensemble", "distilled"):
            path = model_path(level, kind)
            model = onnx.load_from_string(path.read_bytes())
            props = {p.key: p.value for p in model.metadata_props}
            recipe, norm = json.loads(props["training"]), json.loads(props["normalisation"])
            key = (recipe["n_samples"], recipe["data_seed"])
            if key not in data:
                data[key] = generate(recipe["n_samples"], seed=recipe["data_seed"])
            x = level_inputs(data[key], level)
            z = (x - np.asarray(norm["mean"])) / np.asarray(norm["std"])
            props["ood"] = json.dumps(fit_codebook(z))
            del model.metadata_props[:]
            helper.set_model_props(model, props)
            path.write_bytes(model.SerializeToString())
            print(f"stamped {path} (d99 {json.loads(props['ood'])['d99']})")


if __name__ == "__main__":
    main()
