"""The real-surfaces judge (evaluation/real_surfaces.py): readers, resampling, and flags equal to cotmask's own."""

import sys

import numpy as np
import pytest
import rasterio
import xarray as xr
from conftest import ROOT

import cotmask

sys.path.insert(0, str(ROOT / "evaluation"))
import real_surfaces  # noqa: E402
from real_surfaces import (  # noqa: E402
    BIGEARTHNET_SNOW,
    Model,
    evaluate,
    grid,
    read_bigearthnet,
    read_ssl4eo,
    read_worldcereal,
    registration,
    shipped_model,
)

SNOW = f"BigEarthNet {BIGEARTHNET_SNOW}"


def test_readers_give_the_documented_grids_and_bands(shared_data) -> None:
    ben = read_bigearthnet(shared_data)
    assert len(ben) == 6 and [s.kind for s in ben].count("snow") == 1
    l2a = {"B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"}
    for s in ben:
        assert set(s.bands) == l2a and s.level == "L2A"
        stack, names, k = grid(s, "nearest")
        assert stack.shape == (1, 12, 120, 120) and k == 1 and set(names) == l2a
        assert grid(s, "20m")[0].shape == (1, 12, 60, 60)
    ssl = {(s.level, s.dates[0], s.kind) for s in read_ssl4eo(shared_data)}
    assert ssl == {
        ("L1C", "2020-06-04", "clear"),
        ("L2A", "2020-06-04", "clear"),
        ("L2A", "2020-08-13", "clear"),
        ("L1C", "2020-08-23", "cloudy"),
    }
    for s in read_ssl4eo(shared_data):
        stack, names, _ = grid(s, "bilinear")
        assert stack.shape == (1, 13 if s.level == "L1C" else 12, 264, 264)
        assert ("B10" in names) == (s.level == "L1C")
    wc = read_worldcereal(shared_data)
    assert len(wc) == 4
    for scene, total in wc:
        assert "B09" not in scene.bands and 0 < len(scene.dates) == scene.frames < total


def test_nearest_is_pixel_repeat_and_20m_averages_the_10m_bands(shared_data) -> None:
    (s,) = [s for s in read_bigearthnet(shared_data) if s.name == SNOW]
    stack, names, _ = grid(s, "nearest")
    for b, k in (("B02", 1), ("B11", 2), ("B09", 6)):
        rep = np.repeat(np.repeat(s.bands[b][0], k, 0), k, 1)
        np.testing.assert_array_equal(stack[0, names.index(b)], rep)
    s20, names20, k = grid(s, "20m")
    b02 = s.bands["B02"][0].astype(np.float32)
    np.testing.assert_allclose(s20[0, names20.index("B02")], b02.reshape(60, 2, 60, 2).mean(axis=(1, 3)), rtol=1e-6)
    np.testing.assert_array_equal(s20[0, names20.index("B11")], s.bands["B11"][0])
    bil = grid(s, "bilinear")[0][0, names.index("B11")]
    b11 = s.bands["B11"][0, :2, :2].astype(np.float64)
    w = np.array([0.75, 0.25])  # 10 m pixel 1 lies a quarter of the way from 20 m pixel 0 to 1, in y and x
    assert bil[1, 1] == pytest.approx(w @ b11 @ w, rel=1e-5)


def test_snow_flags_equal_cotmask_cloud_mask_on_the_patch(shared_data) -> None:
    """The script's flagged fraction on the snow patch is what cotmask.cloud_mask gives on the patch read here with
    rasterio and repeated to 10 m independently."""
    res = evaluate(shared_data, {"d": shipped_model("distilled")}, scenes=[SNOW], modes=("nearest",), worldcereal=False)
    (row,) = res["rows"]
    folder = shared_data / "bigearthnet_example" / BIGEARTHNET_SNOW
    bands = cotmask.load_model("L2A", "distilled").bands
    layers = []
    for b in bands:
        with rasterio.open(folder / f"{BIGEARTHNET_SNOW}_{b}.tif") as r:
            a = r.read(1)
        k = 120 // a.shape[0]
        layers.append(np.repeat(np.repeat(a, k, 0), k, 1))
    cube = xr.DataArray(np.stack(layers), dims=("bands", "y", "x"), coords={"bands": list(bands)})
    out = cotmask.cloud_mask(cube, {"offset": 0, "model": "distilled", "level": "L2A"})
    cls = out.sel(bands="cloud_class").values
    assert row["pixels"] == 14400
    assert row["flagged"] == pytest.approx(float(np.mean(cls >= 1)), abs=1e-9)
    assert row["thin"] == pytest.approx(float(np.mean(cls == 1)), abs=1e-9)
    assert row["median_cot"] == pytest.approx(float(np.median(out.sel(bands="cot").values)), rel=1e-6)
    (snow,) = res["snow"]["flagged"]
    assert snow["flagged"] == pytest.approx(row["flagged"])
    assert res["snow"]["ndsi_median"] > 0.4  # it is snow


def test_a_model_without_b09_runs_on_the_worldcereal_clear_dates(shared_data) -> None:
    """A model declaring bands without B09 is called on every SCL-clear date; the shipped ones get 'not runnable'."""
    calls = []

    def ndvi_rule(cube: xr.DataArray, level: str) -> np.ndarray:
        calls.append(cube.sizes["y"])
        red, nir = cube.sel(bands="B04").values, cube.sel(bands="B08").values
        return (nir - red) / (nir + red) < 0.0

    models = {
        "no-B09 rule": Model(ndvi_rule, {"L2A": ("B04", "B08")}, binary=True),
        "shipped": shipped_model("distilled"),
    }
    res = evaluate(shared_data, models, scenes=[], modes=("nearest",))
    wc = {s.name: s for s, _ in read_worldcereal(shared_data)}
    rows = [r for r in res["rows"] if r["source"] == "worldcereal"]
    ten = [n for n, s in wc.items() if "B04" in s.bands]
    assert len(calls) == sum(wc[n].frames for n in ten) and set(calls) == {64}
    for r in rows:
        if r["model"] == "shipped":
            assert r["status"].startswith("not runnable: no") and "B09" in r["status"]
        elif r["scene"] in ten:
            assert r["status"] == "ok" and r["pixels"] == wc[r["scene"]].frames * 64 * 64
        else:
            assert r["status"] == "not runnable: no B04, B08"


def test_the_ssl4eo_60m_bands_sit_4_px_off_the_corner(shared_data) -> None:
    (s,) = [s for s in read_ssl4eo(shared_data) if s.level == "L2A" and s.dates == ["2020-06-04"]]
    dy, dx, r = registration(s.bands["B08"][0], s.bands["B09"][0], 6)
    assert 3.5 <= dy <= 4.5 and 3.5 <= dx <= 4.5 and r > 0.95
    assert registration(s.bands["B08"][0], s.bands["B8A"][0], 2)[:2] == (0.0, 0.0)


def test_a_missing_peer_stops_with_the_extra(shared_data, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "s2cloudless", None)  # import fails
    with pytest.raises(SystemExit, match=r"pip install -e '\.\[eval\]'"):
        evaluate(shared_data)
    assert real_surfaces.EXTRA in str(pytest.raises(SystemExit, real_surfaces._need, "s2cloudless", "x").value)
