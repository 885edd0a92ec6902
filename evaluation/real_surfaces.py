"""Real clear (and snow) Sentinel-2 surfaces: how much of them the cotmask models flag as thin or opaque cloud.

    python evaluation/real_surfaces.py [--data ../shared/data] [--out evaluation]   # writes real_surfaces.md/.json
                                                                                    # + figures/real_surfaces.png

Project issue 22, "Real surfaces are not clouds": the judge for model changes. Scenes (third-party, read where they
lie, never copied): the BigEarthNet L2A example patches (five clear, one snow), the SSL4EO-S12 location 0000200
(2020-06-04 at L1C and L2A and 2020-08-13 L2A clear; 2020-08-23 L1C with cumulus as a cloudy reference) and the
SCL-clear dates of the WorldCereal L2A series (no B09: the shipped models cannot run there yet). Every 20 m and
60 m band reaches the 10 m grid of B02 three ways: ``nearest`` (pixel repeat), ``bilinear``, and ``20m`` (the model
runs on the 20 m grid -- 10 m bands averaged 2 x 2, 60 m bands repeated -- and its classes are repeated to 10 m).
Models: the shipped ``distilled`` (default) and ``ensemble`` at the scene's level, and on L1C s2cloudless (peer,
extra ``eval``) with its pixel probability > 0.4 and with its consolidation (average over 4, dilation 2).
Targets (issue 22): clear scenes <= 2 % flagged, and on L1C at most what s2cloudless flags on the same pixels;
the snow patch <= 5 % flagged (L2A).

``evaluate(data, models)`` takes any models: a callable ``model(cube, level)`` on a labelled cube (bands, y, x) of
DN (scale 1e-4, no offset) returning the classes (y, x) (0 clear, 1 thin, 2 opaque, NaN nodata; a boolean array is
a binary cloud mask), or a cube with bands ``cloud_class`` and optionally ``cot`` and ``ood`` (as
``cotmask.cloud_mask``). Wrap it in ``Model`` to declare the bands it needs per level: a scene without them gets a
"not runnable: no ..." row instead of a call (so a no-B09 model runs on the WorldCereal series as soon as it exists).
"""

import argparse
import io
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
import xarray as xr

import cotmask
from cotmask.core.bands import DEFAULT_MODEL, DN_SCALE, LEVELS, canonical_band
from cotmask.training.pipeline import REAL_CLEAR_SCENES

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data"
EXTRA = "pip install -e '.[eval]'"

#: the shipped model kinds judged by default (``--kinds`` adds others, e.g. a new variant once its file exists)
SHIPPED_KINDS = (DEFAULT_MODEL, "ensemble", "distilled_nob09")
#: resampling of the 20 m and 60 m bands to the 10 m grid (see the module docstring)
MODES = ("nearest", "bilinear", "20m")
#: issue 22 targets: flagged (thin + opaque) fraction
CLEAR_TARGET = 0.02
SNOW_TARGET = 0.05
#: an edge pixel: its 10 m B04 or B08 reflectance differs from the mean of its 3 x 3 neighbourhood (itself included)
#: by more than the band's threshold here: about 3 x the median such deviation of these scenes (B04 0.0014-0.0044,
#: B08 0.0044-0.0078), which marks field borders, roads, hedgerows, buildings and lake shores, and few field interiors
#: (looked at on the pictures: 0.01/0.01 also marks textured fields, 0.02/0.04 misses many borders)
EDGE_THRESHOLDS = {"B04": 0.01, "B08": 0.02}
#: where a scene has no 10 m bands (WorldCereal places without their 10 m file) the test runs on these 20 m bands
EDGE_THRESHOLDS_20M = {"B05": 0.01, "B8A": 0.02}
#: s2cloudless (all_bands=False) band order, and its settings: threshold 0.4; consolidation average 4, dilation 2
S2CLOUDLESS_BANDS = ("B01", "B02", "B04", "B05", "B08", "B8A", "B09", "B10", "B11", "B12")
S2CLOUDLESS_THRESHOLD = 0.4
#: the s2cloudless row the L1C target compares with (the per-pixel mask, like cotmask's classes)
S2C = "s2cloudless p>0.4"
#: SCL classes: 4 vegetation, 5 not vegetated; 3 cloud shadow, 8/9 cloud medium/high probability, 10 thin cirrus
SCL_CLEAR, SCL_CLOUD = (4, 5), (3, 8, 9, 10)
SCL_CLEAR_SHARE = 0.9

BIGEARTHNET_SNOW = "S2B_MSIL2A_20180204T94161_57_38"
#: what the true-colour pictures of the BigEarthNet patches show (looked at one by one before calling them clear)
BIGEARTHNET_SEEN = {
    "S2A_MSIL2A_20170613T101031_87_48": "farmland (Austria, June): bright bare or harvested beige fields beside dark "
    "green crops, a motorway, a village with red roofs and some blue-roofed halls; no cloud or haze",
    "S2A_MSIL2A_20170617T113321_36_85": "green pastures with hedgerows (Ireland, June), one bright pink-beige bare "
    "field and a pale field, white farm buildings; one faint whitish puff (about 15 x 10 px, rows 22-37, cols 12-36: "
    "B02 up to 0.13 against 0.07 on the field) spreads from the bare field over its green neighbour: maybe dust, "
    "smoke or a wisp of haze, the only non-surface thing in the five clear patches",
    "S2A_MSIL2A_20170617T113321_4_55": "green pastures in many shades, divided by hedgerows (Ireland, June), a few "
    "white buildings; clear",
    "S2A_MSIL2A_20171221T112501_56_35": "winter hills (Iberia, December): brown shrubland and dark woods, deep "
    "terrain shadows of the low sun, bright unpaved tracks and a bright bare field; clear",
    "S2B_MSIL2A_20170924T93020_69_24": "boreal forest (Finland, September): a dark lake, conifer and mixed forest, "
    "yellow-green bog, straight tracks; dark and noisy (B02 ~0.02), clear",
    BIGEARTHNET_SNOW: "snow-covered fields and forest in hills (Finland, February): white snow fields, dark conifer "
    "stands and their shadows; snow, not cloud",
}
#: spots in the clear scenes that may not be surface (seen on the pictures): scene -> (rows, cols, what); the flags
#: inside and outside each are reported apart (the scenes stay in the clear pool, as issue 22 counts them)
SUSPECT = {
    "BigEarthNet S2A_MSIL2A_20170617T113321_36_85": (slice(22, 38), slice(12, 37), "faint whitish puff"),
    "SSL4EO-S12 2020-08-13 L2A": (slice(45, 85), slice(95, 145), "wisp of thin cloud with colour fringes"),
}

SSL4EO_SITE = "0000200"
SSL4EO_SCENES = {  # (level, date) -> kind
    ("L1C", "20200604"): "clear",
    ("L2A", "20200604"): "clear",
    ("L2A", "20200813"): "clear",
    ("L1C", "20200823"): "cloudy",
}
SSL4EO_SEEN = {
    "20200604": "bright dry farmland in small rectangular plots (Punjab, India, June), villages, a road; clear (the "
    "L1C picture is washed-out blue as TOA is: B02 0.133 TOA against 0.089 BOA)",
    "20200813": "the same plots greener (monsoon season), lower contrast than 06-04; not spotless: a small wisp of "
    "thin cloud with blue/orange colour fringes (band parallax) near rows 45-85, cols 95-145 over the village, with a "
    "diffuse darker patch east of it (maybe its shadow); the rest looks clear",
    "20200823": "the same farmland with a dozen cumulus clouds (large ones at the right and left edges) and their "
    "shadows",
}
#: measured registration of the SSL4EO-S12 60 m bands: 60 m pixel j covers 10 m pixels [6 j + 4, 6 j + 10) in y and
#: x, not [6 j, 6 j + 6) (and not what the files' geotransforms say, 2.5 px the other way); ``registration`` finds
#: 3.5-4.5 px on the three clear scenes (B01 against B02, B09 against B08). The 20 m bands are aligned (0 px).
SSL4EO_SHIFT_60M = (4.0, 4.0)


def _need(module: str, what: str) -> None:
    """Import ``module`` or stop with the extra that brings it: a missing peer never silently drops a row."""
    try:
        __import__(module)
    except ImportError as e:
        raise SystemExit(f"{what} needs the Python package {module!r}, part of the eval extra: {EXTRA}") from e


@dataclass
class Scene:
    """One scene at native resolution: DN arrays (frames, y, x) per band, their pixel size and registration.

    ``shift[band]`` = (dy, dx): the band's coarse pixel j covers fine pixels [k j + d, k (j + 1) + d) of the finest
    grid (k = its pixel size over the finest one); 0 for grids that share the corner."""

    name: str
    source: str
    level: str
    kind: str
    bands: dict[str, np.ndarray]
    res: dict[str, int]
    shift: dict[str, tuple[float, float]] = field(default_factory=dict)
    dates: list[str] = field(default_factory=list)
    seen: str = ""

    @property
    def fine(self) -> int:
        """The finest pixel size (m) of the scene."""
        return min(self.res.values())

    @property
    def frames(self) -> int:
        """Number of dates (frames) in the scene."""
        return next(iter(self.bands.values())).shape[0]


# ---------------------------------------------------------------------------------------------------------- readers


def _tif(path: Path) -> np.ndarray:
    """The first band of a GeoTIFF."""
    import rasterio

    with rasterio.open(path) as r:
        return r.read(1)


def read_bigearthnet(data: Path) -> list[Scene]:
    """The BigEarthNet example patches (L2A, 2017-2018, no DN offset): B01-B12 and B8A at 10/20/60 m, one frame,
    120 x 120 px at 10 m; kind ``snow`` for ``BIGEARTHNET_SNOW``, ``clear`` for the others."""
    out = []
    for folder in sorted((data / "bigearthnet_example").iterdir()):
        if not folder.is_dir():
            continue
        bands = {}
        for f in sorted(folder.glob(f"{folder.name}_B*.tif")):
            bands[canonical_band(f.stem.rsplit("_", 1)[1])] = _tif(f)[None]
        res = {b: 10 * (120 // a.shape[-1]) for b, a in bands.items()}
        meta = json.loads((folder / f"{folder.name}_labels_metadata.json").read_text())
        out.append(
            Scene(
                name=f"BigEarthNet {folder.name}",
                source="bigearthnet",
                level="L2A",
                kind="snow" if folder.name == BIGEARTHNET_SNOW else "clear",
                bands=bands,
                res=res,
                dates=[meta["acquisition_date"][:10]],
                seen=BIGEARTHNET_SEEN.get(folder.name, ""),
            )
        )
    return out


def read_ssl4eo(data: Path, shift_60m: tuple[float, float] = SSL4EO_SHIFT_60M) -> list[Scene]:
    """The SSL4EO-S12 scenes of location 0000200 (2020, uint16 DN, no offset): 264 x 264 px at 10 m, 13 bands at
    L1C and 12 (no B10) at L2A; the 60 m bands carry ``shift_60m`` (measured: ``SSL4EO_SHIFT_60M``)."""
    out = []
    for (level, date), kind in SSL4EO_SCENES.items():
        (folder,) = (data / "ssl4eo_s12" / level / SSL4EO_SITE).glob(f"{date}T*")
        bands = {canonical_band(f.stem): _tif(f)[None] for f in sorted(folder.glob("B*.tif"))}
        res = {b: 10 * (264 // a.shape[-1]) for b, a in bands.items()}
        out.append(
            Scene(
                name=f"SSL4EO-S12 {date[:4]}-{date[4:6]}-{date[6:]} {level}",
                source="ssl4eo",
                level=level,
                kind=kind,
                bands=bands,
                res=res,
                shift={b: shift_60m for b, r in res.items() if r == 60},
                dates=[f"{date[:4]}-{date[4:6]}-{date[6:]}"],
                seen=SSL4EO_SEEN[date],
            )
        )
    return out


def scl_clear(scl: np.ndarray) -> np.ndarray:
    """Per frame of SCL (frames, y, x): True where >= 90 % of the pixels are vegetation or not-vegetated (4, 5) and
    none is cloud shadow, cloud or cirrus (3, 8, 9, 10)."""
    frames = scl.reshape(len(scl), -1)
    share = np.isin(frames, SCL_CLEAR).mean(axis=1)
    return (share >= SCL_CLEAR_SHARE) & ~np.isin(frames, SCL_CLOUD).any(axis=1)


def read_worldcereal(data: Path) -> list[tuple[Scene, int]]:
    """The WorldCereal L2A series, one scene per place holding its SCL-clear dates (``scl_clear``) as frames, with
    the number of dates in the file: (scene, dates in all). Bands B05-B07, B8A, B11, B12 at 20 m (32 x 32 px) and,
    where the place has its 10 m file, B02-B04, B08 at 10 m (64 x 64 px); no B01, B09, B10. Dates with fill (DN 0)
    in any band are left out as well."""
    out = []
    folder = data / "worldcereal_series"
    for f20 in sorted(folder.glob("*_20m_*.nc")):
        place = f20.name.split("__")[1]
        with xr.open_dataset(f20, mask_and_scale=False) as ds:
            ds20 = ds.load()
        files = [ds20]
        f10 = next(iter(folder.glob(f"*__{place}__S2_L2A_10m_*.nc")), None)
        if f10 is not None:
            with xr.open_dataset(f10, mask_and_scale=False) as ds:
                files.append(ds.load())
        times = ds20["timestamp"].values
        for ds in files[1:]:
            if not np.array_equal(ds["timestamp"].values, times):
                raise ValueError(f"{place}: the 10 m and 20 m files have different dates")
        bands, res = {}, {}
        for ds in files:
            for v in ds.data_vars:
                if re.fullmatch(r"B\d\d|B8A", str(v)):
                    bands[str(v)] = ds[v].values
                    res[str(v)] = int(ds[v].attrs["resolution"])
        keep = scl_clear(ds20["SCL"].values) & np.all([(a > 0).all(axis=(1, 2)) for a in bands.values()], axis=0)
        scene = Scene(
            name=f"WorldCereal {place}",
            source="worldcereal",
            level="L2A",
            kind="clear",
            bands={b: a[keep] for b, a in bands.items()},
            res=res,
            dates=[str(t)[:10] for t in times[keep]],
            seen="SCL-clear dates (no picture checked one by one)",
        )
        out.append((scene, len(times)))
    return out


def read_scenes(data: Path) -> list[Scene]:
    """All BigEarthNet and SSL4EO-S12 scenes (the WorldCereal series: ``read_worldcereal``)."""
    return read_bigearthnet(data) + read_ssl4eo(data)


# ------------------------------------------------------------------------------------------------------- resampling


def _index(n_fine: int, k: int, shift: float, n_coarse: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each fine pixel: the coarse pixel holding its centre (nearest) and the two coarse pixels around it with
    the weight of the second (bilinear), edges clamped."""
    centre = np.arange(n_fine) + 0.5 - shift
    nearest = np.clip(np.floor(centre / k).astype(int), 0, n_coarse - 1)
    pos = np.clip(centre / k - 0.5, 0, n_coarse - 1)
    i0 = np.minimum(np.floor(pos).astype(int), n_coarse - 1)
    i1 = np.minimum(i0 + 1, n_coarse - 1)
    return nearest, np.stack([i0, i1]), (pos - i0).astype(np.float32)


def upsample(
    arr: np.ndarray, k: int, method: str, shape: tuple[int, int], shift: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """(..., y, x) coarse array on a grid ``k`` times finer of ``shape`` (y, x): ``nearest`` (pixel repeat) or
    ``bilinear`` (between coarse pixel centres, edges clamped); ``shift`` as ``Scene.shift``, in fine pixels."""
    out = np.asarray(arr, dtype=np.float32)
    if k == 1 and not any(shift):
        return out
    for axis, n_fine, d in ((-2, shape[0], shift[0]), (-1, shape[1], shift[1])):
        nearest, (i0, i1), w = _index(n_fine, k, d, out.shape[axis])
        if method == "nearest":
            out = np.take(out, nearest, axis=axis)
        elif method == "bilinear":
            w = w.reshape((-1, 1) if axis == -2 else (-1,))
            out = np.take(out, i0, axis=axis) * (1 - w) + np.take(out, i1, axis=axis) * w
        else:
            raise ValueError(f"method must be nearest or bilinear, got {method!r}")
    return out


def block_mean(arr: np.ndarray, k: int) -> np.ndarray:
    """(..., y, x) averaged over k x k blocks (y and x divisible by k); 0 (fill) anywhere in a block gives 0."""
    a = np.asarray(arr, dtype=np.float32)
    *lead, ny, nx = a.shape
    blocks = a.reshape(*lead, ny // k, k, nx // k, k)
    return np.where((blocks == 0).any(axis=(-3, -1)), 0, blocks.mean(axis=(-3, -1))).astype(np.float32)


def grid(scene: Scene, mode: str) -> tuple[np.ndarray, tuple[str, ...], int]:
    """The scene's bands on one grid: (frames, bands, y, x) float32 DN, band names, and the factor to the finest
    grid (1, or 2 for ``20m``). ``nearest``/``bilinear``: every band to the finest grid; ``20m``: 10 m bands averaged
    2 x 2, 60 m bands repeated (nearest) to the 20 m grid."""
    names = tuple(sorted(scene.bands, key=lambda b: (b == "B8A", b)))
    fine = scene.fine
    target = 20 if mode == "20m" else fine
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    ref = next(a for b, a in scene.bands.items() if scene.res[b] == fine)
    shape = (ref.shape[-2] * fine // target, ref.shape[-1] * fine // target)
    out = []
    for b in names:
        a, r = scene.bands[b], scene.res[b]
        shift = tuple(s * fine / target for s in scene.shift.get(b, (0.0, 0.0)))
        if r < target:
            out.append(block_mean(a, target // r))
        else:
            out.append(upsample(a, r // target, "nearest" if mode == "20m" else mode, shape, shift))
    return np.stack(out, axis=1), names, target // fine


def edge_mask(scene: Scene, thresholds: Mapping[str, float] | None = None) -> np.ndarray:
    """(frames, y, x) True where the finest-grid B04 or B08 reflectance (``EDGE_THRESHOLDS_20M``'s bands without
    10 m bands) differs from the mean of its 3 x 3 neighbourhood (border pixels repeated) by more than the band's
    threshold (``EDGE_THRESHOLDS``)."""
    from scipy.ndimage import uniform_filter

    if thresholds is None:
        tenm = all(scene.res.get(b) == 10 for b in EDGE_THRESHOLDS)
        thresholds = EDGE_THRESHOLDS if tenm else EDGE_THRESHOLDS_20M
    out = np.zeros(next(iter(scene.bands.values())).shape[:1] + _fine_shape(scene), dtype=bool)
    for b, threshold in thresholds.items():
        refl = scene.bands[b].astype(np.float32) * DN_SCALE
        out |= np.abs(refl - uniform_filter(refl, size=(1, 3, 3), mode="nearest")) > threshold
    return out


def _fine_shape(scene: Scene) -> tuple[int, int]:
    """(y, x) of the finest grid."""
    ref = next(a for b, a in scene.bands.items() if scene.res[b] == scene.fine)
    return ref.shape[-2], ref.shape[-1]


# ----------------------------------------------------------------------------------------------------------- models


@dataclass(frozen=True)
class Model:
    """A model to judge: ``run(cube, level)`` on a cube (bands, y, x) of DN; ``bands`` per level: what it needs (the
    levels it runs at are the keys); ``binary``: it gives a cloud mask, no thin/opaque split."""

    run: Callable[[xr.DataArray, str], "xr.DataArray | np.ndarray"]
    bands: Mapping[str, tuple[str, ...]]
    binary: bool = False

    def __call__(self, cube: xr.DataArray, level: str) -> "xr.DataArray | np.ndarray":
        """Run the model on ``cube`` at ``level``."""
        return self.run(cube, level)


def shipped_model(kind: str) -> Model:
    """The shipped cotmask model of ``kind`` through ``cotmask.cloud_mask`` (DN, offset 0, scale 1e-4)."""

    def run(cube: xr.DataArray, level: str) -> xr.DataArray:
        return cotmask.cloud_mask(cube, {"offset": 0, "model": kind, "level": level})

    return Model(run, {level: tuple(cotmask.load_model(level, kind).bands) for level in LEVELS})


def s2cloudless_model(consolidate: bool) -> Model:
    """s2cloudless on L1C TOA reflectance (its 10 bands): probability > 0.4 per pixel, or (``consolidate``) its mask
    after averaging over 4 px and dilating by 2 (``S2PixelCloudDetector(0.4, 4, 2, all_bands=False)``)."""

    def run(cube: xr.DataArray, level: str) -> np.ndarray:
        _need("s2cloudless", "the s2cloudless rows")
        from s2cloudless import S2PixelCloudDetector

        toa = cube.sel(bands=list(S2CLOUDLESS_BANDS)).transpose("y", "x", "bands").values * DN_SCALE
        toa = np.nan_to_num(toa.astype(np.float32))
        if consolidate:
            det = S2PixelCloudDetector(
                threshold=S2CLOUDLESS_THRESHOLD, average_over=4, dilation_size=2, all_bands=False
            )
            return det.get_cloud_masks(toa[None])[0].astype(bool)
        det = S2PixelCloudDetector(threshold=S2CLOUDLESS_THRESHOLD, all_bands=False)
        return det.get_cloud_probability_maps(toa[None])[0] > S2CLOUDLESS_THRESHOLD

    return Model(run, {"L1C": S2CLOUDLESS_BANDS}, binary=True)


def default_models(kinds: Iterable[str] = SHIPPED_KINDS) -> dict[str, Model]:
    """The shipped models of ``kinds`` (default first) and the s2cloudless peer, off and on consolidation."""
    kinds = sorted(kinds, key=lambda k: k != DEFAULT_MODEL)
    out = {f"cotmask {k}" + (" (default)" if k == DEFAULT_MODEL else ""): shipped_model(k) for k in kinds}
    out[S2C] = s2cloudless_model(False)
    out["s2cloudless p>0.4 avg4 dil2"] = s2cloudless_model(True)
    return out


def _outputs(result: "xr.DataArray | np.ndarray", shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """A model's answer as arrays (y, x): ``cls`` (float, NaN nodata) and, when given, ``cot`` and ``ood``."""
    if isinstance(result, xr.DataArray) and "bands" in result.dims:
        names = [str(b) for b in result.coords["bands"].values]
        out = {"cls": result.sel(bands="cloud_class").values.astype(np.float32)}
        out.update({k: result.sel(bands=k).values.astype(np.float32) for k in ("cot", "ood") if k in names})
    else:
        arr = np.asarray(result)
        out = {"cls": arr.astype(np.float32) * (2 if arr.dtype == bool else 1)}  # a mask: flagged, no split
    for k, v in out.items():
        if v.shape != shape:
            raise ValueError(f"model output {k} has shape {v.shape}, expected {shape}")
    return out


# ------------------------------------------------------------------------------------------------------- evaluation


def _missing(model: Callable, scene: Scene) -> list[str] | None:
    """Bands the model needs and the scene lacks ([] when it can run), None when the model skips this level."""
    need = getattr(model, "bands", None)
    if need is None:
        return []
    if scene.level not in need:
        return None
    return [b for b in need[scene.level] if b not in scene.bands]


def run_model(model: Callable, scene: Scene, mode: str) -> dict[str, np.ndarray]:
    """The model on every frame of the scene in ``mode``: arrays (frames, y, x) on the finest grid (``cls``; ``cot``
    and ``ood`` where the model gives them)."""
    stack, names, k = grid(scene, mode)
    fine_shape = _fine_shape(scene)
    parts: dict[str, list] = {}
    for frame in stack:
        cube = xr.DataArray(frame, dims=("bands", "y", "x"), coords={"bands": list(names)})
        res = _outputs(model(cube, scene.level), frame.shape[1:])
        for key, v in res.items():
            parts.setdefault(key, []).append(upsample(v, k, "nearest", fine_shape) if k > 1 else v)
    return {key: np.stack(v) for key, v in parts.items()}


def stats(out: dict[str, np.ndarray], edges: np.ndarray, binary: bool) -> dict:
    """Flagged fractions (all, on edges, inside fields), thin/opaque split, median COT and share of ood > 1."""
    cls = out["cls"]
    valid = np.isfinite(cls)
    flagged = valid & (cls >= 1)
    thin = valid & (cls == 1)
    e, i = valid & edges, valid & ~edges
    n = int(valid.sum())

    def frac(num: np.ndarray, den: np.ndarray) -> float:
        return float(num.sum() / den.sum()) if den.sum() else float("nan")

    return {
        "pixels": n,
        "thin": float("nan") if binary else frac(thin, valid),
        "opaque": float("nan") if binary else frac(valid & (cls == 2), valid),
        "flagged": frac(flagged, valid),
        "edge_share": frac(e, valid),
        "flagged_edges": frac(flagged & e, e),
        "flagged_interior": frac(flagged & i, i),
        "flagged_on_edges": frac(flagged & e, flagged),
        "thin_on_edges": float("nan") if binary else frac(thin & e, thin),
        "median_cot": float(np.nanmedian(out["cot"][valid])) if "cot" in out and n else float("nan"),
        "ood_above_1": float(np.mean(out["ood"][valid] > 1)) if "ood" in out and n else float("nan"),
    }


def ndsi(scene: Scene) -> np.ndarray:
    """(B03 - B11) / (B03 + B11) on the finest grid, B11 repeated (nearest)."""
    stack, names, _ = grid(scene, "nearest")
    b03, b11 = stack[:, names.index("B03")], stack[:, names.index("B11")]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (b03 - b11) / (b03 + b11)


def evaluate(
    data: Path = DEFAULT_DATA,
    models: dict[str, Callable] | None = None,
    scenes: Iterable[str] | None = None,
    modes: Iterable[str] = MODES,
    worldcereal: bool = True,
) -> dict:
    """Per scene x level x resampling x model, what is flagged (``stats``); with the snow patch's NDSI, the flags in
    the ``SUSPECT`` spots, the WorldCereal series (SCL-clear dates; "not runnable" where a model lacks bands) and the
    pooled clear scenes with the targets. ``models``: name -> ``Model`` or plain callable (see the module docstring;
    default ``default_models()``, which needs the eval extra); ``scenes``: names to keep (all by default)."""
    if models is None:
        _need("s2cloudless", "the s2cloudless peer rows")
        models = default_models()
    modes = tuple(modes)
    keep = None if scenes is None else set(scenes)
    all_scenes = [s for s in read_scenes(data) if keep is None or s.name in keep]
    wc = read_worldcereal(data) if worldcereal else []
    rows: list[dict] = []
    snow: list[dict] = []
    suspect: list[dict] = []
    snow_ndsi: dict = {}
    maps: dict = {}
    for scene, total in [(s, None) for s in all_scenes] + wc:
        edges = edge_mask(scene)
        scene_modes = modes if scene.fine < 20 else ("20m",)
        base = {"scene": scene.name, "source": scene.source, "kind": scene.kind, "level": scene.level}
        base["trained"] = scene.name in REAL_CLEAR_SCENES.get(scene.level, ())  # the distilled models saw it as clear
        if total is not None:
            base.update({"dates": len(scene.dates), "dates_in_file": total})
        for name, model in models.items():
            missing = _missing(model, scene)
            if missing is None:
                continue
            for mode in scene_modes:
                row = {**base, "mode": mode, "model": name}
                if missing or not scene.frames:
                    why = f"no {', '.join(missing)}" if missing else "no SCL-clear date"
                    rows.append({**row, "status": f"not runnable: {why}"})
                    continue
                out = run_model(model, scene, mode)
                rows.append({**row, "status": "ok", **stats(out, edges, getattr(model, "binary", False))})
                maps[(scene.name, mode, name)] = out["cls"][0]
                if scene.kind == "snow":
                    snow.append({"model": name, "mode": mode, "flagged": rows[-1]["flagged"]})
                if scene.name in SUSPECT:
                    ys, xs, what = SUSPECT[scene.name]
                    inside = np.zeros(out["cls"].shape, bool)
                    inside[:, ys, xs] = True
                    fl = out["cls"] >= 1
                    suspect.append(
                        {
                            "scene": scene.name,
                            "spot": f"{what}, rows {ys.start}-{ys.stop - 1}, cols {xs.start}-{xs.stop - 1}",
                            "model": name,
                            "mode": mode,
                            "flagged_in_spot": float(fl[inside].mean()),
                            "flagged_outside_spot": float(fl[~inside].mean()),
                            "share_of_flags_in_spot": float(fl[inside].sum() / max(1, fl.sum())),
                        }
                    )
        if scene.kind == "snow":
            v = ndsi(scene)
            snow_ndsi = {"ndsi_median": float(np.nanmedian(v)), "ndsi_above_0_4": float(np.nanmean(v > 0.4))}
        maps[(scene.name, "edges")] = edges[0] if scene.frames else None
    result = {
        "rows": rows,
        "snow": {"scene": f"BigEarthNet {BIGEARTHNET_SNOW}", **snow_ndsi, "flagged": snow},
        "suspect_spots": suspect,
        "pooled_clear": pooled(rows),
        "worldcereal": [
            {
                "scene": s.name,
                "dates_in_file": t,
                "scl_clear_dates": len(s.dates),
                "bands": sorted(s.bands),
                "grids_m": sorted(set(s.res.values())),
            }
            for s, t in wc
        ],
        "settings": {
            "edge_thresholds": EDGE_THRESHOLDS,
            "edge_thresholds_20m_only": EDGE_THRESHOLDS_20M,
            "ssl4eo_shift_60m_px": list(SSL4EO_SHIFT_60M),
            "clear_target": CLEAR_TARGET,
            "snow_target": SNOW_TARGET,
            "s2cloudless_threshold": S2CLOUDLESS_THRESHOLD,
        },
    }
    result["targets"] = targets(result)
    result["_maps"] = maps
    return result


def pooled(rows: list[dict]) -> list[dict]:
    """Flagged fractions over the clear BigEarthNet and SSL4EO-S12 pixels that no model was trained on
    (``REAL_CLEAR_SCENES`` left out), per level x mode x model (pixel-weighted)."""
    df = pd.DataFrame(
        [
            r
            for r in rows
            if r["status"] == "ok" and r["kind"] == "clear" and r["source"] != "worldcereal" and not r.get("trained")
        ]
    )
    if df.empty:
        return []
    out = []
    for (level, mode, model), g in df.groupby(["level", "mode", "model"], sort=False):
        w = g["pixels"]
        edge_px = w * g["edge_share"]
        rec = {"level": level, "mode": mode, "model": model, "scenes": len(g), "pixels": int(w.sum())}
        for k in ("thin", "opaque", "flagged", "ood_above_1"):
            rec[k] = float((g[k] * w).sum(min_count=1) / w.sum())  # NaN where the model gives none (s2cloudless)
        rec["flagged_edges"] = float((g["flagged_edges"] * edge_px).sum() / edge_px.sum())
        rec["flagged_interior"] = float((g["flagged_interior"] * (w - edge_px)).sum() / (w - edge_px).sum())
        rec["edge_share"] = float(edge_px.sum() / w.sum())
        out.append(rec)
    return out


def targets(result: dict) -> list[dict]:
    """Each cotmask row of a clear scene against <= 2 % flagged and, on L1C, against s2cloudless (p > 0.4) on the same
    pixels; the snow patch against <= 5 % (the pooled verdict: ``report``)."""
    out = []
    ok = [r for r in result["rows"] if r["status"] == "ok"]
    peer = {(r["scene"], r["mode"], r["model"]): r["flagged"] for r in ok if r["model"].startswith("s2cloudless")}
    for r in ok:
        if r["model"].startswith("s2cloudless") or r["kind"] not in ("clear", "snow"):
            continue
        goal = CLEAR_TARGET if r["kind"] == "clear" else SNOW_TARGET
        rec = {
            "scene": r["scene"] + (" (trained on: does not count)" if r.get("trained") else ""),
            "level": r["level"],
            "mode": r["mode"],
            "model": r["model"],
            "flagged": r["flagged"],
        }
        rec["target"] = goal
        rec["met"] = bool(r["flagged"] <= goal)
        s2c = peer.get((r["scene"], r["mode"], S2C))
        if r["level"] == "L1C" and s2c is not None:
            rec["s2cloudless"] = s2c
            rec["met"] = rec["met"] and bool(r["flagged"] <= s2c)
        out.append(rec)
    return out


# ----------------------------------------------------------------------------------------------------- registration


def registration(fine: np.ndarray, coarse: np.ndarray, k: int, max_shift: float = 8.0) -> tuple[float, float, float]:
    """The shift (dy, dx) in fine pixels, in half-pixel steps, at which the fine band averaged over the coarse
    pixel's footprint correlates best with the coarse band (border pixels left out), and that correlation."""
    f2 = np.repeat(np.repeat(np.asarray(fine, dtype=np.float64), 2, 0), 2, 1)  # half-pixel grid
    m = int(2 * max_shift)
    pad = np.pad(f2, m + 2 * k, mode="edge")
    c = np.cumsum(np.cumsum(np.pad(pad, ((1, 0), (1, 0))), 0), 1)  # summed-area table
    n = coarse.shape[0]
    target = np.asarray(coarse, dtype=np.float64)[1:-1, 1:-1].ravel()
    best = (0.0, 0.0, -2.0)
    j = np.arange(1, n - 1) * 2 * k + m + 2 * k
    for sy in range(-m, m + 1):
        for sx in range(-m, m + 1):
            y0, x0 = j[:, None] + sy, j[None, :] + sx
            s = c[y0 + 2 * k, x0 + 2 * k] - c[y0, x0 + 2 * k] - c[y0 + 2 * k, x0] + c[y0, x0]
            r = float(np.corrcoef(s.ravel(), target)[0, 1])
            if r > best[2]:
                best = (sy / 2, sx / 2, r)
    return best


def ssl4eo_registration(data: Path) -> list[dict]:
    """``registration`` of the SSL4EO-S12 60 m bands B01 (against B02) and B09 (against B08), and of the 20 m B8A
    (against B08), on the clear scenes, before any shift is applied."""
    out = []
    for s in read_ssl4eo(data):
        if s.kind != "clear":
            continue
        for fine, coarse, k in (("B02", "B01", 6), ("B08", "B09", 6), ("B08", "B8A", 2)):
            dy, dx, r = registration(s.bands[fine][0], s.bands[coarse][0], k)
            out.append({"scene": s.name, "band": coarse, "against": fine, "dy": dy, "dx": dx, "r": round(r, 4)})
    return out


def shift_sensitivity(data: Path, models: dict[str, Callable]) -> list[dict]:
    """Flagged fraction on the clear SSL4EO-S12 scenes (nearest) with the 60 m bands read as measured
    (``SSL4EO_SHIFT_60M``) and as plain pixel repeat from the corner (no shift): how much the registration matters."""
    out = []
    for shift in (SSL4EO_SHIFT_60M, (0.0, 0.0)):
        for scene in read_ssl4eo(data, shift):
            if scene.kind != "clear":
                continue
            edges = edge_mask(scene)
            for name, model in models.items():
                if _missing(model, scene) != []:
                    continue
                st = stats(run_model(model, scene, "nearest"), edges, getattr(model, "binary", False))
                out.append({"scene": scene.name, "model": name, "shift_60m": list(shift), "flagged": st["flagged"]})
    return out


def provenance() -> dict:
    """Which models ran, reproducibly: cotmask's version and the SHA-256 (first 12 digits) of each model file, as
    ``models/SHA256SUMS`` records them (``load_model`` verified them). No paths, commits or run times: regenerating
    the report from a fresh clone gives the same bytes."""
    from cotmask import __version__
    from cotmask.core.shipped import model_dir, read_checksums

    sums = read_checksums(model_dir()) or {}
    return {"cotmask": __version__, "models_sha256": {k: v[:12] for k, v in sorted(sums.items()) if "fp16" not in k}}


# --------------------------------------------------------------------------------------------------------- reports


def _pct(v: float) -> str:
    """A fraction as a percentage with one decimal ("–" for NaN)."""
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{100 * v:.1f}"


def main_table(result: dict) -> pd.DataFrame:
    """The table of the report: one row per scene x level x mode x model (fractions in %)."""
    rows = []
    for r in result["rows"]:
        if r["status"] != "ok":
            continue
        rows.append(
            {
                "scene": r["scene"].replace("BigEarthNet S2", "BEN S2").replace("_MSIL2A_", " "),
                "kind": r["kind"],
                "level": r["level"],
                "mode": r["mode"],
                "model": r["model"],
                "pixels": r["pixels"],
                "thin %": _pct(r["thin"]),
                "opaque %": _pct(r["opaque"]),
                "flagged %": _pct(r["flagged"]),
                "edges %": _pct(r["flagged_edges"]),
                "interior %": _pct(r["flagged_interior"]),
                "median COT": "–" if np.isnan(r["median_cot"]) else f"{r['median_cot']:.3f}",
                "ood>1 %": _pct(r["ood_above_1"]),
            }
        )
    return pd.DataFrame(rows)


def report(
    result: dict,
    registration_rows: list[dict],
    sensitivity: list[dict] | None = None,
    prov: dict | None = None,
) -> str:
    """The markdown report."""
    st = result["settings"]
    prov = prov or {}
    ran = f"cotmask {prov.get('cotmask', '?')}; models by SHA-256: " + ", ".join(
        f"{name.removeprefix('cotmask_').removesuffix('.onnx')} {digest}"
        for name, digest in prov.get("models_sha256", {}).items()
    )
    lines = [
        "# Real surfaces are not clouds (issue 22)\n",
        f"Generated by `python evaluation/real_surfaces.py` ({ran}). "
        "How much of real clear (and snow) Sentinel-2 surfaces the shipped cotmask models flag as thin or opaque "
        "cloud. `flagged` = thin + opaque "
        "(s2cloudless: its cloud mask, no split). Resampling of the 20 m and 60 m bands to the 10 m grid of B02: "
        "`nearest` (pixel repeat), `bilinear` (between pixel centres, edges clamped), `20m` (the model runs on the "
        "20 m grid -- 10 m bands averaged 2 x 2, 60 m bands repeated -- and its classes are repeated to 10 m). "
        "Edge pixel: its 10 m B04 or B08 reflectance differs from the mean of its 3 x 3 neighbourhood by more than "
        f"{st['edge_thresholds']['B04']} (B04) or {st['edge_thresholds']['B08']} (B08) (field borders, roads, "
        "hedgerows, buildings, shores); `edges %` / `interior %` are the "
        "flagged fractions of the edge and of the other pixels. `ood>1`: share of pixels where the model says it "
        "extrapolates. Models: cotmask distilled (the default) and ensemble at the scene's level through "
        "`cotmask.cloud_mask` (DN, offset 0), s2cloudless (L1C only) with its probability > 0.4 per pixel and with "
        "its consolidation (average over 4, dilation 2).\n",
        f"Targets (issue 22): clear scenes <= {100 * st['clear_target']:.0f} % flagged, and on L1C at most what "
        f"s2cloudless (p > 0.4) flags on the same pixels; snow patch <= {100 * st['snow_target']:.0f} % flagged "
        "(L2A).\n",
        "Scene-wise split: the distilled models' training saw these scenes' pixels as clear "
        "(`cotmask.training.pipeline.REAL_CLEAR_SCENES`): "
        + "; ".join(f"{lv}: {', '.join(names)}" for lv, names in REAL_CLEAR_SCENES.items())
        + ". They are marked `(trained on: does not count)` and left out of the pooled figures; every other scene "
        "here is held out.\n",
        "## Summary\n",
        summary(result) + "\n",
        "## Pooled held-out clear scenes (BigEarthNet and SSL4EO-S12, without the scenes the models were trained on)\n",
        "Pixel-weighted: each SSL4EO-S12 scene (264 x 264) weighs 4.8 BigEarthNet patches (120 x 120).\n",
    ]
    pool = pd.DataFrame(result["pooled_clear"])
    if not pool.empty:
        pool_md = pool.assign(
            **{
                k: pool[k].map(_pct)
                for k in ("thin", "opaque", "flagged", "flagged_edges", "flagged_interior", "edge_share", "ood_above_1")
            }
        ).rename(
            columns={
                "thin": "thin %",
                "opaque": "opaque %",
                "flagged": "flagged %",
                "flagged_edges": "edges %",
                "flagged_interior": "interior %",
                "edge_share": "edge px %",
                "ood_above_1": "ood>1 %",
            }
        )
        peer = {(r["level"], r["mode"]): r["flagged"] for r in result["pooled_clear"] if r["model"] == S2C}
        pool_md["target"] = [
            ""
            if r["model"].startswith("s2cloudless")
            else "met"
            if r["flagged"] <= st["clear_target"] and r["flagged"] <= peer.get((r["level"], r["mode"]), 1.0)
            else "missed"
            for r in result["pooled_clear"]
        ]
        lines.append(pool_md.to_markdown(index=False) + "\n")
    lines += ["## Edges and field interiors\n", edge_summary(result) + "\n"]
    lines += ["## Targets per clear scene\n", targets_md(result) + "\n"]
    snow = result["snow"]
    lines += [
        "## Snow (BigEarthNet S2B_MSIL2A_20180204T94161_57_38, L2A)\n",
        f"NDSI = (B03 - B11) / (B03 + B11), B11 repeated to 10 m: median {snow.get('ndsi_median', float('nan')):.3f}, "
        f"{_pct(snow.get('ndsi_above_0_4', float('nan')))} % of the pixels above 0.4 (snow). Target: <= "
        f"{100 * st['snow_target']:.0f} % flagged.\n",
        pd.DataFrame(snow["flagged"])
        .assign(
            flagged=lambda d: d["flagged"].map(_pct),
            target=lambda d: ["met" if float(v) <= 100 * st["snow_target"] else "missed" for v in d["flagged"]],
        )
        .rename(columns={"flagged": "flagged %"})
        .to_markdown(index=False)
        + "\n"
        if snow["flagged"]
        else "(not run)\n",
    ]
    lines += ["## Cloudy reference (SSL4EO-S12 2020-08-23, L1C, cumulus)\n", cloudy_md(result) + "\n"]
    lines += ["## All rows\n", main_table(result).to_markdown(index=False) + "\n"]
    spots = pd.DataFrame(result["suspect_spots"])
    if not spots.empty:
        pct = [k for k in spots.columns if k.startswith(("flagged", "share"))]
        lines += [
            "## Spots in the clear scenes that may not be surface\n",
            "Seen on the pictures (see the list below); the scenes stay in the clear pool. Flagged inside and outside "
            "each spot, and the share of the scene's flags that lie in it (%).\n",
            spots.assign(**{k: spots[k].map(_pct) for k in pct}).to_markdown(index=False) + "\n",
        ]
    lines += ["## WorldCereal L2A series (SCL-clear dates)\n", worldcereal_md(result) + "\n"]
    lines += ["## What the scenes show (true colour, looked at one by one)\n", seen_md() + "\n"]
    if registration_rows:
        lines += [
            "## Registration of the SSL4EO-S12 bands\n",
            "The shift (in 10 m px) at which the 10 m band averaged over the coarse pixel's footprint correlates "
            "best with the coarse band; 0 = the grids share their corner. The 60 m bands are shifted by about 4 px "
            f"in y and x, so they are read with the shift {list(SSL4EO_SHIFT_60M)} (the files' geotransforms say "
            "-2.5 px, which does not fit); the 20 m bands are aligned.\n",
            pd.DataFrame(registration_rows).to_markdown(index=False) + "\n",
        ]
    if sensitivity:
        sens = pd.DataFrame(sensitivity).assign(shift_60m=lambda d: d["shift_60m"].map(str))
        lines += [
            "Flagged % (nearest) with the 60 m bands read with the measured shift and without any:\n",
            sens.pivot_table(index=["scene", "model"], columns="shift_60m", values="flagged", aggfunc="first")
            .map(_pct)
            .to_markdown()
            + "\n",
        ]
    lines.append("![flags per scene](figures/real_surfaces.png)\n")
    lines.append(
        "Data: BigEarthNet example patches (CDLA-Permissive-1.0, via kai-tub/bigearthnet_common), SSL4EO-S12 "
        "(CC-BY-4.0, via kai-tub/rico-hdl), WorldCereal test series (MIT); contains modified Copernicus Sentinel "
        "data. Read from ../shared/data, not copied (../shared/data/SOURCES.md).\n"
    )
    return "\n".join(lines)


def summary(result: dict) -> str:
    """Sentences on the pooled clear scenes per level and cotmask model: flagged per resampling against the target,
    and where the thin pixels lie (edges or field interiors)."""
    pool = pd.DataFrame(result["pooled_clear"])
    edges = _edge_table(result)
    if pool.empty or edges.empty:
        return "(not run)"
    out = []
    for (level, model), g in pool[pool["model"].str.startswith("cotmask")].groupby(["level", "model"], sort=False):
        by = g.set_index("mode")
        e = edges[(edges["level"] == level) & (edges["model"] == model) & (edges["scenes"] == "all")].set_index("mode")
        flagged = ", ".join(f"{_pct(by.loc[m, 'flagged'])} % ({m})" for m in MODES if m in by.index)
        m0 = next(m for m in MODES if m in e.index)
        out.append(
            f"- {level}, {model}: flags {flagged} of {int(by['pixels'].iloc[0])} clear pixels in "
            f"{int(by['scenes'].iloc[0])} scene(s) (target {100 * CLEAR_TARGET:.0f} %). Of its thin pixels "
            f"({m0}) {_pct(e.loc[m0, 'thin_on_edges'])} % are edge pixels, which make up "
            f"{_pct(e.loc[m0, 'edge_share'])} % of all pixels: edges are flagged at {_pct(e.loc[m0, 'flagged_edges'])} "
            f"%, field interiors at {_pct(e.loc[m0, 'flagged_interior'])} %"
            + (
                f"; with the model on the 20 m grid: edges {_pct(e.loc['20m', 'flagged_edges'])} %, interiors "
                f"{_pct(e.loc['20m', 'flagged_interior'])} %."
                if "20m" in e.index and m0 != "20m"
                else "."
            )
        )
    for (level, model, scenes), e in edges[edges["scenes"] != "all"].groupby(["level", "model", "scenes"], sort=False):
        e = e.set_index("mode")
        m0 = next(m for m in MODES if m in e.index)
        out.append(
            f"- {level}, {model}, {scenes} alone: {_pct(e.loc[m0, 'thin_on_edges'])} % of the thin pixels ({m0}) are "
            f"edge pixels ({_pct(e.loc[m0, 'edge_share'])} % of all); flagged edges "
            + ", ".join(f"{_pct(e.loc[m, 'flagged_edges'])} % ({m})" for m in MODES if m in e.index)
            + "; interiors "
            + ", ".join(f"{_pct(e.loc[m, 'flagged_interior'])} % ({m})" for m in MODES if m in e.index)
            + "."
        )
    return "\n".join(out)


def _edge_table(result: dict) -> pd.DataFrame:
    """Per level x cotmask model x scenes (all clear ones pooled, and per source) x mode: thin pixels, the share of
    them on edges, the share of edge pixels, and the flagged fractions on edges and inside fields (fractions)."""
    ok = [
        r
        for r in result["rows"]
        if r["status"] == "ok"
        and r["kind"] == "clear"
        and r["source"] != "worldcereal"
        and r["model"].startswith("cot")
    ]
    df = pd.DataFrame(ok)
    recs: list[dict] = []
    if df.empty:
        return pd.DataFrame(recs)
    parts = [df.assign(scenes="all")]
    for level, g in df.groupby("level", sort=False):  # per source where a level pools several
        if g["source"].nunique() > 1:
            parts += [g[g["source"] == src].assign(scenes=src) for src in g["source"].unique()]
    df = pd.concat(parts)
    for (level, model, scenes, mode), g in df.groupby(["level", "model", "scenes", "mode"], sort=False):
        w = g["pixels"]
        thin_px = g["thin"] * w
        edge_px = g["edge_share"] * w
        recs.append(
            {
                "level": level,
                "model": model,
                "scenes": scenes,
                "mode": mode,
                "thin_px": int(round(thin_px.sum())),
                "thin_on_edges": float((g["thin_on_edges"].fillna(0) * thin_px).sum() / thin_px.sum())
                if thin_px.sum()
                else float("nan"),
                "edge_share": float(edge_px.sum() / w.sum()),
                "flagged_edges": float((g["flagged_edges"] * edge_px).sum() / edge_px.sum()),
                "flagged_interior": float((g["flagged_interior"] * (w - edge_px)).sum() / (w - edge_px).sum()),
            }
        )
    return pd.DataFrame(recs)


def edge_summary(result: dict) -> str:
    """Per level x cotmask model x mode over the pooled clear scenes: flagged on edges vs interior and the share of
    thin pixels lying on edges (markdown)."""
    t = _edge_table(result)
    if t.empty:
        return "(not run)"
    t = t.assign(**{k: t[k].map(_pct) for k in ("thin_on_edges", "edge_share", "flagged_edges", "flagged_interior")})
    t = t.rename(
        columns={
            "thin_px": "thin px",
            "thin_on_edges": "thin on edges %",
            "edge_share": "edge px %",
            "flagged_edges": "flagged edges %",
            "flagged_interior": "flagged interior %",
        }
    )
    return (
        "Clear scenes, pooled (`all`) and per source; `thin on edges %`: the share of the thin-flagged pixels that are "
        "edge pixels (compare with `edge px %`, the share of all pixels that are).\n\n" + t.to_markdown(index=False)
    )


def targets_md(result: dict) -> str:
    """The target verdicts per clear scene row (default model first)."""
    df = pd.DataFrame([t for t in result["targets"] if t["target"] == CLEAR_TARGET])
    if df.empty:
        return "(not run)"
    df["flagged %"] = df["flagged"].map(_pct)
    df["s2cloudless %"] = df.get("s2cloudless", pd.Series(np.nan, index=df.index)).map(_pct)
    df["met"] = df["met"].map({True: "met", False: "missed"})
    table = df.pivot_table(
        index=["scene", "level", "model"], columns="mode", values=["flagged %", "met"], aggfunc="first"
    )
    table = table[[(what, mode) for mode in MODES for what in ("flagged %", "met") if (what, mode) in table.columns]]
    table.columns = [f"{mode} {what}" for what, mode in table.columns]
    return (
        "flagged % per resampling and the verdict; on L1C the target also asks at most the s2cloudless (p > 0.4) "
        "fraction on the same pixels: "
        + ", ".join(
            f"{r['scene']} {r['mode']}: {_pct(r.get('s2cloudless'))} %"
            for r in result["targets"]
            if "s2cloudless" in r and r["model"].endswith("(default)")
        )
        + "\n\n"
        + table.reset_index().to_markdown(index=False)
    )


def cloudy_md(result: dict) -> str:
    """The flagged fractions on the cumulus scene (a sanity check: the models do see clouds there)."""
    df = pd.DataFrame([r for r in result["rows"] if r["status"] == "ok" and r["kind"] == "cloudy"])
    if df.empty:
        return "(not run)"
    t = df.pivot(index="model", columns="mode", values="flagged").map(_pct)
    return "Flagged % (no target: a reference that the cumulus is seen).\n\n" + t.to_markdown()


def worldcereal_md(result: dict) -> str:
    """Dates, bands and what ran per place."""
    rows = []
    for w in result["worldcereal"]:
        status: dict[str, str] = {}
        for r in result["rows"]:  # per model its first mode (nearest on a 10 m grid, 20m on a 20 m one)
            if r["scene"] == w["scene"] and r["model"] not in status:
                status[r["model"]] = r["status"] if r["status"] != "ok" else f"{r['mode']}: {_pct(r['flagged'])} %"
        rows.append(
            {
                "place": w["scene"],
                "SCL-clear dates": f"{w['scl_clear_dates']} of {w['dates_in_file']}",
                "grids m": w["grids_m"],
                **status,
            }
        )
    return (
        f"SCL-clear: >= {100 * SCL_CLEAR_SHARE:.0f} % SCL 4/5 (vegetation, not vegetated), no SCL 3/8/9/10 pixel, no "
        "fill. The files have no B01, B09 or B10: the shipped models need B09, so they are not runnable here; a "
        "model declaring bands without B09 (`Model(run, {'L2A': (...)})`) runs on these dates.\n\n"
        + pd.DataFrame(rows).to_markdown(index=False)
    )


def seen_md() -> str:
    """What each picture shows."""
    out = [f"- BigEarthNet {k}: {v}" for k, v in BIGEARTHNET_SEEN.items()]
    out += [f"- SSL4EO-S12 {d[:4]}-{d[4:6]}-{d[6:]}: {v}" for d, v in SSL4EO_SEEN.items()]
    return "\n".join(out)


def figure(data: Path, result: dict, path: Path) -> Path:
    """True colour, edge pixels and the default model's flags (nearest, bilinear, 20m) and s2cloudless (L1C) per
    BigEarthNet and SSL4EO-S12 scene."""
    _need("matplotlib", "the figure")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    maps = result["_maps"]
    default = next(m for m in {k[2] for k in maps if len(k) == 3} if m.endswith("(default)"))
    scenes = [s for s in read_scenes(data) if (s.name, "edges") in maps]
    cols = ["true colour", "edges", "nearest", "bilinear", "20m", "s2cloudless p>0.4 (nearest)"]
    fig, axes = plt.subplots(len(scenes), len(cols), figsize=(2.3 * len(cols), 2.3 * len(scenes)), squeeze=False)
    cmap = ListedColormap(["#00000000", "#ffd92f", "#e41a1c"])
    for r, (row, s) in enumerate(zip(axes, scenes)):
        stack, names, _ = grid(s, "nearest")
        rgb = stack[0][[names.index(b) for b in ("B04", "B03", "B02")]].transpose(1, 2, 0) * DN_SCALE
        rgb = np.clip(rgb / max(np.percentile(rgb, 99.5), 1e-3), 0, 1) ** (1 / 1.5)
        grey = rgb.mean(axis=2)
        for ax, col in zip(row, cols):
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                title = col if col in ("true colour", "edges") or col.startswith("s2c") else f"{default}, {col}"
                ax.set_title(title, fontsize=7)
            if col == "true colour":
                ax.imshow(rgb, interpolation="nearest")
                ax.set_ylabel(s.name.replace("BigEarthNet ", "BEN ").replace("_MSIL2A_", " "), fontsize=6)
            elif col == "edges":
                ax.imshow(grey, cmap="gray", interpolation="nearest")
                edges = maps[(s.name, "edges")]
                ax.imshow(np.where(edges, 1.0, np.nan), cmap="cool", alpha=0.6, interpolation="nearest")
                ax.text(2, 2, f"{100 * edges.mean():.0f} %", color="black", fontsize=7, va="top", backgroundcolor="w")
            else:
                key = (s.name, "nearest", S2C) if col.startswith("s2c") else (s.name, col, default)
                if key not in maps:
                    ax.text(0.5, 0.5, "L1C only", ha="center", va="center", fontsize=7, transform=ax.transAxes)
                    continue
                ax.imshow(grey, cmap="gray", interpolation="nearest")
                cls = np.nan_to_num(maps[key]).astype(int)
                ax.imshow(cls, cmap=cmap, vmin=0, vmax=2, interpolation="nearest")
                ax.text(
                    2, 2, f"{100 * np.mean(cls >= 1):.1f} %", color="black", fontsize=7, va="top", backgroundcolor="w"
                )
    fig.suptitle(
        "Flags on real clear, snow and cloudy scenes: yellow thin, red opaque (s2cloudless: red = cloud); edges: "
        f"B04 or B08 off its 3x3 mean by > {EDGE_THRESHOLDS['B04']} / {EDGE_THRESHOLDS['B08']}\n"
        "Contains modified Copernicus Sentinel data (BigEarthNet CDLA-Permissive-1.0, SSL4EO-S12 CC-BY-4.0).",
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    buf = io.BytesIO()
    fig.savefig(buf, dpi=80, format="png")
    plt.close(fig)
    from PIL import Image  # matplotlib's dependency: a 256-colour copy is a third of the size

    Image.open(buf).convert("RGB").quantize(256).save(path, optimize=True)
    return path


def _jsonable(result: dict) -> dict:
    """The result without the maps, NaN as null."""

    def clean(v: object) -> object:
        if isinstance(v, float) and np.isnan(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v

    return clean({k: v for k, v in result.items() if not k.startswith("_")})


def main() -> None:
    """Evaluate, write the report, the results and the figure."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--kinds", nargs="+", default=list(SHIPPED_KINDS), help="shipped model kinds to judge")
    a = ap.parse_args()
    for module in ("s2cloudless", "tabulate", "matplotlib", "scipy", "rasterio"):
        _need(module, "evaluation/real_surfaces.py")
    t0 = time.perf_counter()
    _need("s2cloudless", "the s2cloudless peer rows")
    result = evaluate(a.data, default_models(a.kinds))
    reg = ssl4eo_registration(a.data)
    cot_models = {k: v for k, v in default_models(a.kinds).items() if k.startswith("cotmask")}
    sens = shift_sensitivity(a.data, cot_models)
    prov = provenance()
    (a.out / "figures").mkdir(parents=True, exist_ok=True)
    figure(a.data, result, a.out / "figures" / "real_surfaces.png")
    seconds = time.perf_counter() - t0
    (a.out / "real_surfaces.md").write_text(report(result, reg, sens, prov))
    (a.out / "real_surfaces.json").write_text(
        json.dumps(
            {
                **_jsonable(result),
                "registration": reg,
                "shift_sensitivity": sens,
                "provenance": prov,
            },
            indent=1,
        )
    )
    print(f"wrote {a.out / 'real_surfaces.md'} ({seconds:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
