"""Sample Sentinel-2 cubes as labelled xarray objects (t, bands, y, x).

* ``s2cloudless_cube``: the real 13-band L1C scene shipped in the ``s2cloudless==1.2.2`` source
  distribution on PyPI (``s2cloudless/TestInputs/input_arrays.npz``, CC BY-SA 4.0, Sinergise),
  which the README's set-up command downloads into ``.cache/``. It has no georeference or date in
  the file: the cube gets pixel coordinates on a 10 m grid and a nominal date, flagged in its attrs.
* ``to_dn`` / ``write_collection``: the DN form a backend delivers, saved as a netCDF that
  ``openeo.local.LocalConnection`` loads as a collection.
"""

import tarfile
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
