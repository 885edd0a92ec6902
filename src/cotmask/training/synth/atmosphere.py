"""Clear-sky atmosphere terms from the committed 6S lookup table, and the cloud adding model.

TOA reflectance of a Lambertian surface ``rho_s`` under a clear sky (6S formulation)::

    rho_toa = T_gas * (rho_path + t_down * t_up * rho_s / (1 - S * rho_s))

With a cloud layer at top height ``z`` the column is split at ``z``: above it Rayleigh scattering
scales with pressure (exp(-z / 8 km)) and water vapour with its scale height ``H`` (exp(-z / H), H 1.2-3 km
per sample), which is why B10 (1375 nm, saturated by water vapour) sees high cirrus but not the surface.
Light reflected by the cloud is scattered on average some depth ``d`` below its top, so its gaseous
path starts at ``z - d`` (vapour inside the cloud): thin cirrus then brightens B10 less than the visible,
as measured on real scenes (ratio 0.27-0.47, ../shared/notes/physics.md). The cloud
(delta-Eddington two-stream, ``optics.two_stream``) is combined with the atmosphere-surface system
below it by the adding method::

    R = R_c + (t_dir + t_dif) * rho_low * T_bar / (1 - R_bar * rho_low)

For COT = 0 this reduces to the clear-sky formula.
"""

from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from ...core.bands import S2_BANDS
from .optics import particle_optics, two_stream

RAYLEIGH_SCALE_KM = 8.0
VAPOUR_SCALE_KM = 2.0


#: 6S aerosol models of the lookup tables, by index: continental (atmosphere_lut.npz) and the three of
#: atmosphere_aerosols.npz (``training/make_lut.py --aerosols``), on the same grid.
AEROSOL_TYPES = ("continental", "maritime", "desert", "biomass_burning")


def _scattering_grid(z, table: np.ndarray | None = None) -> RegularGridInterpolator:
    terms = [z[k] if table is None else z[k][table] for k in ("rho_path", "t_down", "t_up", "s_alb")]
    scat = np.moveaxis(np.stack(terms, axis=-1), 0, -2)  # (13, sza, vza, aot, 4) -> (sza, vza, aot, 13, 4)
    return RegularGridInterpolator((z["sza"], z["vza"], z["aot"]), scat.astype(float))


@lru_cache(maxsize=1)
def _lut() -> dict[str, object]:
    """Continental scattering and gas interpolators and the grid bounds."""
    with np.load(Path(__file__).with_name("atmosphere_lut.npz")) as z:
        gas = np.moveaxis(z["t_gas"], 0, -1)  # (sza, wv, 13)
        lut = {
            "scat": _scattering_grid(z),
            "gas": RegularGridInterpolator((z["sza"], z["wv"]), gas.astype(float)),
            "bounds": {"sza": z["sza"], "vza": z["vza"], "aot": z["aot"], "wv": z["wv"]},
        }
    return lut


@lru_cache(maxsize=1)
def _aerosol_grids() -> list[RegularGridInterpolator]:
    """Scattering interpolators of all ``AEROSOL_TYPES`` (read only when a type other than continental is asked for)."""
    with np.load(Path(__file__).with_name("atmosphere_aerosols.npz")) as z:
        if tuple(z["types"]) != AEROSOL_TYPES[1:]:
            raise ValueError(f"atmosphere_aerosols.npz holds {list(z['types'])}, expected {list(AEROSOL_TYPES[1:])}")
        return [_lut()["scat"], *(_scattering_grid(z, i) for i in range(len(z["types"])))]


def _clip(name: str, v: np.ndarray) -> np.ndarray:
    g = _lut()["bounds"][name]
    return np.clip(np.asarray(v, dtype=float), g[0], g[-1])


def scattering_terms(
    sza: np.ndarray, vza: np.ndarray, aot: np.ndarray, aerosol: np.ndarray | int = 0
) -> tuple[np.ndarray, ...]:
    """Per-band (n, 13) path reflectance, downward and upward transmittance, spherical albedo; ``aerosol``: index
    into ``AEROSOL_TYPES`` per sample (0: continental)."""
    pts = np.stack(np.broadcast_arrays(_clip("sza", sza), _clip("vza", vza), _clip("aot", aot)), axis=-1)
    kinds = np.broadcast_to(np.asarray(aerosol, dtype=int), pts.shape[:-1])
    if not np.any(kinds):
        s = _lut()["scat"](pts)
    else:
        grids = _aerosol_grids()
        s = np.empty((*pts.shape[:-1], len(S2_BANDS), 4))
        for k in np.unique(kinds):
            s[kinds == k] = grids[k](pts[kinds == k])
    return s[..., 0], s[..., 1], s[..., 2], s[..., 3]


def gas_transmittance(sza: np.ndarray, wv: np.ndarray) -> np.ndarray:
    """Two-way total gaseous transmittance (n, 13) for a water-vapour column ``wv`` (g/cm2); above the
    table's largest column (5 g/cm2) log-linear in the column, from its last step (humid tropical air)."""
    grid = _lut()["bounds"]["wv"]
    wv = np.asarray(wv, dtype=float)
    pts = np.stack(np.broadcast_arrays(_clip("sza", sza), _clip("wv", wv)), axis=-1)
    t = _lut()["gas"](pts)
    over = np.broadcast_to(wv, t.shape[:-1]) > grid[-1]
    if over.any():
        sza_b = np.broadcast_to(_clip("sza", sza), t.shape[:-1])[over]
        top = _lut()["gas"](np.stack([sza_b, np.full(over.sum(), grid[-1])], -1))
        below = _lut()["gas"](np.stack([sza_b, np.full(over.sum(), grid[-2])], -1))
        k = np.log(np.maximum(top, 1e-12) / np.maximum(below, 1e-12)) / (grid[-1] - grid[-2])
        t[over] = top * np.exp(k * (np.broadcast_to(wv, t.shape[:-1])[over] - grid[-1])[:, None])
    return t


def clear_toa(
    surface: np.ndarray,
    sza: np.ndarray,
    vza: np.ndarray,
    aot: np.ndarray,
    wv: np.ndarray,
    aerosol: np.ndarray | int = 0,
) -> np.ndarray:
    """Clear-sky TOA reflectance (n, 13) of a Lambertian surface (n, 13)."""
    rho, td, tu, s = scattering_terms(sza, vza, aot, aerosol)
    return gas_transmittance(sza, wv) * (rho + td * tu * surface / (1.0 - s * surface))


def correct_to_surface(
    toa: np.ndarray, sza: np.ndarray, vza: np.ndarray, aot: np.ndarray, wv: np.ndarray
) -> np.ndarray:
    """Invert ``clear_toa``: a clear-sky atmospheric correction (as Sen2Cor does for L2A)."""
    rho, td, tu, s = scattering_terms(sza, vza, aot)
    with np.errstate(divide="ignore", invalid="ignore"):  # B10: gas transmittance ~0, no surface signal
        y = (toa / gas_transmittance(sza, wv) - rho) / (td * tu)
        return y / (1.0 + s * y)


def cloudy_toa(
    surface: np.ndarray,
    cot: np.ndarray,
    ice: np.ndarray,
    r_eff_um: np.ndarray,
    top_km: np.ndarray,
    sza: np.ndarray,
    vza: np.ndarray,
    aot: np.ndarray,
    wv: np.ndarray,
    vapour_scale_km: np.ndarray | float = VAPOUR_SCALE_KM,
    scatter_depth_km: np.ndarray | float = 0.0,
    aerosol: np.ndarray | int = 0,
) -> np.ndarray:
    """TOA reflectance (n, 13) of a surface (n, 13) under a cloud layer; all other args are (n,).

    ``cot`` is the optical thickness (~550 nm, about the same in all bands), ``ice`` the phase,
    ``r_eff_um`` the effective particle radius and ``top_km`` the cloud-top height; ``vapour_scale_km``
    the water-vapour scale height and ``scatter_depth_km`` how far below the top the cloud's reflected
    light is scattered on average (its vapour path starts there); ``aerosol`` the index into ``AEROSOL_TYPES``.
    """
    col = lambda a: np.asarray(a, dtype=float).reshape(-1, 1)  # noqa: E731
    sza, vza, aot, wv, top_km, cot = (np.asarray(a, dtype=float) for a in (sza, vza, aot, wv, top_km, cot))
    mu0 = np.cos(np.radians(sza))
    rho, td, tu, s = scattering_terms(sza, vza, aot, aerosol)
    rho_r, td_r, tu_r, _ = scattering_terms(sza, vza, np.zeros_like(aot))  # ~Rayleigh only
    p_frac = col(np.exp(-top_km / RAYLEIGH_SCALE_KM))
    rho_above = rho_r * p_frac
    t_above = (td_r * tu_r) ** p_frac
    h = np.asarray(vapour_scale_km, dtype=float)
    tg_total = gas_transmittance(sza, wv)
    tg_above = gas_transmittance(sza, wv * np.exp(-top_km / h))
    tg_below = tg_total / np.maximum(tg_above, 1e-9)
    depth = np.minimum(np.asarray(scatter_depth_km, dtype=float), top_km)
    tg_cloud = gas_transmittance(sza, wv * np.exp(-(top_km - depth) / h))  # path of the light the cloud reflects
    rho_low = tg_below * ((rho - rho_above) / t_above + td * tu * surface / (t_above * (1.0 - s * surface)))
    omega, g = particle_optics(ice, r_eff_um)
    c = two_stream(col(cot), omega, g, col(mu0))
    through = (c["t_dir"] + c["t_dif"]) * rho_low * c["t_bar"] / (1.0 - c["r_bar"] * rho_low)
    return tg_above * (rho_above + t_above * through) + tg_cloud * t_above * c["r_dir"]


def inject_clouds(
    toa: np.ndarray,
    cot: np.ndarray,
    ice: np.ndarray,
    r_eff_um: np.ndarray,
    top_km: np.ndarray,
    sza: np.ndarray,
    vza: np.ndarray,
    aot: np.ndarray,
    wv: np.ndarray,
) -> np.ndarray:
    """Add a cloud of known COT to real clear-sky TOA pixels (n, 13), e.g. real clear scenes.

    The surface is retrieved by ``correct_to_surface`` (B10, which never sees the surface, takes the
    mean of B8A and B11), and the modelled cloud effect ``cloudy_toa(cot) - cloudy_toa(0)`` is added
    to the real values, so pixels with COT = 0 keep their real reflectance exactly.
    """
    surf = correct_to_surface(toa, sza, vza, aot, wv)
    surf[:, 10] = 0.5 * (surf[:, 8] + surf[:, 11])
    surf = np.clip(np.nan_to_num(surf, nan=0.0), 0.0, 1.0)
    geo = (sza, vza, aot, wv)
    effect = cloudy_toa(surf, cot, ice, r_eff_um, top_km, *geo) - cloudy_toa(
        surf, np.zeros_like(cot), ice, r_eff_um, top_km, *geo
    )
    return np.clip(toa + effect, 0.0, None)
