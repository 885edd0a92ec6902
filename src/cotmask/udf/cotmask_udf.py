"""openEO entry points of the cloud-mask UDFs (udf/cotmask_udf.py and udf/cotmask_udf_distilled.py).

In the generated UDF the ``_MODELS`` table at the end of the file holds the ONNX models themselves
(xz-compressed, base85), so the UDF needs no download and no archive. onnxruntime runs them where
the backend has it, else the numpy engine (``core/onnx_numpy.py``) runs the same graph.
"""

import base64
import lzma
from functools import lru_cache

import xarray as xr

from ..core.bands import OUTPUT_BANDS  # udf_build: drop
from ..core.cube import cube_outputs  # udf_build: drop
from ..core.model import Model  # udf_build: drop

_MODELS: dict = {}  # udf_build: drop (the generated file defines the table at its end)


def apply_datacube(cube: xr.DataArray, context: dict) -> xr.DataArray:
    """openEO entry point: bands cot, cot_std, cloud_class and ood for a Sentinel-2 cube (context keys: the header)."""
    return cube_outputs(cube, context, _get_model)


def apply_metadata(metadata, context: dict):
    """openEO entry point: the output band labels."""
    return metadata.rename_labels(dimension="bands", target=list(OUTPUT_BANDS))


@lru_cache(maxsize=8)
def _get_model(level: str, kind: str, engine: "str | None" = None) -> "Model":
    key = f"{level}/{kind}"
    if key not in _MODELS:
        raise ValueError(
            f"this UDF carries the models {sorted(_MODELS)}; {key} is not among them: choose another "
            "context 'model' / 'level', or run udf/cotmask_udf.py, which carries all of them"
        )
    return Model(lzma.decompress(base64.b85decode(_MODELS[key])), engine=engine)
