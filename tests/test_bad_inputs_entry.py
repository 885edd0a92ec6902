"""User-facing entry points refuse bad input up front, in one line: check_arguments' extents, the demo CLI."""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from cotmask.cli import main
from cotmask.udp import check_arguments


@pytest.mark.parametrize(
    "extent,message",
    [
        (["2024-06-01"], r"must be \[start, end\]"),
        ("2024-06-01/2024-07-01", r"must be \[start, end\]"),
        (["2024-06-01", "2"], "not two ISO dates"),
        (["2024-07-01", "2024-06-01"], "empty or inverted"),
    ],
)
def test_malformed_temporal_extent(extent, message) -> None:
    with pytest.raises(ValueError, match=message):
        check_arguments("cotmask_cloud_mask", temporal_extent=extent)


@pytest.mark.parametrize(
    "extent,message",
    [
        ({"west": 14.5, "south": 59.0, "east": 14.6}, r"lacks \['north'\]"),
        ({"west": 500000, "south": 6540000, "east": 510000, "north": 6550000}, "not in degrees"),
        ({"west": "14.5", "south": 59.0, "east": 14.6, "north": 59.1}, "must be numbers"),
    ],
)
def test_malformed_spatial_extent(extent, message) -> None:
    with pytest.raises(ValueError, match=message):
        check_arguments("cotmask_cloud_mask", spatial_extent=extent)


def test_metre_extent_with_its_crs_is_accepted() -> None:
    extent = {"west": 500000, "south": 6540000, "east": 510000, "north": 6550000, "crs": 32633}
    assert check_arguments("cotmask_cloud_mask", spatial_extent=extent)["spatial_extent"] == extent


def _collection(tmp_path: Path, bands: list[str]) -> Path:
    data = np.full((1, len(bands), 4, 4), 1200, np.uint16)
    cube = xr.DataArray(
        data, dims=("t", "bands", "y", "x"), coords={"bands": bands, "t": [np.datetime64("2024-06-01")]}
    )
    path = tmp_path / "input.nc"
    cube.to_dataset("bands").to_netcdf(path)
    return path


@pytest.mark.parametrize(
    "args,message",
    [
        (["--thin", "2", "--opaque", "1"], "thin threshold (2.0) must be below opaque threshold (1.0)"),
        (["--input", "missing.nc"], "No such file"),
        (["--input", "{partial}"], "lacks bands ['B11', 'B12']"),
    ],
)
def test_demo_errors_are_one_line_before_any_work(tmp_path, capsys, args, message) -> None:
    partial = _collection(tmp_path, ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09"])
    argv = ["demo", "--output", str(tmp_path / "out"), *[a.format(partial=partial) for a in args]]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert "Traceback" not in err


def test_demo_refuses_an_output_folder_it_cannot_write(tmp_path, capsys) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")  # a folder below a file cannot exist, whoever runs the test (root ignores file modes)
    with pytest.raises(SystemExit):
        main(["demo", "--output", str(blocker / "out")])
    err = capsys.readouterr().err
    assert "cannot be written" in err and "--output" in err and "Traceback" not in err


def test_demo_debug_shows_the_traceback(tmp_path) -> None:
    with pytest.raises(ValueError, match="must be below"):
        main(["demo", "--output", str(tmp_path / "o"), "--thin", "2", "--opaque", "1", "--debug"])
