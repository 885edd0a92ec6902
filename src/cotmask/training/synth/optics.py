"""Cloud and snow optics: single-scattering properties and a delta-Eddington two-stream layer.

The two-stream solution follows Meador & Weaver (1980, J. Atmos. Sci. 37, 630) with Eddington
coefficients and delta scaling (Joseph, Wiscombe & Weinman 1976). Absorption of large water/ice
particles uses the weak-absorption geometric-optics estimate 1 - omega ~ 8 k r / lambda
(saturating at 0.47), with the imaginary refractive index k of liquid water (Hale & Querry 1973)
and ice (Warren & Brandt 2008) read off at Sentinel-2 band centres (approximate values).
"""

import numpy as np

#: Sentinel-2 MSI bands modelled by the generator, with centre wavelength and width (nm).
CENTRE_NM = np.array([443, 490, 560, 665, 705, 740, 783, 842, 865, 945, 1375, 1610, 2190], dtype=float)
WIDTH_NM = np.array([20, 65, 35, 30, 15, 15, 20, 115, 20, 20, 30, 90, 180], dtype=float)

# Imaginary refractive index at band centres (approximate literature values).
K_WATER = np.array([1e-9, 1e-9, 2e-9, 1.6e-8, 3e-8, 1e-7, 1.3e-7, 2.7e-7, 3.5e-7, 1.5e-6, 7e-5, 8.5e-5, 3e-4])
K_ICE = np.array([1e-9, 1e-9, 3e-9, 1.6e-8, 3e-8, 6e-8, 1e-7, 2e-7, 2.4e-7, 6e-7, 2e-5, 2.6e-4, 1.6e-4])
G_WATER, G_ICE = 0.86, 0.78


def co_albedo(k: np.ndarray, r_eff_um: np.ndarray, wavelength_um: np.ndarray) -> np.ndarray:
    """Single-scattering co-albedo 1 - omega of large absorbing particles (weak-absorption limit)."""
    x = 8.0 * k * r_eff_um / wavelength_um
    return 0.47 * (1.0 - np.exp(-x / 0.47))


def particle_optics(ice: np.ndarray, r_eff_um: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-band single-scattering albedo and asymmetry for water (ice=False) or ice (ice=True).

    ``ice`` and ``r_eff_um`` broadcast against each other; the band axis is appended last.
    """
    ice = np.asarray(ice, dtype=bool)[..., None]
    k = np.where(ice, K_ICE, K_WATER)
    omega = 1.0 - co_albedo(k, np.asarray(r_eff_um, dtype=float)[..., None], CENTRE_NM / 1000.0)
    g = np.where(ice, G_ICE, G_WATER) * np.ones_like(omega)
    return omega, g


def _delta_eddington(omega: np.ndarray, g: np.ndarray, mu0: np.ndarray) -> tuple[np.ndarray, ...]:
    f = g * g
    om = np.minimum((1.0 - f) * omega / (1.0 - omega * f), 1.0 - 1e-7)
    gs = (g - f) / (1.0 - f)
    g1 = (7.0 - om * (4.0 + 3.0 * gs)) / 4.0
    g2 = -(1.0 - om * (4.0 - 3.0 * gs)) / 4.0
    g3 = (2.0 - 3.0 * gs * mu0) / 4.0
    k = np.sqrt(g1 * g1 - g2 * g2)
    return om, 1.0 - omega * f, g1, g2, g3, 1.0 - g3, k


def two_stream(tau: np.ndarray, omega: np.ndarray, g: np.ndarray, mu0: np.ndarray) -> dict[str, np.ndarray]:
    """Delta-Eddington reflectance and transmittance of a plane-parallel layer over a black surface.

    All inputs broadcast. Returns ``r_dir`` (reflectance for a direct beam at cosine ``mu0``),
    ``t_dir`` (direct beam transmitted unscattered), ``t_dif`` (direct beam transmitted diffusely),
    ``r_bar`` and ``t_bar`` (reflectance and transmittance for diffuse illumination).
    """
    tau, omega, g, mu0 = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (tau, omega, g, mu0)))
    om, tscale, g1, g2, g3, g4, k = _delta_eddington(omega, g, mu0)
    T = tscale * tau
    inv_mu = 1.0 / mu0
    det = inv_mu * inv_mu - k * k
    near = np.abs(det) < 1e-6  # resonance k = 1/mu0: nudge mu0
    inv_mu = np.where(near, inv_mu * (1 + 1e-4), inv_mu)
    det = inv_mu * inv_mu - k * k
    cu = (-om * g3 * (g1 - inv_mu) - om * g2 * g4) / det
    cd = ((g1 + inv_mu) * (-om * g4) - om * g3 * g2) / det
    r_m, r_p = (g1 + k) / g2, (g1 - k) / g2
    E, eT = np.exp(-k * T), np.exp(-T * inv_mu)
    det2 = r_m - r_p * E * E
    a = (-cd + r_p * E * cu * eT) / det2
    b = (-r_m * cu * eT + E * cd) / det2
    mu = 1.0 / inv_mu
    return {
        "r_dir": np.clip((a + b * E + cu) / mu, 0.0, 1.0),
        "t_dir": eT,
        "t_dif": np.clip((a * r_m * E + b * r_p + cd * eT) / mu, 0.0, 1.0),
        "r_bar": (1.0 - E * E) / det2,
        "t_bar": E * (r_m - r_p) / det2,
    }


def semi_infinite_reflectance(omega: np.ndarray, g: np.ndarray, mu0: np.ndarray) -> np.ndarray:
    """Direct-beam reflectance of a semi-infinite delta-Eddington medium (used for snow packs)."""
    omega, g, mu0 = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (omega, g, mu0)))
    om, _, g1, g2, g3, g4, k = _delta_eddington(omega, g, mu0)
    inv_mu = 1.0 / mu0
    det = inv_mu * inv_mu - k * k
    det = np.where(np.abs(det) < 1e-6, 1e-6, det)
    cu = (-om * g3 * (g1 - inv_mu) - om * g2 * g4) / det
    cd = ((g1 + inv_mu) * (-om * g4) - om * g3 * g2) / det
    r_m = (g1 + k) / g2
    return np.clip((cu - cd / r_m) * inv_mu, 0.0, 1.0)
