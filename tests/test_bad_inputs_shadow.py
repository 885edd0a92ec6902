"""Bad inputs, round three (issue 20): the shadow UDF's angle bands obey the context's rules, and NaN angle bands fall
back to the context (else the scene estimate) instead of crashing."""

import numpy as np
import pytest
import xarray as xr

from cotmask.udf.shadow import ANGLE_BANDS, parse_shadow_context, shadow_cube, shadow_step

SUN = {"sun_azimuth": 150.0, "sun_zenith": 40.0}
RES = 60.0


def _cube(angle_values: dict | None = None, n: int = 96) -> xr.DataArray:
    """Reflectance B03/B08/B11 and cloud_class at 60 m: opaque clouds whose shadows lie 1.5 km up along ``SUN``'s
    shadow step, plus the angle bands given (key of ``ANGLE_BANDS`` -> value or array)."""
    rng = np.random.default_rng(5)
    ground = np.array([0.08, 0.30, 0.20])[:, None, None] * (1 + 0.1 * rng.random((3, n, n)))
    cloud = np.zeros((n, n), bool)
    for y0, x0 in [(50, 50), (65, 70), (75, 35)]:
        cloud[y0 : y0 + 8, x0 : x0 + 8] = True
    dy, dx = np.rint(shadow_step(SUN["sun_azimuth"], SUN["sun_zenith"]) * 1500.0 / RES).astype(int)
    shadow = np.roll(cloud, (dy, dx), axis=(0, 1)) & ~cloud
    refl = np.where(shadow, 0.2 * ground, ground)
    refl = np.where(cloud, 0.6, refl)
    bands = [refl[0], refl[1], refl[2], np.where(cloud, 2.0, 0.0)]
    names = ["B03", "B08", "B11", "cloud_class"]
    for key, value in (angle_values or {}).items():
        bands.append(np.broadcast_to(np.asarray(value, dtype=float), (n, n)))
        names.append(ANGLE_BANDS[key])
    return xr.DataArray(
        np.stack(bands).astype(np.float32),
        dims=("bands", "y", "x"),
        coords={"bands": names, "y": 7_000_000.0 - RES * np.arange(n), "x": 500_000.0 + RES * np.arange(n)},
    )


def _shadow(cube: xr.DataArray, context: dict | None = None) -> np.ndarray:
    return shadow_cube(cube, {"scale": 1.0, **(context or {})}).sel(bands="shadow").values


BAD = [
    ({"sun_zenith": 95.0, "sun_azimuth": 150.0}, r"sun_zenith .*must be within \[0, 89\)"),
    ({"sun_zenith": 135.0, "sun_azimuth": 150.0}, r"sun_zenith .*must be within \[0, 89\)"),
    ({"sun_zenith": -40.0, "sun_azimuth": 150.0}, r"sun_zenith .*must be within \[0, 89\)"),
    ({"sun_zenith": 40.0, "sun_azimuth": 400.0}, r"sun_azimuth .*must be within \[0, 360\]"),
    ({"sun_zenith": 0.70, "sun_azimuth": 2.62}, "look like radians: degrees are expected"),
    ({**SUN, "view_zenith": 45.0, "view_azimuth": 100.0}, r"view_zenith .*must be within \[0, 20\]"),
]


@pytest.mark.parametrize(
    "angles,match", BAD, ids=["zenith95", "zenith135", "zenith-40", "azimuth400", "radians", "view45"]
)
def test_bad_angle_bands_are_refused_as_the_context_is(angles: dict, match: str) -> None:
    """Before issue 20 the bands were never checked: every case gave zero shadow without a word."""
    with pytest.raises(ValueError, match=match):
        parse_shadow_context(angles)
    with pytest.raises(ValueError, match=match) as refused:
        _shadow(_cube(angles))
    assert "angle band" in str(refused.value) and "\n" not in str(refused.value)  # names the band, one line


def test_angle_bands_use_their_finite_pixels_and_fall_back_when_wholly_nan() -> None:
    """A partly NaN band counts where it is finite; a wholly NaN one is as if absent: the context's angles, else the
    scene estimate (before issue 20: ``ValueError: cannot convert float NaN to integer``)."""
    given = _shadow(_cube(), SUN)
    assert np.nansum(given) > 50  # the synthetic shadows are found
    partly = {k: np.where(np.arange(96) % 3 == 0, np.nan, v) for k, v in SUN.items()}
    np.testing.assert_array_equal(_shadow(_cube(partly)), given)
    nan = {k: np.nan for k in SUN}
    np.testing.assert_array_equal(_shadow(_cube(nan), SUN), given)
    np.testing.assert_array_equal(_shadow(_cube(nan)), _shadow(_cube()))  # estimated from the scene
    wrong = {"sun_azimuth": 330.0, "sun_zenith": 40.0}  # valid bands still take precedence over the context
    np.testing.assert_array_equal(_shadow(_cube(SUN), wrong), given)


def test_the_generated_shadow_udf_falls_back_on_nan_angle_bands(tmp_path) -> None:
    """The same through the UDF as ``cotmask build`` renders it from today's source (run as a backend runs it)."""
    from cotmask.local.harness import run_udf_locally
    from cotmask.udf.build import render

    udf = tmp_path / "cotmask_shadow_udf.py"
    udf.write_text(render("cotmask_shadow_udf.py"))
    out = run_udf_locally(_cube({k: np.nan for k in SUN}), {"scale": 1.0, **SUN}, udf=udf)
    np.testing.assert_array_equal(out.sel(bands="shadow").values, _shadow(_cube(), SUN))
    with pytest.raises(ValueError, match="look like radians"):
        run_udf_locally(_cube({"sun_zenith": 0.7, "sun_azimuth": 2.6}), {"scale": 1.0}, udf=udf)


@pytest.mark.parametrize(
    "context,message",
    [
        ({"resolution": 0}, "resolution must be positive"),
        ({"resolution": -10.0}, "resolution must be positive"),
        ({"work_resolution": float("nan")}, "work_resolution must be finite"),
        ({"min_match": 1.5}, "min_match must be within"),
    ],
)
def test_shadow_context_numbers_are_checked(context, message) -> None:
    from cotmask.udf.shadow import parse_shadow_context

    with pytest.raises(ValueError, match=message):
        parse_shadow_context(context)


def test_shadow_cube_refuses_a_band_under_two_labels() -> None:
    from cotmask.udf.shadow import shadow_cube

    labels = ["B03", "B08", "B8", "B11", "cloud_class"]
    cube = xr.DataArray(np.ones((5, 4, 4), np.float32), dims=("bands", "y", "x"), coords={"bands": labels})
    with pytest.raises(ValueError, match="band B08 is in the cube 2 times"):
        shadow_cube(cube, {"resolution": 10.0})
