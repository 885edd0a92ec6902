"""openEO periods (day, dekad, month, season, year): the first day of the period each date falls in, as
``aggregate_temporal_period`` labels it. numpy only; inlined into the UDFs that work per period along time.
"""

import numpy as np

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
