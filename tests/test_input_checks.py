"""Input that would give a silently wrong mask gets a clear error, a warning with the fix, or a documented result."""

import warnings

import numpy as np
import pytest
import xarray as xr
from results import assert_same_result

import cotmask
from cotmask.core.cube import cube_outputs
from cotmask.core.shipped import load_model
from cotmask.samples.real import s2cloudless_cube, to_dn
from cotmask.udp import check_arguments

GET = lambda lv, k, e: load_model(lv, k, engine=e)  # noqa: E731
BASE = {
    "collection_id": "SENTINEL2_L2A",
    "spatial_extent": {"west": 15, "south": 60, "east": 15.1, "north": 60.1},
    "temporal_extent": ["2024-05-01", "2024-08-01"],
}


@pytest.fixture(scope="module")
def scene(shared_data) -> xr.DataArray:
    """The real 13-band L1C scene as uint16 DN (harmonised: offset 0)."""
    return to_dn(s2cloudless_cube(shared_data / "s2cloudless_1.2.2" / "input_arrays.npz")).isel(y=slice(0, 200))


def test_over_correction_verdict_does_not_depend_on_chunk_size(scene: xr.DataArray) -> None:
    """0.5 % of values below -0.05, all in the first row: per-chunk checking refused it for small chunks only."""
    refl = scene.astype("float32") * 1e-4
    refl[..., :1, :] = -0.08  # 1 of 200 rows: 0.5 % of the values
    small, large = (
        cube_outputs(refl, {"scale": 1.0, "chunk_size": c, "model": "distilled"}, GET) for c in (1024, 10**7)
    )  # a few rows per chunk vs the whole cube in one
    assert_same_result(small, large)
    refl[..., :4, :] = -0.08  # 2 %: refused whatever the chunking
    for chunk in (1024, 10**7):
        with pytest.raises(ValueError, match="< -0.05"):
            cube_outputs(refl, {"scale": 1.0, "chunk_size": chunk, "model": "distilled"}, GET)


@pytest.mark.parametrize(
    "context,match",
    [
        ({"thin_threshold": -0.5}, r"thin_threshold=-0.5 is outside \(0, 50\]"),
        ({"opaque_threshold": 1e9}, r"opaque_threshold=1000000000.0 is outside"),
        ({"scale": 1e-5}, "scale=1e-05 fits no Sentinel-2 convention"),
        ({"thin_threshold": "0.5"}, r"thin_threshold must be a number, got '0.5' \(str\)"),
        ({"offset": "-1000"}, "offset must be a number"),
        ({"chunk_size": "6.5e4"}, "chunk_size must be a positive whole number"),
        ({"chunk_size": 0}, "chunk_size must be a positive whole number"),
        ({"scale": True}, "scale must be a number"),
    ],
)
def test_bad_context_values_are_refused(scene: xr.DataArray, context: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        cotmask.cloud_mask(scene, context)


def test_forgotten_offset_warns_with_the_fix(scene: xr.DataArray) -> None:
    raw = scene.where(scene == 0, scene + 1000)  # raw ESA DN of baseline >= 04.00 (nodata stays 0)
    with pytest.warns(UserWarning, match="offset=-1000"):
        wrong = cotmask.cloud_mask(raw, {"model": "distilled"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        right = cotmask.cloud_mask(raw, {"model": "distilled", "offset": -1000})
        harmonised = cotmask.cloud_mask(scene, {"model": "distilled"})
    np.testing.assert_array_equal(right.values, harmonised.values)
    assert float((wrong.sel(bands="cloud_class") >= 1).mean()) > float((right.sel(bands="cloud_class") >= 1).mean())


@pytest.mark.parametrize(
    "arguments,match",
    [
        ({"thin_threshold": "0.5"}, r"thin_threshold must be a number, got '0.5'"),
        ({"thin_threshold": 0}, "thin_threshold .* must be > 0"),
        ({"opaque_threshold": 1e9}, "at most 50"),
        ({"scale": 1e-5}, "fits no Sentinel-2 convention"),
        ({"buffer": "2"}, "buffer must be a number"),
        ({"buffer": 1.5}, "buffer must be a whole number"),
        ({"scl_classes": 3}, "scl_classes must be a list"),
        ({"period": 1}, "period must be a string"),
        ({"geometries": None}, "geometries is required"),
        (
            {"geometries": {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None}]}},
            "feature 0 has no geometry",
        ),
    ],
)
def test_bad_arguments_get_a_clear_error_not_a_python_one(arguments: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_arguments("cotmask_forest_composite", **{**BASE, **arguments})


def test_rioxarray_band_numbers_need_names_and_bands_mapping_works(scene: xr.DataArray, tmp_path) -> None:
    """The README's dask example: rioxarray labels bands 1..N; band descriptions (long_name) name them."""
    rioxarray = pytest.importorskip("rioxarray")
    names = [str(b) for b in scene.bands.values]
    da = scene.isel(t=0).rename(bands="band").assign_coords(band=range(1, 14))
    da = da.rio.write_crs("EPSG:32633").rio.set_spatial_dims(x_dim="x", y_dim="y")
    da.attrs["long_name"] = tuple(names)
    da.rio.to_raster(tmp_path / "scene.tif")
    cube = rioxarray.open_rasterio(tmp_path / "scene.tif", chunks={"x": 64, "y": 64})
    assert cube.band.values.tolist()[:2] == [1, 2] and list(cube.attrs["long_name"]) == names
    with pytest.raises(ValueError, match="not Sentinel-2 band names .* bands="):
        cotmask.cloud_mask(cube, {"model": "distilled"}).compute()
    lazy = cotmask.cloud_mask(cube, {"model": "distilled"}, bands=list(cube.attrs["long_name"]))
    assert lazy.chunks is not None
    eager = cotmask.cloud_mask(scene.isel(t=0), {"model": "distilled"})
    assert_same_result(eager, lazy.compute())  # both (band(s), y, x)
