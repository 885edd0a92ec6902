"""Seeded, vectorised synthetic Sentinel-2 samples with known cloud optical thickness.

``generate(n, seed)`` draws surfaces, geometry, aerosol, water vapour and clouds, simulates L1C TOA
reflectance for all 13 bands (``atmosphere.cloudy_toa``), adds sensor noise and quantisation, and
derives L2A-like bottom-of-atmosphere values by a clear-sky atmospheric correction with imperfect
aerosol / water-vapour estimates (as Sen2Cor would: clouds then look as they do in real L2A).
"""

import numpy as np

from .atmosphere import cloudy_toa, correct_to_surface
from .optics import S2_BANDS
from .surfaces import SURFACE_WEIGHTS, SURFACES, sample_surfaces

L2A_BANDS: tuple[str, ...] = tuple(b for b in S2_BANDS if b != "B10")


def sample_cot(n: int, rng: np.random.Generator) -> np.ndarray:
    """COT in [0, 50]: 25 % clear, 35 % around the thin-cloud range (0.2-2.5), 40 % log-uniform 0.5-50."""
    u = rng.random(n)
    cot = np.zeros(n)
    mid = (u >= 0.25) & (u < 0.6)
    cot[mid] = rng.uniform(0.2, 2.5, mid.sum())
    hi = u >= 0.6
    cot[hi] = np.exp(rng.uniform(np.log(0.5), np.log(50.0), hi.sum()))
    return cot


def sample_clouds(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Cloud phase, effective radius (um) and top height (km): low water clouds and high ice clouds."""
    ice = rng.random(n) < 0.4
    return {
        "ice": ice,
        "r_eff_um": np.where(ice, rng.uniform(15, 60, n), rng.uniform(5, 20, n)),
        "top_km": np.where(ice, rng.uniform(6, 12, n), rng.uniform(0.5, 4, n)),
    }


def sample_conditions(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Sun/view geometry (sun zenith 15-82 deg, Swedish winter included), aerosol AOT550, water vapour."""
    return {
        "sza": np.degrees(np.arccos(rng.uniform(np.cos(np.radians(82)), np.cos(np.radians(15)), n))),
        "vza": rng.uniform(0, 12, n),
        "aot": np.exp(rng.uniform(np.log(0.02), np.log(0.45), n)),
        "wv": rng.uniform(0.2, 4.5, n),
    }


def add_noise(refl: np.ndarray, rng: np.random.Generator, rel: float = 0.007, absolute: float = 3e-4) -> np.ndarray:
    """Sensor-like noise (relative + absolute), a per-sample calibration/BRDF factor, 1e-4 quantisation."""
    gain = rng.normal(1.0, 0.02, (refl.shape[0], 1)) * rng.normal(1.0, 0.01, refl.shape)
    noisy = refl * gain + rng.normal(0, 1, refl.shape) * (rel * np.abs(refl) + absolute)
    return np.round(noisy, 4)


def generate(n: int, seed: int = 0, cot: np.ndarray | None = None, surface: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Generate ``n`` samples. Returns arrays keyed by name.

    ``toa`` (n, 13) L1C TOA reflectance in ``S2_BANDS`` order; ``boa`` (n, 12) L2A-like BOA in
    ``L2A_BANDS`` order; ``surface_reflectance`` (n, 13); ``cot``; ``ice`` (phase); ``r_eff_um``;
    ``top_km``; ``surface`` (index into ``SURFACES``); ``sza``, ``vza`` (deg); ``aot``; ``wv`` (g/cm2).
    ``cot`` / ``surface`` may be given to fix them (e.g. for tests).
    """
    rng = np.random.default_rng(seed)
    cond = sample_conditions(n, rng)
    kind = rng.choice(len(SURFACES), n, p=SURFACE_WEIGHTS / SURFACE_WEIGHTS.sum()) if surface is None else np.asarray(surface)
    rho_s = sample_surfaces(kind, rng, np.cos(np.radians(cond["sza"])))
    cot = sample_cot(n, rng) if cot is None else np.broadcast_to(np.asarray(cot, float), (n,))
    clouds = sample_clouds(n, rng)
    toa = np.clip(add_noise(cloudy_toa(rho_s, cot, clouds["ice"], clouds["r_eff_um"], clouds["top_km"], **cond), rng), 0, None)
    # L2A-like: Sen2Cor-style correction with its own (imperfect) aerosol and water-vapour estimates
    aot_est = cond["aot"] * rng.uniform(0.6, 1.4, n)
    wv_est = cond["wv"] * rng.uniform(0.8, 1.2, n)
    boa = correct_to_surface(toa, cond["sza"], cond["vza"], aot_est, wv_est)
    boa = np.round(np.clip(boa + rng.normal(0, 0.003, boa.shape), -0.2, 2.0), 4)  # Sen2Cor-like value range
    keep = [i for i, b in enumerate(S2_BANDS) if b != "B10"]
    return {"toa": toa.astype(np.float32), "boa": boa[:, keep].astype(np.float32), "surface_reflectance": rho_s,
            "cot": np.asarray(cot, dtype=np.float32), "surface": kind, **clouds, **cond}
