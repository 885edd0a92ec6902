"""netCDF files that open with correct metadata in xarray, QGIS and Panoply (CF-1.8 attributes).

Outputs never inherit the input's attributes (``units: DN`` on a COT band would be wrong): every variable
gets its own ``long_name``/``units``, the cloud class its ``flag_values``/``flag_meanings``, and the file
records the model, its version, level, thresholds and the DN conversion used.
"""

import os
from pathlib import Path

import numpy as np
import xarray as xr

from ..core.bands import DN_SCALE
from ..core.cube import BAND_ATTRS, RESULT_ATTRS

CONVENTIONS = {"Conventions": "CF-1.8"}


def _safe(attrs: dict) -> dict:
    """netCDF-storable attributes (lists of numbers stay lists)."""
    out = {}
    for k, v in attrs.items():
        if isinstance(v, (str, int, float, np.integer, np.floating)) and not isinstance(v, bool):
            out[k] = v
        elif isinstance(v, (list, tuple)) and all(isinstance(x, (int, float)) for x in v):
            out[k] = list(v)
    return out


def write_cloud_mask(result: xr.DataArray, path: Path, extra: dict | None = None) -> Path:
    """A cotmask result (bands cot, cot_std, cloud_class, ood, shadow where present) as netCDF: float32 bands,
    int8 classes (-1 nodata)."""
    ds = result.to_dataset("bands")
    ds.attrs = {}
    for name in list(ds.data_vars):
        ds[name].attrs = dict(BAND_ATTRS.get(name, {}))
    cls = ds["cloud_class"]
    ds["cloud_class"] = cls.fillna(-1).astype(np.int8).assign_attrs(cls.attrs)
    ds["cloud_class"].encoding["_FillValue"] = np.int8(-1)
    ds.attrs = {
        **CONVENTIONS,
        "title": "cotmask cloud optical thickness and cloud class",
        **_safe({k: v for k, v in result.attrs.items() if k in RESULT_ATTRS}),  # never the input's (units: DN)
        **_safe(extra or {}),
    }
    return _write(ds, path)


def write_composite(
    comp: xr.DataArray, path: Path, reducer: str, offset: float = 0.0, extra: dict | None = None
) -> Path:
    """A forest composite as netCDF: spectral bands float32 in DN (with the conversion to reflectance stated),
    ``valid_count`` int16."""
    ds = comp.to_dataset("bands")
    for name in list(ds.data_vars):
        if name == "valid_count":
            ds[name] = ds[name].fillna(0).astype(np.int16)
            ds[name].attrs = {"long_name": "number of clear observations in the period", "units": "1"}
        else:
            ds[name] = ds[name].astype(np.float32)
            ds[name].attrs = {
                "long_name": f"Sentinel-2 {name}, {reducer} of the clear observations in the period",
                "units": "1",
                "comment": f"digital numbers: reflectance = (DN + {offset:g}) * {DN_SCALE}",
            }
    ds.attrs = {**CONVENTIONS, "title": f"cotmask cloud-free {reducer} composite", **_safe(extra or {})}
    return _write(ds, path)


def _write(ds: xr.Dataset, path: Path) -> Path:
    """Write ``ds`` compressed to ``path``. The folder is not created (a mistyped path should not make one): a missing
    folder raises ``FileNotFoundError``, a read-only one ``PermissionError``, each saying so in one line (the netCDF
    library reports both as "Permission denied")."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"output folder {folder} does not exist; create it first or choose another path")
    for v in ds.data_vars.values():
        v.encoding.update({"zlib": True, "complevel": 4})
    try:
        ds.to_netcdf(path)
    except PermissionError as e:
        if not os.access(folder, os.W_OK):
            raise PermissionError(f"output folder {folder} is read-only; choose a writable folder") from None
        raise PermissionError(
            f"output file {path} cannot be written ({e.strerror}); remove it or choose another path"
        ) from None
    return path
