"""Spatial consolidation (issue 21, part 1): COT averaged over a disc before the thresholds, rules kept, no seams."""

import numpy as np
import pytest

from cotmask.udf.consolidate import MAX_RADIUS, consolidate
from cotmask.udf.disc import disc_mean
from cotmask.udp import check_arguments


def _field(seed: int = 0, shape: tuple[int, int] = (150, 130)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cot = np.abs(rng.normal(0.6, 0.5, shape)).astype(np.float32)
    cot[40:60, 30:90] += 2.0  # a cloud
    cot[rng.random(shape) < 0.01] = np.nan  # nodata
    cls = (cot >= 0.75).astype(np.float32) + (cot >= 1.25)
    cls[np.isnan(cot)] = np.nan
    return cot, cls


def test_no_seams_whatever_the_windows() -> None:
    """Windows of any size with MAX_RADIUS px of overlap give the whole-array result (what apply_neighborhood does
    on a backend, whatever its tiling)."""
    cot, cls = _field()
    whole = consolidate(cot, cls, 0.75, 1.25, 4)
    for size in (32, 50):
        tiled = np.full_like(whole, -1)
        r = MAX_RADIUS
        for y0 in range(0, cot.shape[0], size):
            for x0 in range(0, cot.shape[1], size):
                ys, xs = slice(max(0, y0 - r), y0 + size + r), slice(max(0, x0 - r), x0 + size + r)
                part = consolidate(cot[ys, xs], cls[ys, xs], 0.75, 1.25, 4)
                dy, dx = y0 - ys.start, x0 - xs.start
                tiled[y0 : y0 + size, x0 : x0 + size] = part[dy : dy + size, dx : dx + size]
        np.testing.assert_array_equal(tiled, whole)


def test_disc_mean_and_classes() -> None:
    cot, cls = _field(1)
    smooth = disc_mean(cot, 2)
    y, x = 70, 70
    yy, xx = np.mgrid[-2:3, -2:3]
    window = cot[y - 2 : y + 3, x - 2 : x + 3][(yy**2 + xx**2) <= 4]
    assert smooth[y, x] == pytest.approx(np.nanmean(window), rel=1e-5)
    out = consolidate(cot, cls, 0.75, 1.25, 2)
    ok = np.isfinite(out)
    np.testing.assert_array_equal(out[ok], np.digitize(smooth[ok], [0.75, 1.25]))
    assert np.array_equal(np.isnan(out), np.isnan(cot))
    assert (consolidate(cot, cls, 0.75, 1.25, 0)[ok] == cls[ok]).all()  # radius 0: pixel by pixel


def test_the_rules_still_decide_pixel_by_pixel() -> None:
    cot, cls = _field(2)
    cls[45, 50] = 0  # snow: clear although COT >= thin
    cot[100, 100], cls[100, 100] = 0.1, 1  # cirrus floor: thin although COT < thin
    out = consolidate(cot, cls, 0.75, 1.25, 4)
    assert out[45, 50] == 0 and out[100, 100] >= 1


def test_smooth_is_checked() -> None:
    with pytest.raises(ValueError, match="smooth must be an integer radius"):
        check_arguments("cotmask_cloud_mask", smooth=MAX_RADIUS + 1)
    assert check_arguments("cotmask_cloud_mask", smooth=0)["smooth"] == 0


def test_the_cirrus_floor_holds_where_the_network_said_thin_too() -> None:
    """Given the rules band (the physics rules on these bands, as the cotmask UDF writes it), a lone pixel over the
    cirrus floor stays thin even where its own COT was thin already (before: smoothed away with its neighbours)."""
    import xarray as xr

    from cotmask.core.cube import rule_codes
    from cotmask.core.rules import rule_masks
    from cotmask.udf.consolidate import CONTEXT, consolidate_cube

    shape = (21, 21)
    cot = np.full(shape, 0.2, np.float32)
    cot[10, 10] = 0.9  # the network's own thin call, on a pixel whose B10 also reads cirrus
    cls = (cot >= 0.75).astype(np.float32)
    dn = {"B03": 500.0, "B08": 3000.0, "B11": 2000.0, "B10": 10.0}
    planes = {b: np.full(shape, v, np.float32) for b, v in dn.items()}
    planes["B10"][10, 10] = 200.0  # 0.02 TOA >= the floor

    def rules(names: list) -> np.ndarray:
        refl = np.stack([planes[b].ravel() * 1e-4 for b in names], axis=-1)
        return rule_codes(cls.ravel(), *rule_masks(refl, names, cot.ravel())).reshape(shape)

    def consolidated(names: list) -> np.ndarray:
        labels = ["cot", "cloud_class", "rules"]
        cube = xr.DataArray(np.stack([cot, cls, rules(names)]), dims=("bands", "y", "x"), coords={"bands": labels})
        return consolidate_cube(cube, {k: v[0] for k, v in CONTEXT.items()}).sel(bands="cloud_class").values

    out = consolidated(list(planes))
    assert out[10, 10] == 1 and (np.delete(out.ravel(), 10 * 21 + 10) == 0).all()
    without = consolidated(["B03", "B08", "B11"])
    assert without[10, 10] == 0  # no B10: nothing says cirrus, the neighbours win


def test_the_cotmask_udf_says_which_rule_set_the_class(shared_data) -> None:
    """Context rule_band: a fifth band ``rules`` (2 where the cirrus floor set the class, 1 the snow test); the
    consolidation reading it gives what the rules computed from the spectral bands themselves give."""
    import xarray as xr

    from cotmask.core.bands import S2_BANDS
    from cotmask.core.rules import rule_masks
    from cotmask.local.harness import run_udf_locally
    from cotmask.udf.consolidate import CONTEXT, consolidate, consolidate_cube

    toa = np.load(shared_data / "s2cloudless_1.2.2" / "input_arrays.npz")["s2_im"][0, 100:300, :200]  # cirrus
    cube = xr.DataArray(
        np.moveaxis(toa, -1, 0).astype(np.float32) / 1e-4, dims=("bands", "y", "x"), coords={"bands": list(S2_BANDS)}
    ).drop_sel(bands="B01")
    out = run_udf_locally(cube, {"rule_band": True}, udf="cotmask_udf_distilled.py")
    assert out.coords["bands"].values.tolist() == ["cot", "cot_std", "cloud_class", "ood", "rules"]
    rules = out.sel(bands="rules").values
    assert (rules == 2).sum() > 100  # the cirrus band reaches the floor there
    cls = out.sel(bands="cloud_class").values
    assert (cls[rules == 2] >= 1).all() and (cls[rules == 1] == 0).all()
    context = {k: v[0] for k, v in CONTEXT.items()}
    by_band = consolidate_cube(out, context).sel(bands="cloud_class").values
    cot = out.sel(bands="cot").values
    bands = ["B03", "B08", "B10", "B11"]
    refl = cube.sel(bands=bands).transpose("y", "x", "bands").values.reshape(-1, len(bands)) * 1e-4
    clear, cloud = rule_masks(refl, bands, cot.ravel())
    radius = context["radius"]
    want = consolidate(cot, cls, context["thin_threshold"], context["opaque_threshold"], radius, clear, cloud)
    np.testing.assert_array_equal(by_band, want)
