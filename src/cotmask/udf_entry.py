"""openEO UDF entry points; ``cotmask.udf_build`` appends this after ``core.py`` into the UDF file.

In the generated UDF the ``_MODELS`` table at the end of the file holds the ONNX models themselves
(xz-compressed, base85), so the UDF needs no download and no archive. onnxruntime runs them where
the backend has it, else the numpy engine (``onnx_numpy``) runs the same graph.
"""

import base64
import lzma
from functools import lru_cache

import xarray

from .core import OUTPUT_BANDS, Model, cloud_mask_cube  # udf_build: drop

_MODELS: dict = {}  # udf_build: drop (the generated file defines the table at its end)


@lru_cache(maxsize=8)
def _get_model(level: str, kind: str, engine: str | None = None) -> Model:
    key = f"{level}/{kind}"
    if key not in _MODELS:
        raise ValueError(f"this UDF carries the models {sorted(_MODELS)}; {key} is not among them: choose another "
                         "context 'model' / 'level', or run udf/cotmask_udf.py, which carries all of them")
    return Model(lzma.decompress(base64.b85decode(_MODELS[key])), engine=engine)


def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    """openEO entry point: COT, spread, cloud class and OOD score (bands cot, cot_std, cloud_class, ood) for a cube.

    Context (all optional): level (L1C/L2A; default: L1C if B10 is present), scale (0.0001; 1 for
    reflectance input), offset (DN offset, 0; -1000 for non-harmonised baseline >= 04.00 data),
    nodata (0), thin_threshold / opaque_threshold (default: the model's metadata), model
    (distilled, the default, or ensemble), chunk_size (pixels; default 24576 for
    an ensemble, 16384 for a single network), engine (onnxruntime/numpy; default: onnxruntime
    when importable).
    """
    return cloud_mask_cube(cube, context, _get_model)


def apply_metadata(metadata, context: dict):
    """openEO entry point: the output band labels."""
    return metadata.rename_labels(dimension="bands", target=list(OUTPUT_BANDS))
