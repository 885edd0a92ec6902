"""openEO entry point of the best-pixel UDF (udf/cotmask_best_pixel_udf.py), run in ``apply_dimension(t)``."""

import xarray as xr

from .best_pixel import best_pixel  # udf_build: drop

#: Context key -> (default, meaning).
CONTEXT = {
    "period": ("month", "openEO period whose lowest-COT date wins (day, week, dekad, month, season, year)"),
    "cot_band": ("cot", "label of the COT band"),
    "class_band": ("cloud_class", "label of the class band (3: shadowed); on the winner it becomes the valid count"),
}


def apply_datacube(cube: xr.DataArray, context: dict) -> xr.DataArray:
    """Best-pixel selection along ``t``: every date but each period's best one (lowest class, then COT) set to NaN."""
    ctx = dict(context or {})
    unknown = sorted(set(ctx) - set(CONTEXT))
    if unknown:
        raise ValueError(f"unknown context keys {unknown}; allowed: {sorted(CONTEXT)}")
    get = lambda key: ctx.get(key, CONTEXT[key][0])  # noqa: E731
    return best_pixel(cube, get("period"), get("cot_band"), get("class_band"))
