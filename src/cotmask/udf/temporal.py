"""Multi-temporal cloud and haze test: each date of a pixel against its own clear-sky history.

numpy + xarray only; ``cotmask.udf.build`` inlines this module into ``udf/cotmask_temporal_udf.py``, which the series
graphs run with ``apply_neighborhood`` and no ``t`` size (geopyspark then hands each call the whole series of a
window: ``apply_tiles_spatiotemporal``; docs/backend.md).

*Reference.* For each date and pixel: of the pixel's ``nearest`` other dates in time (within ``window_days``) that the
single-date mask did not call opaque, the one whose B02 is the median (``quantile``), with its B04 and B11: near in
time, so that it follows phenology; the median, so that a few hazy or shadowed dates among them do not move it. The
rises are averaged over a disc of ``radius`` px (haze is smooth, the day-to-day noise of single pixels is not). With
fewer than ``min_dates`` such dates the test abstains: the single-date class stands (a series of 1-3 dates is never
changed).

*Raise* (clear to thin): blue rises above the reference by more than ``raise_blue`` (reflectance), at least
``blue_red`` times as much as red (haze and thin cloud brighten blue as much as red or more; bare soil after harvest
brightens red more), and SWIR does not fall by more than the share ``swir_drop`` of its reference (snow darkens B11,
also over dark forest; haze and ice cloud do not). This is how it overrides the snow test where a bright ice cloud
whose SWIR stays as bright as the ground's passed for snow on a single date.

*Lower* (thin to clear): blue lies within ``lower_blue`` of the reference, i.e. the date is no brighter in blue than
the pixel's clear history, so the "thin" signal is the surface itself (bright soil, dry fields). Only where the
network's own COT made the call (``cot`` >= ``thin_threshold``), never where a physics rule (the cirrus floor: cirrus
barely brightens blue) or the spatial consolidation did. Opaque is never lowered, nodata stays nodata.
"""

import numpy as np
import xarray as xr

from .disc import disc_mean  # udf_build: drop

#: Context key -> (default, meaning); the defaults were chosen on the real series (evaluation/temporal_experiment.md).
CONTEXT = {
    "window_days": (90, "the reference's dates lie at most this many days before or after"),
    "nearest": (6, "the reference is made of the pixel's this many nearest not-opaque dates"),
    "quantile": (0.5, "the reference is this quantile of those dates' reflectance"),
    "min_dates": (3, "fewest such dates for the test to decide (else the single-date class stands)"),
    "radius": (6, "disc radius (px) over which the rises are averaged before the tests (haze is smooth, noise is not)"),
    "raise_blue": (0.02, "B02 rise over the reference (reflectance) from which a clear date is thin"),
    "blue_red": (0.6, "the B02 rise must be at least this times the B04 rise (haze, not bare soil)"),
    "swir_drop": (0.25, "no raise where B11 falls by more than this share of its reference (snow)"),
    "lower_blue": (0.01, "a thin date whose B02 is within this of its reference is clear (its surface)"),
    "thin_threshold": (0.75, "COT from which the network calls a pixel thin (the graph's thin_threshold)"),
    "scale": (0.0001, "reflectance = (DN + offset) * scale; 1 for reflectance input"),
    "offset": (0, "DN offset (-1000 for raw ESA products of baseline >= 04.00)"),
}
#: Bands the test reads (B11 where present; ``cot`` for the lowering).
TEMPORAL_BANDS = ("B02", "B04")


def reference(values: dict, candidate: np.ndarray, days: np.ndarray, ctx: dict, dates=None) -> tuple[dict, np.ndarray]:
    """({band: reference}, count) for ``dates`` (default: all) of ``values`` (band -> (t, n)): per pixel, the
    reference date is the one at the ``quantile`` (the lower of two neighbours) of the first band over the ``nearest``
    ``candidate`` dates in time (itself excluded) within ``window_days``; every band is read on that date (one clear
    sky, not a mix of dates); count: how many dates there were."""
    dates = range(len(days)) if dates is None else dates
    n_px, k = candidate.shape[1], int(ctx["nearest"])
    first, cols = next(iter(values)), np.arange(n_px)
    ref = {b: np.full((len(dates), n_px), np.nan, np.float32) for b in values}
    count = np.zeros((len(dates), n_px), np.int32)
    for j, t in enumerate(dates):
        gap = np.abs(np.asarray(days, dtype=np.float64) - days[t])
        gap[t] = np.inf
        near = np.flatnonzero(gap <= ctx["window_days"])
        if not len(near):
            continue
        near = near[np.argsort(gap[near], kind="stable")]
        cand = candidate[near]
        rank = np.cumsum(cand, axis=0, dtype=np.int16)  # 1, 2, ... on each pixel's candidate dates
        row, col = np.nonzero(cand & (rank <= k))
        slot = rank[row, col] - 1
        n = np.minimum(rank[-1], k)
        pick = np.floor(ctx["quantile"] * np.maximum(n - 1, 0)).astype(np.intp)
        dated = np.zeros((n_px, k), np.intp)  # per pixel the dates it uses, nearest first
        dated[col, slot] = near[row]
        packed = np.full((n_px, k), np.inf, np.float32)
        packed[col, slot] = values[first][near[row], col]
        # the reference date: the one at the quantile of the first band; the other bands are read on that date
        chosen = dated[cols, np.argsort(packed, axis=1)[cols, pick]]
        for b, v in values.items():
            ref[b][j] = np.where(n > 0, v[chosen, cols], np.nan)
        count[j] = n
    return ref, count


def _rise(now: np.ndarray, ref: np.ndarray, radius: int, usable: np.ndarray) -> np.ndarray:
    """now - ref (dates, y, x), averaged over a disc of ``radius`` px per date over the ``usable`` pixels only (not
    opaque, with data: an opaque cloud's rise must not spill over its clear neighbours)."""
    rise = np.where(usable, now - ref, np.nan)
    return disc_mean(rise, radius, np.float32) if radius > 0 else rise


def temporal_classes(bands: dict, cloud_class: np.ndarray, days: np.ndarray, ctx: dict | None = None, dates=None):
    """Classes (t or len(dates), y, x) after the temporal test, from reflectance ``bands`` (name -> (t, y, x): B02,
    B04, optionally B11 and ``cot``), the single-date ``cloud_class`` (t, y, x) and the dates in ``days`` (t,)."""
    c = {k: v[0] for k, v in CONTEXT.items()} | dict(ctx or {})
    dates = list(range(len(days))) if dates is None else list(dates)
    with np.errstate(invalid="ignore"):
        candidate = np.isfinite(cloud_class) & (cloud_class < 2)
        for name in TEMPORAL_BANDS:
            candidate &= np.isfinite(bands[name])
        shape = cloud_class[dates].shape
        flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
        names = [b for b in ("B02", "B04", "B11") if b in bands]
        refs, count = reference({b: flat(bands[b]) for b in names}, flat(candidate), days, c, dates)
        usable = candidate[dates]  # this date's own not-opaque pixels with data
        rise = {b: _rise(bands[b][dates], refs[b].reshape(shape), int(c["radius"]), usable) for b in names}
        now = {name: bands[name][dates] for name in bands}
        cls = cloud_class[dates]
        decide = (count.reshape(shape) >= c["min_dates"]) & np.isfinite(now["B02"]) & np.isfinite(now["B04"])
        d02, d04 = rise["B02"], rise["B04"]
        up = decide & (cls == 0) & (d02 > c["raise_blue"]) & (d02 >= c["blue_red"] * d04)
        if "B11" in rise:  # snow darkens SWIR by a large share of what the ground reflects there; haze and cloud do not
            up &= ~(rise["B11"] < -c["swir_drop"] * refs["B11"].reshape(shape))
        down = decide & (cls == 1) & (d02 < c["lower_blue"])
        if "cot" in now:
            down &= now["cot"] >= c["thin_threshold"]
    out = cls.astype(np.float32)
    out[up] = 1
    out[down] = 0
    return out


def temporal_cube(cube: xr.DataArray, context: dict | None = None) -> xr.DataArray:
    """The cube (t, bands, y, x; bands B02, B04, cloud_class and optionally B11, cot; others passed through) with its
    ``cloud_class`` band after the temporal test; DN converted with the context's ``scale`` and ``offset``."""
    c = {k: v[0] for k, v in CONTEXT.items()} | dict(context or {})
    unknown = sorted(set(c) - set(CONTEXT))
    if unknown:
        raise ValueError(f"unknown context keys {unknown}; allowed: {sorted(CONTEXT)}")
    bdim = next((str(d) for d in cube.dims if str(d).lower() in ("bands", "band")), None)
    if bdim is None or "t" not in cube.dims:
        raise ValueError(f"the temporal test needs a cube with dims t and bands (got {list(cube.dims)})")
    labels = [str(b) for b in cube[bdim].values]
    missing = [b for b in (*TEMPORAL_BANDS, "cloud_class") if b not in labels]
    if missing:
        raise ValueError(f"cube lacks bands {missing} needed by the temporal test (has {labels})")
    order = cube.dims
    cube = cube.transpose("t", bdim, ...)
    values = np.asarray(cube.values, dtype=np.float32)
    if values.ndim != 4:
        raise ValueError(f"the temporal test needs a cube (t, bands, y, x), got dims {list(order)}")
    refl = {b: (values[:, labels.index(b)] + c["offset"]) * c["scale"] for b in ("B02", "B04", "B11") if b in labels}
    if "cot" in labels:
        refl["cot"] = values[:, labels.index("cot")]
    times = np.asarray(cube["t"].values).astype("datetime64[D]").astype(np.int64)
    out = values.copy()
    out[:, labels.index("cloud_class")] = temporal_classes(refl, values[:, labels.index("cloud_class")], times, c)
    return cube.copy(data=out).transpose(*order)
