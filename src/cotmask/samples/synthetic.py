"""Multi-date Sentinel-2 cubes with clouds of known COT, for the process graphs, tests and the demo.

* ``synthetic_timeseries``: made entirely by the generator over a synthetic forest landscape (conifer
  and deciduous stands, clear-cuts, a lake, grassland), deterministic, no data files needed. Each date
  has a smooth cloud field of known COT (thin edges, opaque cores, one cirrus date) and an SCL band
  imitating Sen2Cor (cloud classes only for COT > 3 / cirrus > 1.5: it misses thin cloud, as SCL does).
* ``inject_into_scenes``: real clear scenes (e.g. eo-learn's reference scenes, 13-band L1C) with the
  same kind of cloud fields added by the generator's cloud model, so masks have ground truth.
* ``haze_or_cloud``: the change a uniform aerosol haze (AOD added) or thin ice cloud (COT) makes to real clear
  reflectance in any subset of the bands, for the temporal test's evaluation on real series.
"""

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter

from ..core.bands import L2A_BANDS, S2_BANDS
from ..core.model import classify
from ..core.shipped import load_model
from ..training.synth import SURFACES, clear_toa, cloudy_toa, correct_to_surface, inject_clouds
from ..training.synth.surfaces import sample_surfaces
from ..udf.shadow import displace, shadow_step

DATES = ("2024-05-04", "2024-05-19", "2024-06-03", "2024-06-18", "2024-07-03", "2024-07-23")
SZA_BY_MONTH = {5: 47.0, 6: 41.0, 7: 43.0}  # ~60 N at 10:30 local solar time
#: SCL codes used by the imitation: 4 vegetation, 5 not vegetated, 6 water, 8/9 cloud, 10 cirrus, 11 snow.
SCL_CLOUD, SCL_CIRRUS = 9, 10


def true_classes(cot: np.ndarray) -> np.ndarray:
    """The class of a known COT (0 clear, 1 thin, 2 opaque) with the thresholds of the model metadata."""
    th = load_model("L2A").thresholds
    return classify(np.asarray(cot, dtype=np.float32), th["thin"], th["opaque"])


def cloud_fields(n: int, ny: int, nx: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-date COT maps (n, ny, nx) from smoothed noise, plus phase and top height per date.

    Date 0 is cloud-free, date 2 carries a thin high ice-cloud (cirrus) sheet, the others cumulus-like
    water clouds of growing cover with thin edges around opaque cores.
    """
    cot = np.zeros((n, ny, nx))
    ice = np.zeros(n, bool)
    top = np.full(n, 2.0)
    for i in range(1, n):
        f = gaussian_filter(rng.normal(size=(ny, nx)), sigma=max(ny, nx) / 10, mode="wrap")
        f = (f - f.mean()) / f.std()
        if i == 2:
            ice[i], top[i] = True, 9.0
            cot[i] = np.clip(1.2 * (f + 0.6), 0, 2.5)  # thin cirrus sheet, COT 0-2.5
        else:
            cover = 0.15 + 0.12 * i
            cot[i] = np.clip((f - np.quantile(f, 1 - cover)) * 12.0, 0, 40)
    return {"cot": cot, "ice": ice, "top_km": top}


def _landscape(ny: int, nx: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Voronoi patches (mostly forest): patch index map (ny, nx) and each patch's index into ``SURFACES``."""
    kinds = (
        ["conifer_forest"] * 6 + ["deciduous_forest"] * 3 + ["clearcut_bare_soil"] * 2 + ["water", "agriculture_grass"]
    )
    pts = rng.uniform(0, 1, (len(kinds), 2)) * [ny, nx]
    yy, xx = np.mgrid[:ny, :nx]
    patch = np.argmin((yy[..., None] - pts[:, 0]) ** 2 + (xx[..., None] - pts[:, 1]) ** 2, axis=-1)
    return patch, np.array([SURFACES.index(k) for k in kinds])


def _scl(surface: np.ndarray, cot: np.ndarray, ice: bool) -> np.ndarray:
    scl = np.where(
        surface == SURFACES.index("water"), 6, np.where(surface == SURFACES.index("clearcut_bare_soil"), 5, 4)
    )
    if ice:
        scl = np.where(cot > 1.5, SCL_CIRRUS, scl)
    return np.where(cot > 3.0, SCL_CLOUD, scl).astype(np.uint8)


#: Share of the sunlight a cloud shadow keeps (sky light only) per band, for the synthetic shadows: more in the
#: blue (a bluer sky) than in NIR/SWIR. A geometry check, not a radiative-transfer model.
SHADOW_LIGHT = {
    "B01": 0.4,
    "B02": 0.35,
    "B03": 0.28,
    "B04": 0.24,
    "B05": 0.2,
    "B06": 0.17,
    "B07": 0.16,
    "B08": 0.15,
    "B8A": 0.14,
    "B09": 0.14,
    "B10": 1.0,
    "B11": 0.12,
    "B12": 0.12,
}
#: Sun azimuth (degrees) of the synthetic series: Sentinel-2's morning pass, sun in the south-east.
SUN_AZIMUTH = 155.0


def shadow_of(cot: np.ndarray, shift: tuple[int, int], opaque: float) -> np.ndarray:
    """Exact shadow of the clouds (COT >= ``opaque``) of a (y, x) COT map, displaced by ``shift`` (rows, cols),
    on the pixels without cloud (COT below the model's thin threshold)."""
    return displace(cot >= opaque, [shift]) & (cot < load_model("L2A").thresholds["thin"])


def shadow_shift(sun_azimuth: float, sun_zenith: float, height_m: float, resolution: float) -> tuple[int, int]:
    """(rows, cols) from a cloud at ``height_m`` to its shadow (nadir view)."""
    dy, dx = shadow_step(sun_azimuth, sun_zenith) * height_m / resolution
    return int(round(dy)), int(round(dx))


def synthetic_timeseries(
    level: str = "L2A", size: int = 64, seed: int = 0, shadow_height: float | None = None
) -> tuple[xr.DataArray, xr.Dataset]:
    """A (t, bands, y, x) reflectance cube over a synthetic forest landscape, and its truth.

    ``level`` L2A gives BOA bands (no B10) plus ``SCL``; L1C gives the 13 TOA bands. Truth: ``cot``
    (t, y, x), ``surface`` (y, x), ``cloud_class`` (0/1/2 at the default thresholds) and, with
    ``shadow_height`` (metres), ``shadow``: the opaque clouds' exact shadows for the sun at ``SUN_AZIMUTH``
    and the month's zenith, the surface there lit by ``SHADOW_LIGHT`` only.
    """
    rng = np.random.default_rng(seed)
    patch, patch_kind = _landscape(size, size, rng)
    surface = patch_kind[patch]
    n_px = size * size
    spectra = sample_surfaces(patch_kind, rng, np.full(len(patch_kind), np.cos(np.radians(45))))  # one per patch
    refl = spectra[patch.ravel()] * rng.normal(1.0, 0.05, (n_px, 1))  # within-patch texture
    clouds = cloud_fields(len(DATES), size, size, rng)
    bands = list(S2_BANDS) if level == "L1C" else [*L2A_BANDS, "SCL"]
    out = np.zeros((len(DATES), len(bands), size, size), dtype=np.float32)
    shadows = np.zeros((len(DATES), size, size), bool)
    opaque = load_model("L2A").thresholds["opaque"]
    for i, date in enumerate(DATES):
        sza = np.full(n_px, SZA_BY_MONTH[int(date[5:7])])
        geo = {"sza": sza, "vza": np.full(n_px, 5.0), "aot": np.full(n_px, 0.08), "wv": np.full(n_px, 1.8)}
        cot = clouds["cot"][i].ravel()
        texture = refl * rng.normal(1.0, 0.02, refl.shape)
        if shadow_height is not None and not clouds["ice"][i]:
            shift = shadow_shift(SUN_AZIMUTH, sza[0], shadow_height, 20.0)
            shadows[i] = shadow_of(clouds["cot"][i], shift, opaque)
            texture[shadows[i].ravel()] *= np.array([SHADOW_LIGHT[b] for b in S2_BANDS], np.float32)
        toa = cloudy_toa(
            texture,
            cot,
            np.full(n_px, clouds["ice"][i]),
            np.full(n_px, 30.0 if clouds["ice"][i] else 10.0),
            np.full(n_px, clouds["top_km"][i]),
            **geo,
        )
        if level == "L1C":
            vals = toa
        else:
            boa = correct_to_surface(toa, **{**geo, "aot": geo["aot"] * 1.2})
            vals = np.column_stack(
                [boa[:, [S2_BANDS.index(b) for b in L2A_BANDS]], _scl(surface.ravel(), cot, clouds["ice"][i])]
            )
        out[i] = np.round(vals, 4).T.reshape(len(bands), size, size)
    coords = {
        "t": np.array(DATES, dtype="datetime64[ns]"),
        "bands": bands,
        "y": 6_650_000.0 - 20.0 * np.arange(size) - 10,
        "x": 500_000.0 + 20.0 * np.arange(size) + 10,
    }
    cube = xr.DataArray(
        out,
        dims=("t", "bands", "y", "x"),
        coords=coords,
        attrs={
            "source": f"cotmask synthetic {level} time series (seed {seed}); generated, not observed",
            "units": "reflectance (SCL: class code)",
        },
    )
    truth = xr.Dataset(
        {
            "cot": (("t", "y", "x"), clouds["cot"].astype(np.float32)),
            "surface": (("y", "x"), surface),
            "cloud_class": (("t", "y", "x"), true_classes(clouds["cot"]).astype(np.float32)),
            "shadow": (("t", "y", "x"), shadows),
        },
        coords={k: v for k, v in coords.items() if k != "bands"},
    )
    return cube, truth


def inject_into_scenes(
    toa: np.ndarray, seed: int = 0, dates: tuple[str, ...] | None = None, shadow: tuple[int, int] | None = None
) -> tuple[xr.DataArray, xr.Dataset]:
    """Real clear scenes (n, y, x, 13) TOA in ``S2_BANDS`` order -> cube with injected clouds, and truth.

    ``shadow``: (rows, cols) from each opaque cloud to its shadow; the real surface there keeps ``SHADOW_LIGHT``
    of its light before the clouds go in (truth ``shadow``: the exact shadow, see ``shadow_of``)."""
    n, ny, nx, _ = toa.shape
    rng = np.random.default_rng(seed)
    clouds = cloud_fields(n, ny, nx, rng)
    out = np.empty_like(toa, dtype=np.float32)
    shadows = np.zeros((n, ny, nx), bool)
    for i in range(n):
        px = toa[i].reshape(-1, 13).astype(float)
        if shadow is not None:
            shadows[i] = shadow_of(clouds["cot"][i], shadow, load_model("L2A").thresholds["opaque"])
            px[shadows[i].ravel()] *= np.array([SHADOW_LIGHT[b] for b in S2_BANDS])
        m = len(px)
        out[i] = inject_clouds(
            px,
            clouds["cot"][i].ravel(),
            np.full(m, clouds["ice"][i]),
            np.full(m, 30.0 if clouds["ice"][i] else 10.0),
            np.full(m, clouds["top_km"][i]),
            np.full(m, 45.0),
            np.full(m, 5.0),
            np.full(m, 0.1),
            np.full(m, 1.5),
        ).reshape(ny, nx, 13)
    dates = dates or tuple(str(np.datetime64("2024-05-01") + np.timedelta64(10 * i, "D")) for i in range(n))
    coords = {
        "t": np.array(dates, dtype="datetime64[ns]"),
        "y": 5_100_000.0 - 10.0 * np.arange(ny) - 5,
        "x": 500_000.0 + 10.0 * np.arange(nx) + 5,
    }
    cube = xr.DataArray(
        np.moveaxis(out, -1, 1),
        dims=("t", "bands", "y", "x"),
        coords={**coords, "bands": list(S2_BANDS)},
        attrs={
            "units": "TOA reflectance",
            "source": "real clear scenes with clouds injected by cotmask.training.synth",
        },
    )
    truth = xr.Dataset(
        {
            "cot": (("t", "y", "x"), clouds["cot"].astype(np.float32)),
            "cloud_class": (("t", "y", "x"), true_classes(clouds["cot"]).astype(np.float32)),
            "shadow": (("t", "y", "x"), shadows),
        },
        coords=coords,
    )
    return cube, truth


#: ESA WorldCover class of each synthetic surface type (10 tree cover, 30 grassland, 60 bare, 80 water).
WORLDCOVER = {
    "conifer_forest": 10,
    "deciduous_forest": 10,
    "clearcut_bare_soil": 60,
    "agriculture_grass": 30,
    "water": 80,
    "snow_ice": 70,
    "urban_rock": 50,
    "dry_sparse_vegetation": 30,
}


def synthetic_worldcover(truth: xr.Dataset) -> xr.DataArray:
    """A WorldCover-like land-cover map (t, bands=[MAP], y, x) for a ``synthetic_timeseries`` truth."""
    codes = np.array([WORLDCOVER[s] for s in SURFACES], dtype=np.uint8)[truth.surface.values]
    return xr.DataArray(
        codes[None, None],
        dims=("t", "bands", "y", "x"),
        coords={"t": np.array(["2021-01-01"], dtype="datetime64[ns]"), "bands": ["MAP"], "y": truth.y, "x": truth.x},
        attrs={"source": "synthetic WorldCover-like map"},
    )


#: Background aerosol optical depth of the clear scene, and the largest the generator's table holds; hazier: linear.
BASE_AOD, TABLE_AOD = 0.1, 0.45


def haze_or_cloud(refl: np.ndarray, bands: list, kind: str, amount: float, sza: float = 45.0) -> np.ndarray:
    """Additive change (n, len(bands)) that ``kind`` "haze" (``amount``: AOD(550) added to a background of
    ``BASE_AOD``) or "cloud" (an ice cloud of COT ``amount`` at 9 km) makes to clear reflectance ``refl`` (n,
    len(bands)), from the generator's radiative transfer with the real reflectance as the surface. Bands outside
    ``bands`` take a neighbour's value (B01 from B02, B09 from B8A, B10 from B11) and are not returned. Haze beyond the
    table's AOD (``TABLE_AOD``) is extrapolated linearly (single scattering). L2A reflectance is treated as the
    surface under the same atmosphere: an approximation (Sen2Cor removes its own scene-wide aerosol estimate only)."""
    idx = {b: i for i, b in enumerate(S2_BANDS)}
    fill = {"B01": "B02", "B09": "B8A", "B10": "B11"}
    surface = np.zeros((len(refl), len(S2_BANDS)))
    for j, b in enumerate(bands):
        surface[:, idx[b]] = refl[:, j]
    for b in S2_BANDS:
        if b not in bands:
            if b not in fill or fill[b] not in bands:
                raise ValueError(f"band {b} is needed (or its neighbour {fill.get(b)}); got {bands}")
            surface[:, idx[b]] = surface[:, idx[fill[b]]]
    surface = np.clip(np.nan_to_num(surface), 0.0, 1.0)
    n = len(refl)
    sza_, vza, wv, aot = np.full(n, sza), np.full(n, 5.0), np.full(n, 1.5), np.full(n, BASE_AOD)
    if kind == "haze":
        top = min(BASE_AOD + amount, TABLE_AOD)
        step = clear_toa(surface, sza_, vza, np.full(n, top), wv) - clear_toa(surface, sza_, vza, aot, wv)
        effect = step * (amount / (top - BASE_AOD))
    elif kind == "cloud":
        cot, ice, r_eff, height = np.full(n, amount), np.ones(n), np.full(n, 30.0), np.full(n, 9.0)
        effect = cloudy_toa(surface, cot, ice, r_eff, height, sza_, vza, aot, wv) - cloudy_toa(
            surface, np.zeros(n), ice, r_eff, height, sza_, vza, aot, wv
        )
    else:
        raise ValueError(f"kind must be 'haze' or 'cloud', got {kind!r}")
    return np.stack([effect[:, idx[b]] for b in bands], axis=1).astype(np.float32)
