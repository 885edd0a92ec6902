"""The multi-temporal cloud and haze test (issue 21, part 3): what it raises, lowers and leaves, no seams, the UDF and
the graphs. Its real-series evaluation: evaluation/temporal_experiment.py (tests/test_evaluation_reports.py)."""

import numpy as np
import pytest
import xarray as xr

from cotmask.local.harness import run_udf_locally
from cotmask.udf.consolidate import MAX_RADIUS
from cotmask.udf.temporal import CONTEXT, temporal_classes, temporal_cube

DAYS = np.arange(12) * 10.0
SHAPE = (12, 20, 24)


def _series(seed: int = 0) -> tuple[dict, np.ndarray, np.ndarray]:
    """A stable clear surface (small day-to-day noise), single-date classes all clear, COT low."""
    rng = np.random.default_rng(seed)
    base = {"B02": 0.04, "B04": 0.05, "B11": 0.20}
    bands = {b: (v + rng.normal(0, 0.002, SHAPE)).astype(np.float32) for b, v in base.items()}
    cls = np.zeros(SHAPE, np.float32)
    bands["cot"] = np.full(SHAPE, 0.2, np.float32)
    return bands, cls, DAYS


def test_haze_is_raised_and_clear_dates_stay_clear() -> None:
    bands, cls, days = _series()
    bands["B02"][5] += 0.03  # haze: blue up, red a little
    bands["B04"][5] += 0.015
    out = temporal_classes(bands, cls, days)
    assert (out[5] == 1).all()
    assert (out[np.arange(12) != 5] == 0).all()  # the other dates are left clear


def test_soil_snow_and_small_rises_are_not_raised() -> None:
    bands, cls, days = _series(1)
    bands["B02"][3] += 0.03  # harvest: red rises three times as much as blue
    bands["B04"][3] += 0.09
    bands["B02"][6] += 0.4  # snow: bright, SWIR falls
    bands["B04"][6] += 0.4
    bands["B11"][6] -= 0.15
    bands["B02"][9] += CONTEXT["raise_blue"][0] * 0.6  # within the day-to-day noise the threshold allows
    out = temporal_classes(bands, cls, days)
    assert (out[[3, 6, 9]] == 0).all()
    dark = {k: v.copy() for k, v in bands.items()}  # snow under a dark conifer canopy: SWIR 0.09 -> 0.05
    dark["B11"][:] = 0.09
    dark["B11"][6] = 0.05
    assert (temporal_classes(dark, cls, days)[6] == 0).all()


def test_thin_surface_is_lowered_only_where_the_network_called_it() -> None:
    """A pixel called thin on a date no brighter in blue than its history is clear (the surface); not where a rule or
    the consolidation made the call (COT below the thin threshold), never opaque."""
    bands, cls, days = _series(2)
    cls[4], bands["cot"][4] = 1, 0.9  # the network's thin call on an ordinary date
    cls[7], bands["cot"][7] = 1, 0.3  # a rule's thin call (cirrus floor): kept
    cls[8], bands["cot"][8] = 2, 3.0  # opaque: kept
    out = temporal_classes(bands, cls, days)
    assert (out[4] == 0).all() and (out[7] == 1).all() and (out[8] == 2).all()


def test_too_few_dates_abstain_and_nodata_stays() -> None:
    bands, cls, days = _series(3)
    bands["B02"][2] += 0.05
    few = {k: v[:3] for k, v in bands.items()}  # 2 other dates < min_dates
    np.testing.assert_array_equal(temporal_classes(few, cls[:3], days[:3]), cls[:3])
    cls[2, 0, 0] = np.nan
    out = temporal_classes(bands, cls, days)
    assert np.isnan(out[2, 0, 0]) and out[2, 5, 5] == 1
    cls[:, 3, 3] = 2  # a pixel opaque on every date has no reference: unchanged
    assert (temporal_classes(bands, cls, days)[:, 3, 3] == 2).all()


def test_the_reference_follows_the_season() -> None:
    """A slow seasonal rise in blue (0.04 -> 0.07 over 110 days) is not haze: each date is compared with its nearest
    dates, not with the whole series."""
    bands, cls, days = _series(4)
    bands["B02"] += np.linspace(0, 0.03, 12, dtype=np.float32)[:, None, None]
    assert (temporal_classes(bands, cls, days) == 0).all()


def test_no_seams_whatever_the_windows() -> None:
    """Windows with MAX_RADIUS px of overlap give the whole-array result (the graphs' apply_neighborhood)."""
    bands, cls, days = _series(5)
    rng = np.random.default_rng(5)
    bands["B02"][5] += np.where(rng.random(SHAPE[1:]) < 0.5, 0.03, 0.0).astype(np.float32)  # patchy haze
    whole = temporal_classes(bands, cls, days)
    size, r = 7, MAX_RADIUS
    tiled = np.full_like(whole, -1)
    for y0 in range(0, SHAPE[1], size):
        for x0 in range(0, SHAPE[2], size):
            ys, xs = slice(max(0, y0 - r), y0 + size + r), slice(max(0, x0 - r), x0 + size + r)
            part = temporal_classes({k: v[:, ys, xs] for k, v in bands.items()}, cls[:, ys, xs], days)
            dy, dx = y0 - ys.start, x0 - xs.start
            tiled[:, y0 : y0 + size, x0 : x0 + size] = part[:, dy : dy + size, dx : dx + size]
    np.testing.assert_array_equal(tiled, whole)
    assert 0 < (whole[5] == 1).mean() < 1


def _cube(bands: dict, cls: np.ndarray) -> xr.DataArray:
    names = ["B02", "B04", "B11", "cot", "cloud_class", "B08"]
    dn = [bands[b] / 1e-4 for b in ("B02", "B04", "B11")] + [bands["cot"], cls, np.full(SHAPE, 3000.0)]
    t = np.datetime64("2024-04-01") + DAYS.astype("timedelta64[D]")
    return xr.DataArray(
        np.stack(dn, axis=1).astype(np.float32),
        dims=("t", "bands", "y", "x"),
        coords={"t": t.astype("datetime64[ns]"), "bands": names, "y": np.arange(SHAPE[1]), "x": np.arange(SHAPE[2])},
    )


def test_the_udf_converts_dn_and_passes_other_bands_through() -> None:
    bands, cls, days = _series(6)
    bands["B02"][5] += 0.03
    cube = _cube(bands, cls)
    out = run_udf_locally(cube, {}, udf="cotmask_temporal_udf.py")
    assert out.coords["bands"].values.tolist() == cube.coords["bands"].values.tolist()
    np.testing.assert_array_equal(out.sel(bands="cloud_class").values, temporal_classes(bands, cls, days))
    np.testing.assert_array_equal(out.drop_sel(bands="cloud_class").values, cube.drop_sel(bands="cloud_class").values)
    with pytest.raises(ValueError, match="lacks bands \\['B04'\\]"):
        temporal_cube(cube.drop_sel(bands="B04"))
    with pytest.raises(ValueError, match="unknown context keys \\['radius_px'\\]"):
        temporal_cube(cube, {"radius_px": 2})


def test_check_arguments_says_when_the_period_is_too_short() -> None:
    import warnings

    from cotmask.udp import check_arguments

    base = {
        "spatial_extent": None,
        "bands": ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"],
    }
    with pytest.warns(UserWarning, match="temporal test needs 3 other"):
        check_arguments("cotmask_mask_timeseries", temporal_extent=["2024-06-01", "2024-06-11"], **base)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a long period, or the test switched off: no warning
        check_arguments("cotmask_mask_timeseries", temporal_extent=["2024-04-01", "2024-07-01"], **base)
        check_arguments("cotmask_mask_timeseries", temporal_extent=["2024-06-01", "2024-06-11"], temporal=False, **base)
    with pytest.raises(ValueError, match="temporal must be true or false"):
        check_arguments("cotmask_mask_timeseries", temporal_extent=["2024-04-01", "2024-07-01"], temporal=1, **base)


def test_an_opaque_cloud_does_not_spill_onto_its_clear_neighbours() -> None:
    """The averaged rises use the date's own not-opaque pixels only: a bright opaque cloud leaves the clear ground
    around it clear (before: a ring of 'thin' around every cloud)."""
    bands, cls, days = _series(7)
    bands["B02"][5, 5:15, 5:15] += 0.5
    bands["B04"][5, 5:15, 5:15] += 0.5
    cls[5, 5:15, 5:15] = 2
    out = temporal_classes(bands, cls, days)
    assert (out[5, 5:15, 5:15] == 2).all() and (out[5][cls[5] == 0] == 0).all()


def test_best_pixel_counts_zero_where_no_date_could_win() -> None:
    from cotmask.udf.best_pixel import best_pixel

    t = np.array(["2024-06-01", "2024-06-11", "2024-07-01"], dtype="datetime64[ns]")
    cot = np.array([0.2, 0.1, 0.3], np.float32)[:, None, None] * np.ones((3, 2, 2), np.float32)
    cls = np.zeros((3, 2, 2), np.float32)
    cls[:2, 0, 0] = 3  # June: both dates of this pixel in cloud shadow
    cube = xr.DataArray(
        np.stack([np.full((3, 2, 2), 500.0, np.float32), cot, cls], axis=1),
        dims=("t", "bands", "y", "x"),
        coords={"t": t, "bands": ["B04", "cot", "cloud_class"]},
    )
    out = best_pixel(cube, "month")
    june = out.isel(t=[0, 1]).max("t", skipna=True)
    assert june.sel(bands="cloud_class").values.tolist() == [[0.0, 2.0], [2.0, 2.0]]  # the count of eligible dates
    assert np.isnan(june.sel(bands="B04").values[0, 0]) and june.sel(bands="cot").values[1, 1] == np.float32(0.1)


def test_the_mask_graph_on_a_real_series_masks_the_hazy_date(shared_data, tmp_path) -> None:
    """Real WorldCereal L2A dates through cotmask_mask_timeseries (local harness): 2018-06-15, milky by eye and
    cirrus to SCL, is passed by single-date masking and masked with the temporal test; the real clear dates around it
    stay unmasked either way."""
    from cotmask.local.harness import run_graph_locally
    from cotmask.samples.real import WORLDCEREAL_10M, WORLDCEREAL_20M, worldcereal_series, write_collection
    from cotmask.udp import call_graph, published_udps

    cube = worldcereal_series(shared_data / "worldcereal_series", "00002806639B424A", "2018-05-20", "2018-07-10")
    path = write_collection(cube, tmp_path / "worldcereal.nc", crs=cube.attrs["crs"])
    bands = [*WORLDCEREAL_10M, *WORLDCEREAL_20M]  # no B09: the no-B09 model runs

    def masked(temporal: bool) -> xr.DataArray:
        args = {"collection_id": str(path), "spatial_extent": None, "temporal_extent": ["2018-05-20", "2018-07-10"]}
        graph = call_graph(
            "cotmask_mask_timeseries", bands=bands, buffer=0, temporal=temporal, scl_collection=str(path), **args
        )
        out = run_graph_locally(graph, tmp_path, published_udps())
        lost = out.sel(bands="B04").isnull() & (cube.sel(bands="B04") > 0).values
        return lost.mean(("y", "x")).assign_coords(t=[str(t)[:10] for t in out.t.values])

    with pytest.warns(UserWarning, match="bands lack"):
        before, after = masked(False), masked(True)
    assert float(before.sel(t="2018-06-15")) < 0.1 and float(after.sel(t="2018-06-15")) > 0.9
    for clear in ("2018-06-23", "2018-06-28", "2018-06-30"):  # SCL >= 88 % vegetation/bare, clear by eye
        assert float(after.sel(t=clear)) < 0.05, (clear, float(after.sel(t=clear)))
