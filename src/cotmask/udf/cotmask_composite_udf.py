"""openEO entry point of the composite UDF (udf/cotmask_composite_udf.py), run in ``apply_dimension(t)``."""

import xarray as xr

from .composite import REDUCERS, period_composite  # udf_build: drop

#: Context key -> (default, meaning).
CONTEXT = {
    "period": ("month", "openEO period to composite (day, dekad, month, season, year)"),
    "reducer": ("median", "per-pixel reducer over a period's dates with data: median, mean, min or max"),
    "count_band": ("valid_count", "placeholder band that becomes the number of dates with data"),
}


def apply_datacube(cube: xr.DataArray, context: dict) -> xr.DataArray:
    """Per period: the reduced bands and the date count on the period's first date, all other dates NaN."""
    ctx = dict(context or {})
    unknown = sorted(set(ctx) - set(CONTEXT))
    if unknown:
        raise ValueError(f"unknown context keys {unknown}; allowed: {sorted(CONTEXT)}")
    get = lambda key: ctx.get(key, CONTEXT[key][0])  # noqa: E731
    if get("reducer") not in REDUCERS:
        raise ValueError(f"reducer {get('reducer')!r} is not supported; choose one of {list(REDUCERS)}")
    return period_composite(cube, get("period"), get("reducer"), get("count_band"))


def apply_metadata(metadata, context: dict):
    """openEO entry point: the band labels stay as they are."""
    return metadata
