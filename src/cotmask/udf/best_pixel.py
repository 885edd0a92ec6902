"""Best-pixel compositing: per period and pixel, every band from the date with the lowest COT.

numpy + xarray only: ``cotmask.udf.build`` inlines this module into ``udf/cotmask_best_pixel_udf.py``,
which runs in ``apply_dimension(dimension="t")`` on a cube holding the spectral bands plus ``cot``.
"""

import numpy as np
import xarray as xr

#: ``week`` is not offered: the geotrellis backends' aggregate_temporal_period builds weeks with pandas' Sunday-anchored
#: ``freq="W"``, ISO weeks start on Monday, and a best pixel chosen in one week would be collected in another.
PERIODS = ("day", "dekad", "month", "season", "year")


def period_start(times: np.ndarray, period: str) -> np.ndarray:
    """First day of the openEO ``period`` of each time stamp (datetime64[ns]); seasons are DJF, MAM, JJA, SON."""
    t = np.asarray(times, dtype="datetime64[ns]")
    day = t.astype("datetime64[D]")
    month = t.astype("datetime64[M]")
    if period == "day":
        start = day
    elif period == "dekad":
        dom = (day - month.astype("datetime64[D]")).astype(np.int64)
        start = month.astype("datetime64[D]") + (np.minimum(dom // 10, 2) * 10).astype("timedelta64[D]")
    elif period == "month":
        start = month
    elif period == "season":
        m = month.astype(np.int64)  # months since 1970-01
        start = (m - (m + 1) % 3).astype("datetime64[M]")  # Dec, Mar, Jun, Sep
    elif period == "year":
        start = t.astype("datetime64[Y]")
    else:
        why = " (backends and ISO disagree on where a week starts)" if period == "week" else ""
        raise ValueError(f"period {period!r} is not supported{why}; choose one of {PERIODS}")
    return start.astype("datetime64[ns]")


def best_pixel(
    cube: xr.DataArray, period: str = "month", cot_band: str = "cot", tdim: str = "t", bdim: str = "bands"
) -> xr.DataArray:
    """Per period and pixel, keep every band of the date with the lowest ``cot`` (NaN COT never wins;
    ties go to the earliest date) and set all other dates to NaN.

    The cube keeps its time labels (spec-portable in ``apply_dimension``); a following
    ``aggregate_temporal_period`` with any reducer that ignores nodata (e.g. ``max``) then yields the
    composite, whose ``cot`` band is the period's minimum COT.
    """
    if cot_band not in cube.coords[bdim].values:
        raise ValueError(f"best-pixel compositing needs a {cot_band!r} band; the cube has {list(cube[bdim].values)}")
    starts = period_start(cube[tdim].values, period)
    order = cube.dims
    cube = cube.transpose(tdim, bdim, ...)
    values = np.asarray(cube.values, dtype=np.float32)
    cot = values[:, list(cube[bdim].values).index(cot_band)]
    out = np.full(values.shape, np.nan, dtype=np.float32)
    for label in np.unique(starts):
        sel = np.flatnonzero(starts == label)
        c = np.where(np.isfinite(cot[sel]), cot[sel], np.inf)
        pick = np.argmin(c, axis=0)  # (y, x): the first of equal minima
        some = np.isfinite(c).any(axis=0)
        for k, t in enumerate(sel):
            win = (pick == k) & some
            out[t][:, win] = values[t][:, win]
    return cube.copy(data=out).transpose(*order)
