"""The demo as a user runs it without a terminal: quiet stderr, progress lines, only the listed outputs, readable
metadata."""

import subprocess
import sys

import xarray as xr

from cotmask.samples.real import s2cloudless_cube, to_dn, write_collection


def test_demo_off_a_terminal(shared_data, tmp_path) -> None:
    scene = to_dn(s2cloudless_cube(shared_data / "s2cloudless_1.2.2" / "input_arrays.npz")).isel(
        y=slice(0, 160), x=slice(0, 160)
    )
    src = write_collection(scene, tmp_path / "input" / "scene.nc")
    out = tmp_path / "demo"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "cotmask.cli",
            "demo",
            "--input",
            str(src),
            "--output",
            str(out),
            "--model",
            "distilled",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no engine advice, no warnings: stderr is for real problems
    assert "[7/7] done" in r.stdout
    table = r.stdout.split("[7/7] done\n", 1)[1].splitlines()[0]
    assert "cotmask_cloudy" in table and table.rstrip().endswith("scene")  # one unwrapped header line
    written = sorted(p.name for p in out.iterdir())
    assert written == [
        "composite.nc",
        "composite.png",
        "cotmask.nc",
        "quicklook_2017-01-01.png",
        "scenes.csv",
        "screening.csv",
        "series_quicklook.png",
    ]  # no intermediate collections
    assert all(name in r.stdout for name in written)
    ds = xr.open_dataset(out / "cotmask.nc")
    assert ds.attrs["cotmask_model"] == "distilled" and "units" not in ds.attrs and ds["cot"].attrs["units"] == "1"
