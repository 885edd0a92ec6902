"""openEO entry point of the best-pixel UDF; ``cotmask.udf_build`` appends it after ``best_pixel.py``."""

import xarray

from .best_pixel import best_pixel  # udf_build: drop


def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    """Best-pixel selection along ``t`` (other dates NaN): context ``period`` (month) and ``cot_band`` (cot)."""
    ctx = dict(context or {})
    unknown = sorted(set(ctx) - {"period", "cot_band"})
    if unknown:
        raise ValueError(f"unknown context keys {unknown}; allowed: ['cot_band', 'period']")
    return best_pixel(cube, ctx.get("period", "month"), ctx.get("cot_band", "cot"))
