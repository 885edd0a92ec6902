"""Cloud shadows: known geometry on real clear scenes, the labelled ukis-csmask tile, the UDF and its checks."""

import numpy as np
import pytest
import xarray as xr

import cotmask
from cotmask.core.bands import S2_BANDS
from cotmask.local.harness import run_udf_locally
from cotmask.samples.synthetic import inject_into_scenes, shadow_shift
from cotmask.udf.shadow import parse_shadow_context, shadow_mask, shadow_step

B = {b: i for i, b in enumerate(S2_BANDS)}


def f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = (pred & truth).sum()
    return 2 * tp / max(pred.sum() + truth.sum(), 1)


def test_shadow_step_points_away_from_the_sun() -> None:
    # sun in the south-east (azimuth 135) at zenith 45: shadows go north-west (up, left), 1 m per metre of height
    np.testing.assert_allclose(shadow_step(135.0, 45.0), [-np.sqrt(0.5), -np.sqrt(0.5)], atol=1e-12)
    # a sensor in the east at view zenith 10 makes the cloud appear west of its nadir point: the shadow is
    # then further east of the apparent cloud than of the real one
    assert shadow_step(180.0, 45.0, 90.0, 10.0)[1] == pytest.approx(np.tan(np.radians(10.0)))


@pytest.fixture(scope="module")
def injected(shared_data):
    """Real clear eo-learn scenes, clouds injected with cotmask.synth and their exact shadows (sun azimuth 155,
    zenith 45, cloud tops 150 m: 15 px at 10 m), with the distilled L1C model's classes."""
    scenes = np.load(shared_data / "eolearn" / "REFERENCE_SCENES.npy")[[2, 3, 4]]
    cube, truth = inject_into_scenes(scenes, seed=3, shadow=shadow_shift(155.0, 45.0, 150.0, 10.0))
    toa = cube.transpose("t", "y", "x", "bands").values
    bands = cotmask.load_model("L1C", "distilled").bands
    cls = cotmask.predict(toa[..., [B[b] for b in bands]].reshape(-1, len(bands)), "L1C", "distilled")["cloud_class"]
    return toa, cls.reshape(toa.shape[:3]), truth.shadow.values


@pytest.mark.parametrize("angles", [None, {"sun_azimuth": 155.0, "sun_zenith": 45.0}], ids=["estimated", "given"])
def test_exact_shadows_on_real_clear_scenes_are_found(injected, angles) -> None:
    toa, classes, truth = injected
    scores = []
    for i in range(len(toa)):
        if truth[i].sum() < 100:
            continue
        mask, info = shadow_mask(
            toa[i, ..., B["B03"]],
            toa[i, ..., B["B08"]],
            toa[i, ..., B["B11"]],
            classes[i],
            10.0,
            {"work_resolution": 10.0},
            angles,
        )
        assert info["matched"]
        assert abs((info["direction_deg"] - 335.0 + 180) % 360 - 180) <= 15  # the shadow side: north-north-west
        # shadow under thin cirrus that the cirrus floor already masks as cloud needs no shadow flag
        scores.append(f1(mask == 1, truth[i] & (classes[i] == 0)))
    assert len(scores) == 2 and min(scores) > 0.8, scores


@pytest.fixture(scope="module")
def ukis(shared_data):
    z = np.load(shared_data / "ukis_csmask" / "sentinel2.npz")
    return z["img"].astype(np.float32), z["msk"][..., 0]


def test_labelled_shadows_of_the_ukis_tile(ukis) -> None:
    """Given the tile's labelled clouds as opaque cloud (no model in the loop), the shadow step finds the
    labelled shadows (ukis-csmask's own shadow class: F1 0.826 here), and nothing far from any cloud."""
    img, msk = ukis
    cloud_class = np.where(msk == 4, 2.0, 0.0).astype(np.float32)
    mask, info = shadow_mask(img[..., 1], img[..., 3], img[..., 4], cloud_class, 30.0)
    assert info["matched"] and info["estimated"]
    assert abs((info["direction_deg"] - 335.0 + 180) % 360 - 180) <= 15
    shadow = mask == 1
    assert f1(shadow, msk == 0) > 0.85
    from scipy.ndimage import distance_transform_edt

    far = distance_transform_edt(~np.isin(msk, (0, 4))) * 30.0 > 300  # land/water > 300 m from cloud and shadow
    assert far.sum() > 20000 and shadow[far].mean() <= 0.02


def test_no_clouds_no_shadows_and_unmatched_darkness_stays_clear(ukis) -> None:
    img, msk = ukis
    mask, info = shadow_mask(img[..., 1], img[..., 3], img[..., 4], np.zeros(msk.shape, np.float32), 30.0)
    assert not info["matched"] and np.nansum(mask) == 0
    # clouds whose displaced positions are not dark (a random cloud field): no match, no shadow
    rng = np.random.default_rng(0)
    fake = np.where(rng.random(msk.shape) < 0.05, 2.0, 0.0).astype(np.float32)
    mask, info = shadow_mask(img[..., 1], img[..., 3], img[..., 4], fake, 30.0)
    assert not info["matched"] and np.nansum(mask) == 0


def test_shadow_udf_output_and_nodata(ukis) -> None:
    img, msk = ukis
    cube = xr.DataArray(
        np.moveaxis(img[..., [1, 3, 4]], -1, 0)[None],
        dims=("t", "bands", "y", "x"),
        coords={
            "t": np.array(["2020-06-01"], dtype="datetime64[ns]"),
            "bands": ["B03", "B08", "B11"],
            "y": 5_000_000.0 - 30.0 * np.arange(512),
            "x": 400_000.0 + 30.0 * np.arange(512),
        },
    )
    cube[0, :, :10, :10] = np.nan
    classes = xr.DataArray(
        np.where(msk == 4, 2.0, 0.0)[None, None],
        dims=("t", "bands", "y", "x"),
        coords={**{k: cube[k] for k in ("t", "y", "x")}, "bands": ["cloud_class"]},
    )
    out = run_udf_locally(xr.concat([cube, classes], dim="bands"), {"scale": 1.0}, udf="cotmask_shadow_udf.py")
    assert out.coords["bands"].values.tolist() == ["B03", "B08", "B11", "cloud_class", "shadow"]
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.isel(bands=slice(0, 4)).values, xr.concat([cube, classes], dim="bands").values)
    shadow = out.isel(t=0, bands=-1).values
    assert np.isnan(shadow[:10, :10]).all() and set(np.unique(shadow[10:, 10:])) == {0.0, 1.0}
    assert f1(shadow == 1, msk == 0) > 0.85
    folded = run_udf_locally(
        xr.concat([cube, classes], dim="bands"), {"scale": 1.0, "fold": 1}, udf="cotmask_shadow_udf.py"
    )
    cls = folded.sel(bands="cloud_class").isel(t=0).values
    assert folded.coords["bands"].values.tolist() == ["B03", "B08", "B11", "cloud_class"]
    np.testing.assert_array_equal(cls == 3, shadow == 1)  # shadows fall on clear ground only here
    np.testing.assert_array_equal(np.where(shadow == 1, 0.0, cls), classes.isel(t=0, bands=0).values)
    from cotmask.udf.shadow import shadow_cube

    given = xr.concat([cube, classes], dim="bands").astype(np.float32)
    before = given.copy(deep=True)
    shadow_cube(given, {"scale": 1.0, "fold": 1})
    xr.testing.assert_identical(given, before)  # folding works on a copy, not on the caller's cube


@pytest.mark.parametrize(
    "context,match",
    [
        ({"darkness": 1.5}, "darkness must be within"),
        ({"sun_azimuth": 150.0}, "both sun_azimuth and sun_zenith"),
        ({"cloud_class": 3}, "cloud_class must be 1"),
        ({"max_height": "8 km"}, "max_height must be a number"),
        ({"colour": 1}, "unknown shadow context keys"),
    ],
)
def test_bad_shadow_context_is_named(context: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_shadow_context(context)


def test_shadow_udf_needs_its_bands_and_metres() -> None:
    cube = xr.DataArray(
        np.zeros((2, 4, 4), np.float32),
        dims=("bands", "y", "x"),
        coords={"bands": ["B03", "B08"], "y": np.arange(4.0), "x": np.arange(4.0)},
    )
    with pytest.raises(ValueError, match=r"lacks bands \['B11', 'cloud_class'\]"):
        run_udf_locally(cube, {}, udf="cotmask_shadow_udf.py")
    geo = xr.DataArray(
        np.zeros((4, 4, 4), np.float32),
        dims=("bands", "y", "x"),
        coords={
            "bands": ["B03", "B08", "B11", "cloud_class"],
            "y": 60 - 1e-4 * np.arange(4.0),
            "x": 15 + 1e-4 * np.arange(4.0),
        },
    )
    with pytest.raises(ValueError, match="not metres"):
        run_udf_locally(geo, {}, udf="cotmask_shadow_udf.py")


def test_two_cloud_layers_each_cast_their_own_shadow(shared_data) -> None:
    """A real clear scene (eo-learn, tiled to 300 px) with a low cloud layer (shadow 28 px away) on the left, a high
    one (66 px) on the right and dark patches no cloud explains: each cloud object keeps its own heights, so the
    high layer's displacement is not applied to the low clouds (window heights alone: F1 0.76 here)."""
    from scipy.ndimage import gaussian_filter

    from cotmask.samples.synthetic import SHADOW_LIGHT
    from cotmask.udf.shadow import displace

    img = np.tile(np.load(shared_data / "eolearn" / "REFERENCE_SCENES.npy")[3], (3, 3, 1))[:300, :300].astype(
        np.float32
    )
    rng = np.random.default_rng(1)
    field = lambda sigma: (lambda f: (f - f.mean()) / f.std())(gaussian_filter(rng.normal(size=(300, 300)), sigma))  # noqa: E731
    cloud = field(5) > 1.3
    low, high = cloud.copy(), cloud.copy()
    low[:, 150:], high[:, :150] = False, False
    shadow = (displace(low, [(-25, -12)]) | displace(high, [(-60, -28)])) & ~cloud
    dark_patch = (field(4) > 1.0) & ~shadow
    light = np.array([SHADOW_LIGHT[b] for b in S2_BANDS], np.float32)
    img[dark_patch | shadow] *= light
    img[cloud] = 0.6
    mask, info = shadow_mask(
        img[..., B["B03"]],
        img[..., B["B08"]],
        img[..., B["B11"]],
        np.where(cloud, 2.0, 0.0).astype(np.float32),
        10.0,
        {"work_resolution": 10.0},
    )
    found = mask == 1
    assert info["matched"] and f1(found, shadow) > 0.8
    for layer in (low, high):
        own = shadow & displace(layer, [(-25, -12), (-60, -28)])
        assert (found & own).sum() / own.sum() > 0.95
