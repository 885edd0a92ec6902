"""openEO UDF entry points; ``cotmask.udf_build`` appends this after ``core.py`` into the UDF file.

In the package it works on the shipped model files; in the generated UDF the ``_MODELS`` table holds
the ONNX models themselves (zlib-compressed, base64), so the UDF needs no download and no archive.
"""

import base64
import zlib
from functools import lru_cache

import xarray

from .core import OUTPUT_BANDS, Model, cloud_mask_cube  # udf_build: drop

_MODELS: dict = {}  # udf_build: models


@lru_cache(maxsize=4)
def _get_model(level: str, kind: str) -> Model:
    key = f"{level}/{kind}"
    if key not in _MODELS:
        raise ValueError(f"this UDF carries the models {sorted(_MODELS)}; {key} is not among them "
                         "(context 'model' / 'level')")
    return Model(zlib.decompress(base64.b64decode(_MODELS[key])))


def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    """openEO entry point: COT, spread and cloud class (bands cot, cot_std, cloud_class) for a cube.

    Context (all optional): level (L1C/L2A; default: L1C if B10 is present), scale (0.0001; 1 for
    reflectance input), offset (DN offset, 0; -1000 for non-harmonised baseline >= 04.00 data),
    nodata (0), thin_threshold / opaque_threshold (from the model: 0.75 / 1.25), model
    (ensemble/distilled), chunk_size (65536 pixels).
    """
    return cloud_mask_cube(cube, context, _get_model)


def apply_metadata(metadata, context: dict):
    """openEO entry point: the output band labels."""
    return metadata.rename_labels(dimension="bands", target=list(OUTPUT_BANDS))
