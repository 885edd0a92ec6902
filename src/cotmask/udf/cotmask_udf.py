"""openEO entry points of the cloud-mask UDFs (udf/cotmask_udf.py and udf/cotmask_udf_distilled.py).

In the generated UDF the ``_MODELS`` table at the end of the file holds the ONNX models themselves
(xz-compressed, base85, each beside the SHA-256 of its ONNX bytes), so the UDF needs no download and no archive.
onnxruntime runs them where the backend has it, else the numpy engine (``core/onnx_numpy.py``) runs the same graph.
"""

import base64
import hashlib
import lzma
from functools import lru_cache

import xarray as xr

from ..core.bands import OUTPUT_BANDS, RULE_BAND  # udf_build: drop
from ..core.cube import cube_outputs  # udf_build: drop
from ..core.model import Model  # udf_build: drop

_MODELS: dict = {}  # udf_build: drop (the generated file defines the table at its end)


def apply_datacube(cube: xr.DataArray, context: dict) -> xr.DataArray:
    """openEO entry point: bands cot, cot_std, cloud_class and ood for a Sentinel-2 cube (context keys: the header)."""
    return cube_outputs(cube, context, _get_model)


def apply_metadata(metadata, context: dict):
    """openEO entry point: the output band labels (with context rule_band also ``rules``)."""
    extra = [RULE_BAND] if (context or {}).get("rule_band") else []
    return metadata.rename_labels(dimension="bands", target=[*OUTPUT_BANDS, *extra])


@lru_cache(maxsize=8)
def _get_model(level: str, kind: str, engine: "str | None" = None) -> "Model":
    key = f"{level}/{kind}"
    if key not in _MODELS:
        raise ValueError(
            f"this UDF carries the models {sorted(_MODELS)}; {key} is not among them: choose another "
            "context 'model' / 'level', or run udf/cotmask_udf.py, which carries all of them"
        )
    return Model(_model_bytes(key), engine=engine, name=f"the UDF's model {key}")


def _model_bytes(key: str) -> bytes:
    """The ONNX bytes of the embedded model ``key``, checked against the SHA-256 embedded beside them."""
    digest, text = _MODELS[key]
    fix = "the UDF file is damaged: take it again from the cotmask repository (udf/) or regenerate it (`cotmask build`)"
    try:
        blob = lzma.decompress(base64.b85decode(text))
    except (ValueError, lzma.LZMAError) as e:
        raise ValueError(f"the UDF's model {key} does not decode ({e}); {fix}") from e
    if hashlib.sha256(blob).hexdigest() != digest:
        raise ValueError(f"the UDF's model {key} fails its SHA-256 check; {fix}")
    return blob
