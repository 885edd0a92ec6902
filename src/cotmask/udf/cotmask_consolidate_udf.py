"""openEO entry points of the consolidation UDF (udf/cotmask_consolidate_udf.py), run with ``apply_neighborhood``."""

import xarray as xr

from .consolidate import CONTEXT, consolidate_cube  # udf_build: drop


def apply_datacube(cube: xr.DataArray, context: dict) -> xr.DataArray:
    """openEO entry point: the cube (bands including cot and cloud_class) with consolidated cloud_class."""
    ctx = dict(context or {})
    unknown = sorted(set(ctx) - set(CONTEXT))
    if unknown:
        raise ValueError(f"unknown context keys {unknown}; allowed: {sorted(CONTEXT)}")
    return consolidate_cube(cube, {k: ctx.get(k, CONTEXT[k][0]) for k in CONTEXT})


def apply_metadata(metadata, context: dict):
    """openEO entry point: the band labels stay as they are."""
    return metadata
