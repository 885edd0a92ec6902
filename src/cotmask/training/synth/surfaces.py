"""Surface reflectance spectra (13 Sentinel-2 bands) for the synthetic generator.

Vegetation comes from the committed PROSAIL library (``canopy_library.npz``, built by
``training/make_surface_library.py``); the other surfaces are parametric spectra with random
brightness and shape, covering the classic false clouds of per-pixel cloud models (turbid water,
bright red soils, sand and salt flats, bright roofs, snow and ice at low sun).
"""

from functools import lru_cache
from pathlib import Path

import numpy as np

from .optics import CENTRE_NM, particle_optics, semi_infinite_reflectance

SURFACES: tuple[str, ...] = (
    "conifer_forest",
    "deciduous_forest",
    "clearcut_bare_soil",
    "agriculture_grass",
    "water",
    "snow_ice",
    "urban_rock",
    "dry_sparse_vegetation",
)
#: Sampling weights of the surface types (forests and snow are emphasised: users are forest
#: agencies in snowy countries, and snow is the known weakness; dry/sparse vegetation was missing and
#: read as vegetation under haze on real scenes).
SURFACE_WEIGHTS = np.array([0.16, 0.12, 0.13, 0.12, 0.11, 0.16, 0.1, 0.1])

_WL = CENTRE_NM / 1000.0


@lru_cache(maxsize=1)
def canopy_library() -> dict[str, np.ndarray]:
    """The PROSAIL canopy spectra per vegetated type, (n, 13) each."""
    with np.load(Path(__file__).with_name("canopy_library.npz")) as z:
        return {k: z[k].astype(float) for k in z.files if k != "provenance"}


def _pick(lib: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return lib[rng.integers(0, len(lib), n)] * rng.uniform(0.9, 1.1, (n, 1))


def soil(n: int, rng: np.random.Generator) -> np.ndarray:
    """Bare soil, clear-cut litter, red/lateritic soil, sand and salt flats: rising from blue to SWIR."""
    base = rng.uniform(0.04, 0.2, (n, 1))
    slope = rng.uniform(0.05, 0.25, (n, 1))
    x = (_WL - 0.44) / (1.6 - 0.44)
    r = base + slope * np.sqrt(np.clip(x, 0, None))
    r[:, 12] *= rng.uniform(0.75, 0.95, n)  # clay/hydroxyl absorption at 2.2 um
    r[:, 9] *= rng.uniform(0.9, 1.0, n)
    red = rng.random(n) < 0.2  # iron-rich red soils: dark blue, bright red
    r[red, :3] *= np.array([0.5, 0.65, 0.85])
    bright = rng.random(n) < 0.15  # sand / salt flats
    r[bright] = np.clip(r[bright] * rng.uniform(1.8, 3.0, (bright.sum(), 1)), 0, 0.75)
    # mix in part of a clear-cut's residual vegetation
    veg = canopy_library()["clearcut_sparse"]
    f = rng.uniform(0, 0.6, (n, 1))
    return (1 - f) * r + f * _pick(veg, n, rng)


def water(n: int, rng: np.random.Generator) -> np.ndarray:
    """Clear to sediment-laden water: dark, some green/red in turbid water, ~0 in SWIR; a quarter of it
    river/delta water so loaded with red sediment that red reaches ~0.25 and NIR ~0.15 (seen on real scenes)."""
    turb = rng.uniform(0, 1, (n, 1)) ** 2
    vis = np.interp(
        _WL,
        [0.44, 0.49, 0.56, 0.665, 0.705, 0.74, 0.84, 0.95, 1.6],
        [0.04, 0.04, 0.035, 0.02, 0.012, 0.006, 0.004, 0.002, 0.001],
    )
    turbid = np.interp(
        _WL, [0.44, 0.56, 0.665, 0.705, 0.74, 0.84, 0.95, 1.6], [0.05, 0.11, 0.10, 0.08, 0.05, 0.04, 0.015, 0.003]
    )
    sediment = np.interp(
        _WL,
        [0.44, 0.49, 0.56, 0.665, 0.705, 0.74, 0.84, 0.95, 1.6, 2.2],
        [0.05, 0.07, 0.15, 0.22, 0.21, 0.16, 0.12, 0.05, 0.012, 0.005],
    )
    heavy = (rng.random((n, 1)) < 0.25) * rng.uniform(0.3, 1.15, (n, 1))
    turbid = (1 - np.minimum(heavy, 1)) * turbid + heavy * sediment
    turb = np.where(heavy > 0, rng.uniform(0.7, 1.0, (n, 1)), turb)  # sediment-laden rivers are turbid throughout
    r = (1 - turb) * vis + turb * turbid
    return r * rng.uniform(0.6, 1.3, (n, 1)) + rng.uniform(0, 0.01, (n, 1))  # + glint/surface skylight


def dry_sparse_vegetation(n: int, rng: np.random.Generator) -> np.ndarray:
    """Dry grassland, savanna and sparse scrub: mostly bright dry soil with 10-45 % (partly senescent)
    vegetation; red ~0.08-0.15, SWIR-1 ~0.25-0.4 (under-represented before, read as haze over vegetation)."""
    ground = soil(n, rng)
    ground = np.clip(ground * rng.uniform(0.8, 1.3, (n, 1)), 0, 0.45)
    veg = _pick(canopy_library()["agriculture_grass"], n, rng)
    dry = rng.uniform(0, 0.7, (n, 1))  # senescence: weaker red edge, brighter red and SWIR
    veg = (1 - dry) * veg + dry * np.interp(
        _WL, [0.44, 0.56, 0.665, 0.74, 0.84, 1.6, 2.2], [0.05, 0.09, 0.12, 0.2, 0.25, 0.35, 0.25]
    )
    f = rng.uniform(0.1, 0.45, (n, 1))
    return (1 - f) * ground + f * veg


def urban_rock(n: int, rng: np.random.Generator) -> np.ndarray:
    """Roofs, roads, rock: flat grey spectra, with a share of very bright roofs and red tiles."""
    level = rng.uniform(0.06, 0.3, (n, 1))
    tilt = rng.uniform(-0.05, 0.12, (n, 1)) * (_WL - 0.44)
    r = level + tilt
    bright = rng.random(n) < 0.15
    r[bright] = np.clip(r[bright] * rng.uniform(1.8, 2.8, (bright.sum(), 1)), 0, 0.8)
    tiles = rng.random(n) < 0.15
    r[tiles, :4] *= np.array([0.6, 0.7, 0.9, 1.3])
    return np.clip(r, 0.01, 0.9)


def snow_ice(n: int, rng: np.random.Generator, mu0: np.ndarray) -> np.ndarray:
    """Snow (fresh to old, clean to dirty, partly in forest) and bare ice, from ice-grain optics."""
    grain = np.exp(rng.uniform(np.log(60), np.log(1500), n))
    omega, g = particle_optics(np.ones(n, bool), grain)
    r = semi_infinite_reflectance(omega, 0.89, mu0[:, None])
    soot = rng.uniform(0, 0.15, (n, 1)) * (0.5 / _WL) ** 1.5
    r = r * (1 - soot)
    bare_ice = rng.random(n) < 0.1  # glacier / lake ice: darker, blueish
    r[bare_ice] *= np.clip(1.0 - 0.5 * (_WL - 0.44), 0.2, 1) * rng.uniform(0.45, 0.75, (bare_ice.sum(), 1))
    f = rng.uniform(0.35, 1.0, (n, 1)) ** 0.5  # snow cover fraction (snowy forests, patchy snow)
    lib = canopy_library()
    forest = np.where(rng.random((n, 1)) < 0.6, _pick(lib["conifer_forest"], n, rng), soil(n, rng))
    return f * r + (1 - f) * forest


def sample_surfaces(kind: np.ndarray, rng: np.random.Generator, mu0: np.ndarray) -> np.ndarray:
    """Surface reflectance (n, 13) for an array of surface-type indices into ``SURFACES``."""
    out = np.empty((len(kind), 13))
    lib = canopy_library()
    for i, name in enumerate(SURFACES):
        sel = np.flatnonzero(kind == i)
        m = len(sel)
        if m == 0:
            continue
        if name in ("conifer_forest", "deciduous_forest"):
            out[sel] = _pick(lib[name], m, rng)
        elif name == "agriculture_grass":
            out[sel] = _pick(lib["agriculture_grass"], m, rng)
        elif name == "clearcut_bare_soil":
            out[sel] = soil(m, rng)
        elif name == "water":
            out[sel] = water(m, rng)
        elif name == "urban_rock":
            out[sel] = urban_rock(m, rng)
        elif name == "dry_sparse_vegetation":
            out[sel] = dry_sparse_vegetation(m, rng)
        else:
            out[sel] = snow_ice(m, rng, mu0[sel])
    return np.clip(out, 0.0, 1.0)
