"""Sample Sentinel-2 cubes as labelled xarray objects (t, bands, y, x).

* ``s2cloudless_cube``: the real 13-band L1C scene shipped in the ``s2cloudless==1.2.2`` source
  distribution on PyPI (``s2cloudless/TestInputs/input_arrays.npz``, CC BY-SA 4.0, Sinergise),
  which the README's set-up command downloads into ``.cache/``. It has no georeference or date in
  the file: the cube gets pixel coordinates on a 10 m grid and a nominal date, flagged in its attrs.
* ``worldcereal_series``: a real L2A series of the WorldCereal test extractions (../shared/data/worldcereal_series,
  MIT; contains modified Copernicus Sentinel data) as DN at 20 m with SCL, for the series graphs on real dates.
* ``to_dn`` / ``write_collection``: the DN form a backend delivers, saved as a netCDF that
  ``openeo.local.LocalConnection`` loads as a collection.
"""

import tarfile
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from ..core.bands import DN_SCALE, S2_BANDS
from ..core.shipped import REPO

S2CLOUDLESS_MEMBER = "s2cloudless-1.2.2/s2cloudless/TestInputs/input_arrays.npz"
S2CLOUDLESS_CREDIT = (
    "Real Sentinel-2 L1C sample from the s2cloudless 1.2.2 test inputs (Sinergise), CC BY-SA 4.0; "
    "contains modified Copernicus Sentinel data"
)
CACHE = REPO / ".cache"


def find_s2cloudless_npz(path: str | Path | None = None) -> Path:
    """Locate ``input_arrays.npz``: ``path`` (npz or the sdist .tar.gz) or the README's ``.cache/`` download."""
    candidates = (
        [Path(path)]
        if path
        else [CACHE / "s2cloudless" / "input_arrays.npz", *sorted(CACHE.glob("s2cloudless-1.2.2.tar.gz"))]
    )
    for c in candidates:
        if c.suffix == ".npz" and c.exists():
            return c
        if c.name.endswith(".tar.gz") and c.exists():
            out = c.parent / "s2cloudless" / "input_arrays.npz"
            if not out.exists():
                out.parent.mkdir(parents=True, exist_ok=True)
                with tarfile.open(c) as tar:
                    out.write_bytes(tar.extractfile(S2CLOUDLESS_MEMBER).read())
            return out
    raise FileNotFoundError(
        "real Sentinel-2 sample not found; run the README's demo command (it downloads it with "
        "`pip download --no-deps --no-binary :all: s2cloudless==1.2.2 -d .cache`) or pass a path"
    )


def s2cloudless_cube(path: str | Path | None = None, date: str = "2017-01-01") -> xr.DataArray:
    """The real 13-band L1C sample as a (t, bands, y, x) float32 TOA-reflectance cube."""
    with np.load(find_s2cloudless_npz(path)) as z:
        arr = z["s2_im"].astype(np.float32)  # (1, 856, 512, 13)
    t, ny, nx, _ = arr.shape
    cube = xr.DataArray(
        np.moveaxis(arr, -1, 1),
        dims=("t", "bands", "y", "x"),
        coords={
            "t": np.array([date] * t, dtype="datetime64[ns]"),
            "bands": list(S2_BANDS),
            "y": 5_000_000.0 - 10.0 * np.arange(ny) - 5.0,
            "x": 500_000.0 + 10.0 * np.arange(nx) + 5.0,
        },
        attrs={
            "source": S2CLOUDLESS_CREDIT,
            "units": "TOA reflectance",
            "note": "no georeference or acquisition date in the source; pixel grid and date are nominal",
        },
    )
    return cube


def to_dn(reflectance: xr.DataArray, offset: int = 0) -> xr.DataArray:
    """Reflectance -> uint16 DN as ESA / backends deliver them (``DN = refl * 10000 - offset``; NaN -> 0).

    Only spectral bands (B01...B12) are scaled; class layers such as SCL keep their codes.
    """
    spectral = xr.DataArray(
        [str(b).startswith("B") for b in reflectance.bands.values], dims="bands", coords={"bands": reflectance.bands}
    )
    dn = xr.where(spectral, np.round(reflectance.fillna(0) / DN_SCALE - offset), reflectance.fillna(0)).clip(0, 65535)
    dn = dn.where(reflectance.notnull(), 0)
    out = dn.astype(np.uint16).transpose(*reflectance.dims)
    out.attrs = {**reflectance.attrs, "units": "DN", "radiometric_offset": offset, "scale": DN_SCALE}
    return out


def write_collection(cube: xr.DataArray, path: str | Path, crs: str = "EPSG:32633") -> Path:
    """Save a (t, bands, y, x) cube as a netCDF collection for ``openeo.local.LocalConnection``."""
    import rioxarray  # noqa: F401  (registers .rio)

    ds = cube.to_dataset(dim="bands")
    ds = ds.rio.write_crs(crs)
    for v in ds.data_vars:
        ds[v].encoding.update({"zlib": True, "complevel": 4})
    ds.attrs = {k: str(v) for k, v in cube.attrs.items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.to_netcdf(path)
    return path


#: The WorldCereal bands at 10 m (averaged 2 x 2 onto the 20 m grid) and at 20 m; the extractions have no B01, B09, B10.
WORLDCEREAL_10M, WORLDCEREAL_20M = ("B02", "B03", "B04", "B08"), ("B05", "B06", "B07", "B8A", "B11", "B12")


def worldcereal_series(
    folder: str | Path, place: str, start: str | None = None, end: str | None = None
) -> xr.DataArray:
    """A WorldCereal place's L2A series (t, bands, y, x) as uint16 DN on its 20 m grid (UTM coordinates; the 10 m
    bands averaged 2 x 2; fill 0 stays 0 = nodata), with band SCL, dates in [start, end). Only places with both the
    10 m and the 20 m file have every band but B09."""
    folder = Path(folder)
    opened = {}
    for res in ("10m", "20m"):
        path = next(folder.glob(f"*__{place}__S2_L2A_{res}_*.nc"), None)
        if path is None:
            raise FileNotFoundError(f"no {res} file for WorldCereal place {place} in {folder}")
        with xr.open_dataset(path, mask_and_scale=False) as ds:
            opened[res] = ds.load()
    d10, d20 = opened["10m"], opened["20m"]
    planes = []
    for b in WORLDCEREAL_10M:
        a = d10[b].values.astype(np.float32)
        a[a == 0] = np.nan  # fill: nodata, kept out of the 2 x 2 mean
        t, h, w = a.shape
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a block all fill: nodata
            planes.append(np.nanmean(a.reshape(t, h // 2, 2, w // 2, 2), axis=(2, 4)))
    planes += [d20[b].values.astype(np.float32) for b in WORLDCEREAL_20M]
    planes.append(d20["SCL"].values.astype(np.float32))
    data = np.nan_to_num(np.round(np.stack(planes, axis=1)), nan=0.0).astype(np.uint16)
    cube = xr.DataArray(
        data,
        dims=("t", "bands", "y", "x"),
        coords={
            "t": d20["timestamp"].values.astype("datetime64[D]").astype("datetime64[ns]"),
            "bands": [*WORLDCEREAL_10M, *WORLDCEREAL_20M, "SCL"],
            "y": d20["y"].values,
            "x": d20["x"].values,
        },
        attrs={
            "units": "DN",
            "scale": DN_SCALE,
            "crs": f"EPSG:{d20['B05'].attrs['epsg']}",
            "sun_zenith_median": float(np.nanmedian(d20["sunZenithAngles"].values)),
        },
    )
    keep = np.ones(cube.sizes["t"], bool)
    if start:
        keep &= cube.t.values >= np.datetime64(start)
    if end:
        keep &= cube.t.values < np.datetime64(end)
    return cube.isel(t=np.flatnonzero(keep))
