"""Outputs that fit the ecosystem: CF attributes in the netCDF files, the model and conversion recorded, not the
input's attributes."""

import os

import numpy as np
import pytest
import xarray as xr

from cotmask.core.bands import DEFAULT_MODEL
from cotmask.core.cube import BAND_ATTRS
from cotmask.core.shipped import load_model
from cotmask.demo.netcdf import write_cloud_mask, write_composite
from cotmask.demo.run import result_attrs


def _result() -> xr.DataArray:
    vals = np.array([[[[0.2, 3.0]], [[0.1, 0.4]], [[0.0, 2.0]]]], dtype=np.float32)  # (t, bands, y, x)
    vals[0, :, 0, 1] = np.nan  # nodata pixel
    return xr.DataArray(
        vals,
        dims=("t", "bands", "y", "x"),
        coords={"t": np.array(["2024-06-01"], dtype="datetime64[ns]"), "bands": ["cot", "cot_std", "cloud_class"]},
        attrs={"units": "DN", "scale": 1e-4, "radiometric_offset": 0},
    )  # what the engine passes on from the input


def test_cloud_mask_netcdf_has_cf_metadata_and_records_the_model(tmp_path) -> None:
    engine_result = _result()
    assert engine_result.attrs["units"] == "DN"  # the input's attributes, as the engine passes them, reach the writer
    written = xr.open_dataset(write_cloud_mask(engine_result, tmp_path / "engine.nc"))
    for name in ("cot", "cot_std", "cloud_class"):  # each variable: its own attributes, none of the input's
        assert written[name].attrs["units"] == BAND_ATTRS[name]["units"] == "1", name
        assert set(written[name].attrs) == set(BAND_ATTRS[name]), name
    assert not {"units", "scale", "radiometric_offset"} & set(written.attrs), written.attrs  # nor the file's
    result = _result()
    l1c = list(load_model("L1C").bands)  # the input bands decide the model, as in the UDF
    result.attrs = result_attrs({"offset": -1000, "thin_threshold": 0.9}, l1c)  # as the demo does
    ds = xr.open_dataset(write_cloud_mask(result, tmp_path / "m.nc", {"source": "test"}))
    assert ds.attrs["Conventions"] == "CF-1.8" and "units" not in ds.attrs
    assert ds.attrs["cotmask_level"] == "L1C" and ds.attrs["cotmask_model"] == DEFAULT_MODEL
    assert (
        ds.attrs["thin_threshold"] == 0.9 and ds.attrs["opaque_threshold"] == 1.25 and ds.attrs["input_offset"] == -1000
    )
    assert ds.attrs["cotmask_model_version"]
    assert ds["cot"].attrs["units"] == "1" and "optical thickness" in ds["cot"].attrs["long_name"]
    assert ds["cloud_class"].attrs["flag_meanings"] == "clear thin_cloud opaque_cloud"
    assert list(ds["cloud_class"].attrs["flag_values"]) == [0, 1, 2]
    np.testing.assert_array_equal(ds["cloud_class"].values.ravel(), [0, np.nan])  # nodata round-trips as NaN
    raw = xr.open_dataset(tmp_path / "m.nc", mask_and_scale=False)
    assert raw["cloud_class"].dtype == np.int8  # stored compactly, -1 = nodata


def test_composite_netcdf_states_its_units(tmp_path) -> None:
    comp = xr.DataArray(
        np.array([[[[512.5]], [[2.0]]]]), dims=("t", "bands", "y", "x"), coords={"bands": ["B04", "valid_count"]}
    )
    ds = xr.open_dataset(write_composite(comp, tmp_path / "c.nc", "median", offset=0))
    assert ds["B04"].dtype == np.float32 and "reflectance = (DN + 0) * 0.0001" in ds["B04"].attrs["comment"]
    assert ds["valid_count"].dtype == np.int16 and ds["valid_count"].attrs["long_name"].startswith("number of clear")


def test_netcdf_writers_tell_a_missing_folder_from_a_read_only_one(tmp_path, monkeypatch) -> None:
    """Issue 20: the netCDF library reports a missing folder as "Permission denied". The writers say which it is, in
    one line, and do not create a missing folder (a mistyped path should not make one)."""
    comp = xr.DataArray(
        np.array([[[[512.5]], [[2.0]]]]), dims=("t", "bands", "y", "x"), coords={"bands": ["B04", "valid_count"]}
    )
    missing = tmp_path / "missing"
    with pytest.raises(FileNotFoundError, match=f"output folder {missing} does not exist; create it first"):
        write_composite(comp, missing / "c.nc", "median")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_cloud_mask(_result(), missing / "m.nc")
    assert not missing.exists()
    read_only = tmp_path / "read_only"
    read_only.mkdir()
    read_only.chmod(0o555)
    try:
        if os.access(read_only, os.W_OK):  # root writes anyway: fail as the netCDF library does for other users

            def denied(self, path, *args, **kwargs):
                raise PermissionError(13, "Permission denied", str(path))

            monkeypatch.setattr(xr.Dataset, "to_netcdf", denied)
            monkeypatch.setattr(os, "access", lambda path, mode: False)
        for write in (lambda p: write_composite(comp, p, "median"), lambda p: write_cloud_mask(_result(), p)):
            with pytest.raises(PermissionError, match=f"^output folder {read_only} is read-only; choose a writable"):
                write(read_only / "out.nc")
    finally:
        monkeypatch.undo()
        read_only.chmod(0o755)
