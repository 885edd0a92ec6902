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
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Sequence

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
try:  # lets the numpy engine run chunks on worker threads with single-threaded BLAS (optional)
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None

LEVELS = ("L1C", "L2A")
MODEL_KINDS = ("ensemble", "distilled")
#: The model used unless asked otherwise (UDF context, graphs, ``predict``, demo): the network distilled from the
#: ensemble, of one member's size, ~8x faster at nearly the ensemble's flags on real scenes (models/README.md).
DEFAULT_MODEL = "distilled"
ENGINES = ("onnxruntime", "numpy")
OUTPUT_BANDS = ("cot", "cot_std", "cloud_class", "ood")
#: Sentinel-2 DN scale: reflectance = (DN + offset) * DN_SCALE.
DN_SCALE = 0.0001
CONTEXT_DEFAULTS = {"level": None, "scale": DN_SCALE, "offset": 0.0, "nodata": 0.0, "thin_threshold": None,
                    "opaque_threshold": None, "model": DEFAULT_MODEL, "chunk_size": None, "engine": None}
#: The models regress COT/50: COT in [0, 50]; a threshold above it could never be reached.
MAX_COT = 50.0
#: Scales cotmask accepts: Sentinel-2 DN (QUANTIFICATION_VALUE 10000, i.e. 0.0001) or reflectance (1), each
#: with room for a calibration factor. Anything else (e.g. 1e-5) would silently give an empty mask.
SCALE_RANGES = ((0.5e-4, 2e-4), (0.5, 2.0))
#: Raw ESA DN of processing baseline >= 04.00 carry +1000: then no pixel of a non-overcast scene is below
#: DN 1000 in the dark-surface bands, while water, shadow and conifer forest are far below it otherwise.
OFFSET_TELL_BANDS = ("B08", "B11", "B12")
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


#: cgroup v2 CPU limit of this container ("quota period" or "max period"), e.g. a Kubernetes pod's CPU limit
CGROUP_CPU_MAX = "/sys/fs/cgroup/cpu.max"


def cpu_count() -> int:
    """The CPUs this process may use: its affinity mask where the OS has one, capped by the container's cgroup CPU
    limit (a pod limited to 2 CPUs on a 64-core node sees all 64 in its affinity mask)."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        with open(CGROUP_CPU_MAX) as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            n = min(n, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return n


def parallel_map(fn: Callable, items: Iterable, workers: int) -> list:
    """``[fn(i) for i in items]`` on up to ``workers`` threads, in order; the first exception is raised."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


class Model:
    """An ONNX cotmask model with the metadata it carries (bands, level, thresholds, ...)."""

    def __init__(self, onnx_bytes: bytes, threads: int = 0, engine: str | None = None) -> None:
        """Load ``onnx_bytes`` with ``engine`` (onnxruntime or numpy; None: onnxruntime when importable).

        ``threads``: chunks processed at once, each on one thread (0: the CPUs this process may use; for the numpy
        engine without ``threadpoolctl`` 1, and numpy's BLAS threads share out the matrix products)."""
        engine = engine or ("onnxruntime" if ort is not None else "numpy")
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        #: parallel chunks. Whole chunks on threads (onnxruntime and numpy release the GIL) rather than one chunk's
        #: matrix products split over threads: the checks, the ood score and the output writes run in parallel too,
        #: and the small (chunk x 64) products need no synchronisation (benchmarks/results.md: ~2x on 2 cores)
        #: numpy's BLAS threads busy-wait between the small products, so worker threads beside them ran no faster
        #: (numpy engine, 2 cores: ~370-480 s a tile either way; 240-335 s with 2 workers and single-threaded BLAS)
        self.workers = int(threads) or (cpu_count() if engine == "onnxruntime" or threadpool_limits else 1)
        if engine == "onnxruntime":
            if ort is None:
                raise ValueError("engine 'onnxruntime' requested but onnxruntime is not installed; use engine 'numpy'")
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            # no busy-waiting threads: backends run several workers per machine, and spinning threads
            # starve whatever shares the cores (seen here: a 60x slow-down beside a training process)
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            # no pre-planned block for all intermediates of a chunk: the ensemble's (10 members x chunk x 64) layers
            # held ~690 MiB that way, ~350 MiB without, at the same speed (benchmarks/results.md)
            opts.enable_mem_pattern = False
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
        #: pixels per inference call (one per worker thread): an ensemble holds (members x chunk x 64) float32 per
        #: layer, so its 24576 pixels in flight (~135 MiB of intermediates; ~380 MiB at 65536) are shared among the
        #: workers, which keeps a full tile within 2 GiB above its input next to four float32 output bands (1.84 GiB);
        #: 8192-24576 per worker run at the same speed here. A single network's layers (chunk x 64) stay in the CPU
        #: caches at 8192 per worker (65536 was ~25 % slower)
        members = int(self.metadata.get("members", 1))
        self.chunk_size = max(4096, 24576 // self.workers) if members > 1 else 8192

    def _infer(self, block: np.ndarray) -> tuple[np.ndarray, ...]:
        """The graph outputs (cot, cot_std[, ood]) for clean rows ``block``. ``ood`` (``export.to_onnx_bytes``): the
        distance of the standardised input to the nearest centroid of the training inputs (k-means codebook in the
        metadata) divided by the 99th percentile of that distance over the training samples; <= 1: as close to the
        training data as 99 % of it, 2: twice that distance. A graph without it (no codebook) leaves ``ood`` NaN."""
        if self.engine == "onnxruntime":
            return tuple(self.session.run(None, {self.input_name: block}))
        return tuple(self.session.run({self.input_name: block}))

    def run(self, x: np.ndarray, chunk_size: int | None = None, what: str = "reflectance",
            check: bool = True, with_ood: bool = False) -> tuple[np.ndarray, ...]:
        """COT mean and spread (and with ``with_ood`` the ``ood`` score) for reflectance rows ``x`` (N, n_bands);
        rows with NaN give NaN.

        ``check``: the bulk plausibility rules of ``check_bulk`` on all of ``x`` at once (counted
        chunk by chunk: no full-size copy), so the verdict cannot depend on ``chunk_size`` (None: the model's)."""
        n = len(x)
        chunk_size = chunk_size or self.chunk_size
        starts = range(0, n, chunk_size)
        if check:
            check_bulk(sum(self.map(lambda s: bulk_counts(x[s:s + chunk_size]), starts)), what)
        outs = [np.full(n, np.nan, dtype=np.float32) for _ in range(3 if with_ood else 2)]

        def chunk(s: int) -> None:
            block = clean_reflectance(x[s:s + chunk_size])
            ok = np.isfinite(block).all(axis=1)
            rows = block if ok.all() else block[ok]
            if len(rows):
                for out, values in zip(outs, self._infer(rows)):  # without a graph ood output, ood stays NaN
                    if len(rows) == len(block):  # no boolean scatter for the usual all-valid chunk
                        out[s:s + len(block)] = values
                    else:
                        out[s:s + len(block)][ok] = values

        self.map(chunk, starts)
        return tuple(outs)

    def map(self, fn: Callable, items: Sequence) -> list:
        """``parallel_map`` on the model's worker threads; for the numpy engine with BLAS single-threaded meanwhile
        (where ``threadpoolctl`` is installed)."""
        if self.engine == "numpy" and self.workers > 1 and len(items) > 1 and threadpool_limits:
            with threadpool_limits(1, user_api="blas"):
                return parallel_map(fn, items, self.workers)
        return parallel_map(fn, items, self.workers)


def bulk_counts(x: np.ndarray) -> np.ndarray:
    """[finite values, values above the valid range, values below -0.05] of reflectance ``x``."""
    x = np.asarray(x)
    finite = np.isfinite(x)
    with np.errstate(invalid="ignore"):
        return np.array([finite.sum(), (x > VALID_RANGE[1]).sum(), (x < -0.05).sum()], dtype=np.int64)


def check_bulk(counts: np.ndarray, what: str = "reflectance") -> None:
    """Raise ``ValueError`` naming the problem when the bulk of the values is not reflectance: more than half
    above 2 (DN passed as reflectance) or more than 1 % below -0.05 (offset -1000 applied twice, fill values).
    ``counts`` from ``bulk_counts``, summed over the whole input: one verdict per cube, whatever the chunking."""
    n, above, below = (int(v) for v in counts)
    if n and above / n > 0.5:
        raise ValueError(f"{above / n:.0%} of {what} values > {VALID_RANGE[1]}: this looks like DN (digital "
                         "numbers), not reflectance. Convert with (DN + offset) * 0.0001, offset -1000 for processing "
                         "baseline >= 04.00, 0 before (in the UDF: context scale and offset)")
    if n and below / n > 0.01:
        raise ValueError(f"{below / n:.1%} of {what} values < -0.05: not a valid reflectance. A wrong radiometric "
                         "offset (-1000 applied twice, or to already harmonised data) or unmasked fill values are likely")


def clean_reflectance(x: np.ndarray) -> np.ndarray:
    """float32 copy ready for the model: isolated values above 2 clipped to 2 (saturated bright target), rows
    with a value below -0.2 NaN (documented nodata)."""
    x = np.array(x, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        x[(x < VALID_RANGE[0]).any(axis=-1)] = np.nan
        np.minimum(x, VALID_RANGE[1], out=x, where=np.isfinite(x))
    return x


def _looks_like_reflectance(values: np.ndarray) -> bool:
    """True when the finite ``values`` exist, are all within [-2, 2] and some are fractional. For DN the range test
    already says no, so the round-off test (a copy of the values and their rounding) is skipped."""
    finite = np.isfinite(values)
    if not finite.any() or np.max(np.abs(values), where=finite, initial=0.0) > VALID_RANGE[1]:
        return False
    valid = values[finite]
    return bool(np.any(valid != np.round(valid)))


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
    if scale < 0.01 and not np.issubdtype(dn.dtype, np.integer) and _looks_like_reflectance(out):
        raise ValueError(f"values look like reflectance already (all <= {VALID_RANGE[1]}, fractional) but scale={float(scale)} "
                         "treats them as DN; pass scale=1 and offset=0 for reflectance input, and do not convert twice")
    out += np.float32(offset)
    out *= np.float32(scale)
    return out


def classify(cot: np.ndarray, thin: float, opaque: float) -> np.ndarray:
    """float32 class per pixel: 0 clear (COT < thin), 1 thin, 2 opaque (COT >= opaque), NaN where COT is NaN."""
    if not thin < opaque:
        raise ValueError(f"thin threshold ({thin}) must be below opaque threshold ({opaque})")
    cot = np.asarray(cot)
    cls = np.empty(cot.shape, np.float32)
    flat_cot, flat_cls = cot.reshape(-1), cls.reshape(-1)
    step = 1 << 20  # blocks: a full tile's boolean temporaries would be 115 MiB each
    with np.errstate(invalid="ignore"):
        for s in range(0, flat_cot.size, step):
            c, out = flat_cot[s:s + step], flat_cls[s:s + step]
            out[:] = c >= thin
            out += c >= opaque
            out[np.isnan(c)] = np.nan
    return cls


def predict_rows(model: Model, x: np.ndarray, chunk_size: int | None = None, with_ood: bool = False) -> tuple[np.ndarray, ...]:
    """Validate reflectance rows (N, n_bands) and run ``model`` (``Model.run``); NaN rows give NaN (documented nodata)."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"reflectance must be a float array, got dtype {x.dtype}; convert DN with "
                        "(DN + offset) * 0.0001 first")
    if x.ndim != 2 or x.shape[1] != len(model.bands):
        raise ValueError(f"expected reflectance of shape (N, {len(model.bands)}) with bands {list(model.bands)} "
                         f"for the {model.level} model, got shape {x.shape}")
    return model.run(x, chunk_size, with_ood=with_ood)


def level_for(level: str | None, bands) -> str:
    """The model level: ``level`` when given, else L1C if the (canonical) band labels include B10, else L2A."""
    return str(level).upper() if level else ("L1C" if "B10" in {canonical_band(b) for b in bands} else "L2A")


def _number(ctx: dict, key: str) -> float | None:
    v = ctx[key]
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"context {key} must be a number, got {v!r} ({type(v).__name__})")
    if not np.isfinite(v):
        raise ValueError(f"context {key} must be finite, got {v!r}")
    return float(v)


#: CF attributes of the output bands (netCDF variables; one place for the UDF, the package and the demo).
BAND_ATTRS = {
    "cot": {"long_name": "cloud optical thickness at 550 nm (ensemble mean; distilled model: its estimate of it)", "units": "1",
            "valid_min": 0.0, "valid_max": MAX_COT},
    "cot_std": {"long_name": "cloud optical thickness uncertainty (ensemble spread; distilled model: its estimate of it)",
                "units": "1", "valid_min": 0.0},
    "cloud_class": {"long_name": "cotmask cloud class", "units": "1", "flag_values": [0, 1, 2],
                    "flag_meanings": "clear thin_cloud opaque_cloud"},
    "ood": {"long_name": "distance of the input spectrum to the training data (1: as far as the most unusual 1 % "
                         "of the training samples; above 1 the model extrapolates)", "units": "1", "valid_min": 0.0},
}


def output_attrs(model: "Model", thin: float, opaque: float, ctx: dict) -> dict:
    """Attributes of a cotmask result: model, version, level, thresholds and the DN conversion used."""
    return {"cotmask_model": model.kind, "cotmask_level": model.level,
            "cotmask_model_version": str(model.metadata.get("version", "")),
            "thin_threshold": thin, "opaque_threshold": opaque,
            "input_scale": ctx["scale"], "input_offset": ctx["offset"],
            "cloud_class_meanings": "0 clear (COT < thin_threshold), 1 thin, 2 opaque (COT >= opaque_threshold); "
                                    "NaN nodata"}


def parse_context(context: dict | None) -> dict:
    """Context with defaults filled in; unknown keys and bad values raise ``ValueError`` naming the key."""
    context = dict(context or {})
    unknown = sorted(set(context) - set(CONTEXT_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown cotmask context keys {unknown}; allowed: {sorted(CONTEXT_DEFAULTS)}")
    ctx = {**CONTEXT_DEFAULTS, **{k: v for k, v in context.items() if v is not None}}
    for key in ("scale", "offset", "nodata", "thin_threshold", "opaque_threshold"):
        ctx[key] = _number(ctx, key)
    if ctx["level"] is not None and str(ctx["level"]).upper() not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {ctx['level']!r}")
    if ctx["model"] not in MODEL_KINDS:
        raise ValueError(f"model must be one of {MODEL_KINDS}, got {ctx['model']!r}")
    if ctx["engine"] is not None and ctx["engine"] not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES} (or null: onnxruntime when installed), got {ctx['engine']!r}")
    if not any(lo <= ctx["scale"] <= hi for lo, hi in SCALE_RANGES):
        raise ValueError(f"scale={ctx['scale']!r} fits no Sentinel-2 convention: 0.0001 for DN (reflectance = "
                         "(DN + offset) * 0.0001) or 1 for data that is reflectance already")
    chunk = ctx["chunk_size"]
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise ValueError(f"context chunk_size must be a positive whole number of pixels, got {chunk!r}")
    for key in ("thin_threshold", "opaque_threshold"):
        if ctx[key] is not None and not 0 < ctx[key] <= MAX_COT:
            raise ValueError(f"context {key}={ctx[key]} is outside (0, {MAX_COT:g}]: {key} ({ctx[key]}) must be > 0 "
                             f"and at most {MAX_COT:g}, the COT range of the models")
    return ctx  # threshold order is checked once the model's defaults are known (cloud_mask_cube)


def offset_warning(dark_min: dict, opaque_fraction: float) -> str | None:
    """The fix to suggest when no pixel of a non-overcast cube is below reflectance 0.1 in any of the dark-surface
    bands (``dark_min``: band -> smallest reflectance): raw ESA DN of baseline >= 04.00 with the +1000 still in.
    It cannot tell a cube of bright surfaces only (sand, salt, bright urban) or an overcast one."""
    if opaque_fraction > 0.9 or len(dark_min) < len(OFFSET_TELL_BANDS) or not all(np.isfinite(list(dark_min.values()))):
        return None
    if min(dark_min.values()) < 0.1:
        return None
    lows = ", ".join(f"{b} {v:.3f}" for b, v in dark_min.items())
    return (f"no pixel is darker than reflectance 0.1 in {'/'.join(dark_min)} (minima {lows}), as if the +1000 DN of "
            "ESA processing baseline >= 04.00 were still in: for raw (non-harmonised) products pass offset=-1000 "
            "(cotmask.baseline_offset). Harmonised collections (e.g. CDSE's) need offset 0.")


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
    level = level_for(ctx["level"], labels)
    model = get_model(level, ctx["model"], ctx["engine"])
    missing = [b for b in model.bands if b not in labels]
    if missing and not any(_BAND_RE.match(str(b)) for b in labels.values()):
        raise ValueError(f"band labels {list(labels.values())[:13]} are not Sentinel-2 band names (e.g. rioxarray's "
                         "1..N): name them, e.g. cotmask.cloud_mask(cube, context, bands=[...]) or assign_coords")
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
    out = np.empty((*data.shape[:-1], len(OUTPUT_BANDS)), dtype=np.float32)
    scale, offset, nodata = ctx["scale"], ctx["offset"], ctx["nodata"]
    chunk = int(ctx["chunk_size"] or model.chunk_size)
    rows = max(1, chunk // data.shape[-2])
    slices = [(*idx, slice(r0, r0 + rows)) for idx in np.ndindex(*data.shape[:-3]) for r0 in range(0, data.shape[-3], rows)]
    tell = [model.bands.index(b) for b in OFFSET_TELL_BANDS if b in model.bands]

    def reflectance(sl: tuple) -> np.ndarray:
        raw = np.asarray(data[sl][..., band_idx]).reshape(-1, len(band_idx))  # chunk copy only, dtype kept
        return dn_to_reflectance(raw, scale, offset, nodata)  # NaN rows are nodata in model.run

    def one_chunk(sl: tuple) -> tuple:  # writes its part of ``out``; returns what the checks below need
        refl = reflectance(sl)
        dark = np.full(len(tell), np.inf)
        if tell:
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN chunk
                dark = np.nanmin(refl[:, tell], axis=0)
        # a slice of less than two chunks runs as one call (so at most twice a chunk's intermediates per worker): a
        # 10980-pixel tile row as one call ran ~25-35 % faster on a tile than as 8192 + 2788 or as 2 x 5490
        cot, std, ood = model.run(refl, len(refl) if len(refl) < 2 * chunk else chunk, check=False, with_ood=True)
        cls = classify(cot, thin, opaque)
        out[sl] = np.stack([cot, std, cls, ood], axis=-1).reshape(out[sl].shape)
        return bulk_counts(refl), dark, int(np.isfinite(cls).sum()), int((cls == 2).sum())

    # one pass, chunks on the model's worker threads; the bulk verdict covers the whole cube, whatever the chunking
    parts = model.map(one_chunk, slices)
    counts = sum((p[0] for p in parts), np.zeros(3, dtype=np.int64))
    dark = np.fmin.reduce([p[1] for p in parts]) if parts else np.full(len(tell), np.inf)
    n_valid, n_opaque = sum(p[2] for p in parts), sum(p[3] for p in parts)
    check_bulk(counts, "reflectance (after scale/offset)")  # before any result leaves: no silently wrong mask
    opaque_share = n_opaque / n_valid if n_valid else 1.0  # counted per chunk: no full-size temporary
    hint = offset_warning(dict(zip((model.bands[i] for i in tell), dark.tolist())), opaque_share) if offset == 0 \
        and scale < 0.01 else None
    if hint:
        warnings.warn(hint, UserWarning, stacklevel=2)
    out = out.reshape(*lead, len(OUTPUT_BANDS))
    dims = [d for d in cube.dims if d != bdim] + [bdim]
    coords = {k: v for k, v in cube.coords.items() if bdim not in v.dims}
    coords[bdim] = list(OUTPUT_BANDS)
    result = xr.DataArray(out, dims=dims, coords=coords, attrs=output_attrs(model, thin, opaque, ctx))
    return result.transpose(*cube.dims)
