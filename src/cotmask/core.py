"""cotmask inference core: numpy + onnxruntime + xarray only.

This module is the single implementation of band handling, input checks, chunked ONNX inference and
classification. The package imports it, and ``cotmask.udf_build`` inlines its source verbatim into the
self-contained UDF file (``udf/cotmask_udf.py``), so a backend and a laptop run the same code.
Keep it free of other imports, and of ``from __future__ import annotations`` (openEO finds the UDF
entry points by their annotations).
"""

import json
import os
import re
import sys
from typing import Callable

import numpy as np
import xarray as xr

from .onnx_numpy import NumpyGraph  # udf_build: drop

#: Where openEO's job option ``udf-dependency-archives`` (``...onnx_deps_python311.zip#onnx_deps``)
#: unpacks onnxruntime next to the UDF, as the ESA APEx ONNX services use it.
DEPENDENCY_DIR = "onnx_deps"
if os.path.isdir(DEPENDENCY_DIR) and DEPENDENCY_DIR not in sys.path:
    sys.path.insert(0, DEPENDENCY_DIR)
try:
    import onnxruntime as ort
except ImportError:  # e.g. CDSE's default UDF runtime: the numpy engine runs the same ONNX graph
    ort = None

LEVELS = ("L1C", "L2A")
MODEL_KINDS = ("ensemble", "distilled")
ENGINES = ("onnxruntime", "numpy")
OUTPUT_BANDS = ("cot", "cot_std", "cloud_class")
#: Sentinel-2 DN scale: reflectance = (DN + offset) * DN_SCALE.
DN_SCALE = 0.0001
CONTEXT_DEFAULTS = {"level": None, "scale": DN_SCALE, "offset": 0.0, "nodata": 0.0, "thin_threshold": None,
                    "opaque_threshold": None, "model": "ensemble", "chunk_size": 65536, "engine": None}
#: Reflectance outside this range is not physical for Sentinel-2 L1C/L2A (L2A can be a little negative).
VALID_RANGE = (-0.2, 2.0)
_BAND_RE = re.compile(r"^B0?([1-9]|1[0-2]|8A)$", re.IGNORECASE)


def canonical_band(label: str) -> str:
    """Sentinel-2 band label in ESA spelling: ``B2``/``b02`` -> ``B02``, ``b8a`` -> ``B8A``; others unchanged."""
    m = _BAND_RE.match(str(label).strip())
    if not m:
        return str(label)
    num = m.group(1).upper()
    return "B8A" if num == "8A" else f"B{int(num):02d}"


class Model:
    """An ONNX cotmask model with the metadata it carries (bands, level, thresholds, ...)."""

    def __init__(self, onnx_bytes: bytes, threads: int = 0, engine: str | None = None) -> None:
        """Load ``onnx_bytes`` with ``engine`` (onnxruntime or numpy; None: onnxruntime when importable)."""
        engine = engine or ("onnxruntime" if ort is not None else "numpy")
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        if engine == "onnxruntime":
            if ort is None:
                raise ValueError("engine 'onnxruntime' requested but onnxruntime is not installed; use engine 'numpy'")
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            # no busy-waiting threads: backends run several workers per machine, and spinning threads
            # starve whatever shares the cores (seen here: a 60x slow-down beside a training process)
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self.session = ort.InferenceSession(onnx_bytes, sess_options=opts, providers=["CPUExecutionProvider"])
            meta = self.session.get_modelmeta().custom_metadata_map
            self.input_name = self.session.get_inputs()[0].name
        else:
            self.session = NumpyGraph(onnx_bytes)
            meta = self.session.metadata
            self.input_name = self.session.inputs[0]
        self.engine = engine
        try:
            self.metadata = {k: json.loads(v) for k, v in meta.items()}
            self.bands: tuple[str, ...] = tuple(self.metadata["bands"])
            self.level: str = self.metadata["level"]
            self.kind: str = self.metadata["kind"]
            self.thresholds: dict[str, float] = self.metadata["thresholds"]
        except (KeyError, ValueError) as e:
            raise ValueError(f"ONNX model lacks cotmask metadata ({e}); not a cotmask model?") from e

    def _infer(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.engine == "onnxruntime":
            return tuple(self.session.run(None, {self.input_name: block}))
        return tuple(self.session.run({self.input_name: block}))

    def run(self, x: np.ndarray, chunk_size: int = 65536, what: str = "reflectance") -> tuple[np.ndarray, np.ndarray]:
        """COT mean and spread for reflectance rows ``x`` (N, n_bands), checked chunk by chunk
        (``check_reflectance``: no full-size copy); rows with NaN give NaN."""
        n = len(x)
        cot = np.full(n, np.nan, dtype=np.float32)
        std = np.full(n, np.nan, dtype=np.float32)
        for s in range(0, n, chunk_size):
            block = check_reflectance(x[s:s + chunk_size], what)
            ok = np.isfinite(block).all(axis=1)
            if ok.any():
                c, d = self._infer(block[ok] if not ok.all() else block)
                cot[s:s + chunk_size][ok] = c
                std[s:s + chunk_size][ok] = d
        return cot, std


def check_reflectance(x: np.ndarray, what: str = "reflectance") -> np.ndarray:
    """Validate reflectance and return it ready for the model (float32, a copy).

    Raises ``ValueError`` naming the problem when the bulk of the values is not reflectance: more than
    half above 2 (DN passed as reflectance) or more than 1 % below -0.05 (offset -1000 applied twice,
    fill values). Isolated values above 2 are clipped to 2 (saturated bright target); rows with a value
    below -0.2 become NaN (documented nodata).
    """
    x = np.array(x, dtype=np.float32)
    finite = x[np.isfinite(x)]
    if finite.size:
        if np.mean(finite > VALID_RANGE[1]) > 0.5:
            raise ValueError(f"{np.mean(finite > VALID_RANGE[1]):.0%} of {what} values > {VALID_RANGE[1]}: this looks "
                             "like DN (digital numbers), not reflectance. Convert with (DN + offset) * 0.0001, offset "
                             "-1000 for processing baseline >= 04.00, 0 before (in the UDF: context scale and offset)")
        if np.mean(finite < -0.05) > 0.01:
            raise ValueError(f"{np.mean(finite < -0.05):.1%} of {what} values < -0.05: not a valid reflectance. A wrong "
                             "radiometric offset (-1000 applied twice, or to already harmonised data) or unmasked fill "
                             "values are likely")
    with np.errstate(invalid="ignore"):
        x[(x < VALID_RANGE[0]).any(axis=-1)] = np.nan
        np.minimum(x, VALID_RANGE[1], out=x, where=np.isfinite(x))
    return x


def dn_to_reflectance(dn: np.ndarray, scale: float = DN_SCALE, offset: float = 0.0,
                      nodata: float | None = 0.0) -> np.ndarray:
    """float32 reflectance ``(dn + offset) * scale``; ``nodata`` DNs and NaN become NaN.

    The one plausibility check of the conversion: with a DN scale (< 0.01), input whose values are all
    within [-2, 2] and fractional is reflectance already, and converting it again would give a
    silently empty mask, so it raises ``ValueError`` naming the fix.
    """
    dn = np.asarray(dn)
    if not np.issubdtype(dn.dtype, np.number) or np.issubdtype(dn.dtype, np.bool_):
        raise TypeError(f"DN array must be numeric, got dtype {dn.dtype}")
    out = dn.astype(np.float32)
    if nodata is not None:
        out[dn == nodata] = np.nan
    valid = out[np.isfinite(out)]
    if scale < 0.01 and valid.size and np.abs(valid).max() <= VALID_RANGE[1] and np.any(valid != np.round(valid)):
        raise ValueError(f"values look like reflectance already (all <= {VALID_RANGE[1]}, fractional) but scale={float(scale)} "
                         "treats them as DN; pass scale=1 and offset=0 for reflectance input, and do not convert twice")
    out += np.float32(offset)
    out *= np.float32(scale)
    return out


def classify(cot: np.ndarray, thin: float, opaque: float) -> np.ndarray:
    """float32 class per pixel: 0 clear (COT < thin), 1 thin, 2 opaque (COT >= opaque), NaN where COT is NaN."""
    if not thin < opaque:
        raise ValueError(f"thin threshold ({thin}) must be below opaque threshold ({opaque})")
    with np.errstate(invalid="ignore"):
        cls = (cot >= thin).astype(np.float32)  # float32 throughout: no int64 temporary on full tiles
        cls += cot >= opaque
    cls[np.isnan(cot)] = np.nan
    return cls


def predict_rows(model: Model, x: np.ndarray, chunk_size: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Validate reflectance rows (N, n_bands) and run ``model``; NaN rows give NaN (documented nodata)."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"reflectance must be a float array, got dtype {x.dtype}; convert DN with "
                        "(DN + offset) * 0.0001 first")
    if x.ndim != 2 or x.shape[1] != len(model.bands):
        raise ValueError(f"expected reflectance of shape (N, {len(model.bands)}) with bands {list(model.bands)} "
                         f"for the {model.level} model, got shape {x.shape}")
    return model.run(x, chunk_size)


def parse_context(context: dict | None) -> dict:
    """Context with defaults filled in; unknown keys and bad values raise ``ValueError``."""
    context = dict(context or {})
    unknown = sorted(set(context) - set(CONTEXT_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown cotmask context keys {unknown}; allowed: {sorted(CONTEXT_DEFAULTS)}")
    ctx = {**CONTEXT_DEFAULTS, **{k: v for k, v in context.items() if v is not None}}
    if ctx["level"] is not None and str(ctx["level"]).upper() not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {ctx['level']!r}")
    if ctx["model"] not in MODEL_KINDS:
        raise ValueError(f"model must be one of {MODEL_KINDS}, got {ctx['model']!r}")
    if ctx["engine"] is not None and ctx["engine"] not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES} (or null: onnxruntime when installed), got {ctx['engine']!r}")
    if not float(ctx["scale"]) > 0:
        raise ValueError(f"scale must be > 0, got {ctx['scale']!r}")
    return ctx  # threshold order is checked once the model's defaults are known (cloud_mask_cube)


def _band_dim(cube: xr.DataArray) -> str:
    for d in cube.dims:
        if str(d).lower() in ("bands", "band"):
            return str(d)
    raise ValueError(f"cube has no bands dimension (dims {list(cube.dims)}); apply cotmask along 'bands'")


def cloud_mask_cube(cube: xr.DataArray, context: dict | None, get_model: Callable[[str, str, str | None], Model]) -> xr.DataArray:
    """COT, spread and class for a labelled cube with a bands dimension and any other dimensions.

    Input is DN (``(v + offset) * scale``, ``nodata`` DN and NaN give NaN) or, with ``scale=1``,
    reflectance. Output: the same dimensions, band labels ``OUTPUT_BANDS``, float32.
    """
    ctx = parse_context(context)
    bdim = _band_dim(cube)
    if not np.issubdtype(cube.dtype, np.number) or np.issubdtype(cube.dtype, np.bool_):
        raise TypeError(f"cube must be numeric, got dtype {cube.dtype}")
    labels = {canonical_band(b): b for b in cube.coords[bdim].values} if bdim in cube.coords else {}
    level = str(ctx["level"]).upper() if ctx["level"] else ("L1C" if "B10" in labels else "L2A")
    model = get_model(level, ctx["model"], ctx["engine"])
    missing = [b for b in model.bands if b not in labels]
    if missing:
        raise ValueError(f"cube lacks bands {missing} needed by the {level} model (has {sorted(labels)}); "
                         f"the {level} model needs {list(model.bands)}")
    thin = float(ctx["thin_threshold"] if ctx["thin_threshold"] is not None else model.thresholds["thin"])
    opaque = float(ctx["opaque_threshold"] if ctx["opaque_threshold"] is not None else model.thresholds["opaque"])
    if not thin < opaque:
        raise ValueError(f"thin_threshold ({thin}) must be below opaque_threshold ({opaque})")
    values = np.asarray(cube.values)  # no copy for numpy-backed cubes
    order = list(cube.coords[bdim].values)
    band_idx = [order.index(labels[b]) for b in model.bands]
    data = np.moveaxis(values, cube.dims.index(bdim), -1)  # (..., all bands): a view
    lead = data.shape[:-1]
    data = data.reshape((1,) * max(0, 3 - data.ndim) + data.shape)  # at least (rows, cols, bands)
    out = np.empty((*data.shape[:-1], 3), dtype=np.float32)
    scale, offset, nodata = np.float32(ctx["scale"]), np.float32(ctx["offset"]), ctx["nodata"]
    chunk = int(ctx["chunk_size"])
    rows = max(1, chunk // data.shape[-2])
    for idx in np.ndindex(*data.shape[:-3]):
        for r0 in range(0, data.shape[-3], rows):
            sl = (*idx, slice(r0, r0 + rows))
            raw = np.asarray(data[sl][..., band_idx], dtype=np.float32).reshape(-1, len(band_idx))  # chunk copy only
            refl = dn_to_reflectance(raw, scale, offset, nodata)  # NaN rows are nodata in model.run
            cot, std = model.run(refl, chunk, "reflectance (after scale/offset)")
            out[sl] = np.stack([cot, std, classify(cot, thin, opaque)], axis=-1).reshape(out[sl].shape)
    out = out.reshape(*lead, 3)
    dims = [d for d in cube.dims if d != bdim] + [bdim]
    coords = {k: v for k, v in cube.coords.items() if bdim not in v.dims}
    coords[bdim] = list(OUTPUT_BANDS)
    result = xr.DataArray(out, dims=dims, coords=coords, attrs={"cotmask_level": level, "cotmask_model": model.kind,
                                                                 "thin_threshold": thin, "opaque_threshold": opaque})
    return result.transpose(*cube.dims)
