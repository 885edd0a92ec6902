"""Seeded, vectorised synthetic Sentinel-2 samples with known cloud optical thickness.

``generate(n, seed)`` draws surfaces, geometry, aerosol, water vapour and clouds, simulates L1C TOA
reflectance for all 13 bands (``atmosphere.cloudy_toa``), adds sensor noise and quantisation, and
derives L2A-like bottom-of-atmosphere values by a clear-sky atmospheric correction with imperfect
aerosol / water-vapour estimates (as Sen2Cor would: clouds then look as they do in real L2A).
"""

import numpy as np

from ...core.bands import S2_BANDS
from .atmosphere import AEROSOL_TYPES, cloudy_toa, correct_to_surface
from .surfaces import SURFACE_WEIGHTS, SURFACES, sample_surfaces


def sample_cot(n: int, rng: np.random.Generator) -> np.ndarray:
    """COT in [0, 50]: 18 % clear, 10 % faint haze (0-0.25), 32 % around the thin-cloud range (0.2-2.5),
    40 % log-uniform 0.5-50."""
    u = rng.random(n)
    cot = np.zeros(n)
    haze = (u >= 0.18) & (u < 0.28)
    cot[haze] = rng.uniform(0.0, 0.25, haze.sum())
    mid = (u >= 0.28) & (u < 0.6)
    cot[mid] = rng.uniform(0.2, 2.5, mid.sum())
    hi = u >= 0.6
    cot[hi] = np.exp(rng.uniform(np.log(0.5), np.log(50.0), hi.sum()))
    return cot


def sample_clouds(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Cloud phase, effective radius (um), top height (km), water-vapour scale height (km) and the depth
    below the top where the cloud's reflected light is scattered (km): 55 % low water clouds (0.5-4 km),
    15 % mixed-phase (3-8 km, small ice), 30 % ice clouds (5-14 km). Phases other than water use ice optics."""
    u = rng.random(n)
    ice, mixed = u >= 0.7, (u >= 0.55) & (u < 0.7)
    top = np.where(ice, rng.uniform(5, 14, n), np.where(mixed, rng.uniform(3, 8, n), rng.uniform(0.5, 4, n)))
    return {
        "ice": ice | mixed,
        "r_eff_um": np.where(
            ice, rng.uniform(15, 60, n), np.where(mixed, rng.uniform(10, 30, n), rng.uniform(5, 20, n))
        ),
        "top_km": top,
        "vapour_scale_km": rng.uniform(1.2, 3.0, n),
        "scatter_depth_km": rng.uniform(0.0, 1.5, n),
    }


def partial_cover(n: int, cot: np.ndarray, rng: np.random.Generator, share: float = 0.15) -> np.ndarray:
    """Cloud fraction per pixel: 1, or for ``share`` of the cloudy samples 0.15-0.95 (broken-cloud edges)."""
    f = np.ones(n)
    part = (rng.random(n) < share) & (cot > 0)
    f[part] = rng.uniform(0.15, 0.95, part.sum())
    return f


def sample_conditions(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Sun/view geometry (sun zenith 15-82 deg, Swedish winter included), aerosol AOT550, water vapour."""
    return {
        "sza": np.degrees(np.arccos(rng.uniform(np.cos(np.radians(82)), np.cos(np.radians(15)), n))),
        "vza": rng.uniform(0, 12, n),
        "aot": np.exp(rng.uniform(np.log(0.02), np.log(0.45), n)),
        "wv": rng.uniform(0.2, 6.0, n),  # up to humid tropical columns
    }


def sample_aerosols(n: int, shares: dict[str, float] | None, seed: int) -> np.ndarray:
    """Aerosol model per sample (index into ``AEROSOL_TYPES``) drawn with ``shares`` {type: share}; None: all
    continental. Drawn from a generator of its own (seeded by ``seed``), so adding types changes no other draw."""
    if not shares:
        return np.zeros(n, dtype=int)
    unknown = sorted(set(shares) - set(AEROSOL_TYPES))
    if unknown:
        raise ValueError(f"unknown aerosol types {unknown}; the lookup tables have {list(AEROSOL_TYPES)}")
    p = np.array([float(shares.get(t, 0.0)) for t in AEROSOL_TYPES])
    if (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"aerosol shares must be >= 0 with a positive sum, got {shares}")
    return np.random.default_rng([seed, 7]).choice(len(AEROSOL_TYPES), n, p=p / p.sum())


def add_noise(refl: np.ndarray, rng: np.random.Generator, rel: float = 0.007, absolute: float = 3e-4) -> np.ndarray:
    """Sensor-like noise (relative + absolute), a per-sample calibration/BRDF factor, 1e-4 quantisation."""
    gain = rng.normal(1.0, 0.02, (refl.shape[0], 1)) * rng.normal(1.0, 0.01, refl.shape)
    noisy = refl * gain + rng.normal(0, 1, refl.shape) * (rel * np.abs(refl) + absolute)
    return np.round(noisy, 4)


def generate(
    n: int,
    seed: int = 0,
    cot: np.ndarray | None = None,
    surface: np.ndarray | None = None,
    aerosols: dict[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Generate ``n`` samples. Returns arrays keyed by name.

    ``toa`` (n, 13) L1C TOA reflectance in ``S2_BANDS`` order; ``boa`` (n, 12) L2A-like BOA in
    ``L2A_BANDS`` order; ``surface_reflectance`` (n, 13); ``cot`` (the label); ``cloud_fraction``; ``ice``
    (phase); ``r_eff_um``; ``top_km``; ``vapour_scale_km``; ``scatter_depth_km``; ``surface`` (index into
    ``SURFACES``); ``sza``, ``vza`` (deg); ``aot``; ``wv`` (g/cm2); ``aerosol`` (index into ``AEROSOL_TYPES``,
    drawn with the shares ``aerosols``, None: continental only). ``cot`` / ``surface`` may be given to fix them
    (e.g. for tests; a given ``cot`` covers the whole pixel).

    A partly covered pixel (cloud fraction f < 1, broken-cloud edges) is the area-weighted mix of the cloudy
    and the clear spectrum, labelled with the area-weighted COT f * tau: reflectance is nearly linear in tau
    in the thin range, so f * tau is about the homogeneous COT with the same brightening there, and a partly
    covered edge of a thick cloud (f * tau >= 1.25) stays opaque, i.e. masked.
    """
    rng = np.random.default_rng(seed)
    cond = {**sample_conditions(n, rng), "aerosol": sample_aerosols(n, aerosols, seed)}
    kind = (
        rng.choice(len(SURFACES), n, p=SURFACE_WEIGHTS / SURFACE_WEIGHTS.sum())
        if surface is None
        else np.asarray(surface)
    )
    rho_s = sample_surfaces(kind, rng, np.cos(np.radians(cond["sza"])))
    given = cot is not None
    cot = sample_cot(n, rng) if cot is None else np.broadcast_to(np.asarray(cot, float), (n,))
    clouds = sample_clouds(n, rng)
    frac = np.ones(n) if given else partial_cover(n, cot, rng)
    cloud_args = (clouds["ice"], clouds["r_eff_um"], clouds["top_km"])
    shape = {k: clouds[k] for k in ("vapour_scale_km", "scatter_depth_km")}
    toa = cloudy_toa(rho_s, cot, *cloud_args, **cond, **shape)
    part = frac < 1
    if part.any():
        clear = cloudy_toa(
            rho_s[part],
            np.zeros(part.sum()),
            *(a[part] for a in cloud_args),
            **{k: v[part] for k, v in cond.items()},
            **{k: v[part] for k, v in shape.items()},
        )
        toa[part] = frac[part, None] * toa[part] + (1 - frac[part, None]) * clear
    cot = cot * frac
    toa = np.clip(add_noise(toa, rng), 0, None)
    # L2A-like: Sen2Cor-style correction with its own (imperfect) aerosol and water-vapour estimates
    aot_est = cond["aot"] * rng.uniform(0.6, 1.4, n)
    wv_est = cond["wv"] * rng.uniform(0.8, 1.2, n)
    boa = correct_to_surface(toa, cond["sza"], cond["vza"], aot_est, wv_est)  # continental, as Sen2Cor's rural model
    boa = np.round(np.clip(boa + rng.normal(0, 0.003, boa.shape), -0.2, 2.0), 4)  # Sen2Cor-like value range
    keep = [i for i, b in enumerate(S2_BANDS) if b != "B10"]
    return {
        "toa": toa.astype(np.float32),
        "boa": boa[:, keep].astype(np.float32),
        "surface_reflectance": rho_s,
        "cot": np.asarray(cot, dtype=np.float32),
        "cloud_fraction": frac,
        "surface": kind,
        **clouds,
        **cond,
    }
