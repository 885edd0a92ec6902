"""The shipped ONNX model files and the package API on them: ``load_model``, ``predict``, ``cloud_mask``.

onnxruntime + numpy (+ xarray for cubes); never inlined into a UDF (the UDFs carry their models inside).
"""

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .bands import DEFAULT_MODEL, DN_SCALE, LEVELS, MODEL_KINDS
from .model import Model, classify
from .rules import CIRRUS_FLOOR, rule_masks

if TYPE_CHECKING:
    import xarray

#: The repository root of a source checkout (models/, udf/, graphs/ live there).
REPO = Path(__file__).resolve().parents[3]
#: File-name suffix of the float16 copies of the ensembles (``cotmask.training.fp16`` writes them).
FP16_SUFFIX = "_fp16"
#: The checksum file beside the models: ``<sha256 hex>  <file name>`` per ONNX file (``sha256sum -c`` reads it).
CHECKSUMS = "SHA256SUMS"
#: Records the checksums after the models were retrained, re-exported or converted on purpose.
RECORD_CHECKSUMS = "python -m cotmask.udf.build --checksums"


def model_dir() -> Path:
    """Folder of the shipped models: ``$COTMASK_MODEL_DIR``, the installed package data, or the repo's models/."""
    if os.environ.get("COTMASK_MODEL_DIR"):
        return Path(os.environ["COTMASK_MODEL_DIR"])
    packaged = Path(__file__).resolve().parents[1] / "_models"  # an installed wheel: cotmask/_models
    return packaged if packaged.is_dir() else REPO / "models"


def model_path(level: str, kind: str = DEFAULT_MODEL) -> Path:
    """Path of the ONNX file for ``level`` (L1C/L2A) and ``kind`` (ensemble/distilled)."""
    level = level.upper()
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    if kind not in MODEL_KINDS:
        raise ValueError(f"kind must be one of {MODEL_KINDS}, got {kind!r}")
    return model_dir() / f"cotmask_{level.lower()}_{kind}.onnx"


def compact_path(level: str, kind: str = "ensemble") -> Path:
    """Path of the compact (float16-weight) copy of a shipped model."""
    return model_dir() / model_path(level, kind).name.replace(".onnx", f"{FP16_SUFFIX}.onnx")


def sha256(blob: bytes) -> str:
    """The SHA-256 hex digest of ``blob``."""
    return hashlib.sha256(blob).hexdigest()


def read_checksums(folder: Path) -> dict[str, str] | None:
    """{file name: SHA-256 hex} from ``folder``'s ``SHA256SUMS``; None when it has none."""
    path = Path(folder) / CHECKSUMS
    if not path.is_file():
        return None
    pairs = (line.split(maxsplit=1) for line in path.read_text().splitlines())
    return {p[1].strip().lstrip("*"): p[0].lower() for p in pairs if len(p) == 2}  # a damaged line: no entry


def checksums_text(folder: Path) -> str:
    """``SHA256SUMS`` for the ONNX files in ``folder`` as they are now (sorted by name)."""
    return "".join(f"{sha256(p.read_bytes())}  {p.name}\n" for p in sorted(Path(folder).glob("*.onnx")))


def write_checksums(folder: Path | None = None, names: list[str] | None = None) -> Path:
    """Record the checksums of the ONNX files in ``folder`` (default: ``model_dir()``) in its ``SHA256SUMS``; with
    ``names``, only of those files (the ones a command just wrote), the other entries kept as recorded, so a file
    damaged since is not approved by a command that never touched it."""
    path = Path(folder or model_dir()) / CHECKSUMS
    if names is None:
        path.write_text(checksums_text(path.parent))
        return path
    sums = read_checksums(path.parent) or {}
    sums.update({n: sha256((path.parent / n).read_bytes()) for n in names})
    path.write_text("".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items())))
    return path


def _rebuild_command(name: str) -> str:
    """The documented command that rebuilds the shipped model file ``name``."""
    if FP16_SUFFIX in name:
        return "python -m cotmask.training.fp16"
    distil = " --distil-only" if "distilled" in name else ""
    return f"python training/train.py{distil} --real-clear ../shared/data"


def verified_bytes(path: Path) -> bytes:
    """The bytes of the model file ``path``, checked against the SHA-256 its folder's ``SHA256SUMS`` records.

    A damaged file (truncated, overwritten) or a missing record raises a one-line ``ValueError`` naming the file and
    the fix. A folder of one's own models (``$COTMASK_MODEL_DIR``) without ``SHA256SUMS`` is not checked."""
    path = Path(path)
    blob = path.read_bytes()
    sums = read_checksums(path.parent)
    if sums is None and os.environ.get("COTMASK_MODEL_DIR"):
        return blob
    fix = (
        f"reinstall cotmask (in a checkout: `git checkout models/`) or rebuild it with `{_rebuild_command(path.name)}`"
        f"; after retraining on purpose record it with `{RECORD_CHECKSUMS}`"
    )
    if sums is None or path.name not in sums:
        where = "is missing" if sums is None else f"has no entry for {path.name}"
        raise ValueError(f"cannot verify model file {path}: {path.parent / CHECKSUMS} {where}; {fix}")
    digest = sha256(blob)
    if digest != sums[path.name]:
        raise ValueError(
            f"model file {path} is damaged: SHA-256 {digest[:16]}... differs from {sums[path.name][:16]}... "
            f"recorded in {CHECKSUMS} ({len(blob)} bytes); {fix}"
        )
    return blob


def predict_rows(
    model: Model, x: np.ndarray, chunk_size: int | None = None, with_ood: bool = False
) -> tuple[np.ndarray, ...]:
    """Validate reflectance rows (N, n_bands) and run ``model`` (``Model.run``); NaN rows give NaN (documented
    nodata)."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"reflectance must be a float array, got dtype {x.dtype}; convert DN with (DN + offset) * {DN_SCALE} first"
        )
    if x.ndim != 2 or x.shape[1] != len(model.bands):
        raise ValueError(
            f"expected reflectance of shape (N, {len(model.bands)}) with bands {list(model.bands)} "
            f"for the {model.level} model, got shape {x.shape}"
        )
    return model.run(x, chunk_size, with_ood=with_ood)


@lru_cache(maxsize=8)
def load_model(level: str = "L1C", kind: str = DEFAULT_MODEL, threads: int = 0, engine: str | None = None) -> Model:
    """The loaded model (cached); its ``bands`` and ``thresholds`` come from the ONNX metadata.

    ``engine``: onnxruntime or numpy (None: onnxruntime when installed). The file is checked against its recorded
    SHA-256 first (``verified_bytes``): a damaged model raises ``ValueError`` naming it and the fix."""
    path = model_path(level, kind)
    if not path.exists():
        raise FileNotFoundError(f"model file {path} missing; rebuild with `python training/train.py`")
    return Model(verified_bytes(path), threads, engine, name=f"model file {path}")


def predict(
    reflectance: np.ndarray,
    level: str = "L1C",
    kind: str = DEFAULT_MODEL,
    thin: float | None = None,
    opaque: float | None = None,
    chunk_size: int | None = None,
    threads: int = 0,
    engine: str | None = None,
    snow_test: bool = True,
    cirrus_floor: float | None = CIRRUS_FLOOR,
) -> dict[str, np.ndarray]:
    """COT, its uncertainty (ensemble spread) and the class for reflectance rows (N, n_bands) in the model's band order.

    Bands: ``load_model(level).bands`` (L1C: B02-B12 incl. B8A and B10; L2A: the same without B10).
    Input must be float reflectance (DN: convert with ``to_reflectance`` first); rows with NaN give
    NaN outputs (documented nodata). Wrong shape, dtype or value range raise with a message naming it.
    Returns float32 arrays ``cot``, ``cot_std``, ``cloud_class`` (0 clear, 1 thin, 2 opaque, NaN nodata) and
    ``ood`` (distance to the training data, the graph's ``ood`` output: above 1 the model extrapolates).
    ``threads``: chunks run at once, one thread each (0: all CPUs this process may use).
    ``engine``: onnxruntime or numpy (None: onnxruntime when installed). ``snow_test``: snow (``core.snow``) is clear
    whatever its COT, as in the UDF; False: the network's class alone. ``cirrus_floor``: L1C pixels whose B10 is at
    least this are at least thin (``core.rules``); None: off.
    """
    model = load_model(level.upper(), kind, threads, engine)
    cot, std, ood = predict_rows(model, reflectance, chunk_size, with_ood=True)
    thin = model.thresholds["thin"] if thin is None else thin
    opaque = model.thresholds["opaque"] if opaque is None else opaque
    cls = classify(cot, thin, opaque, *rule_masks(np.asarray(reflectance), model.bands, cot, snow_test, cirrus_floor))
    return {"cot": cot, "cot_std": std, "cloud_class": cls, "ood": ood}


def cloud_mask(
    cube: "xarray.DataArray", context: dict | None = None, threads: int = 0, bands: "list[str] | dict | None" = None
) -> "xarray.DataArray":
    """COT, spread, class and OOD score (bands cot, cot_std, cloud_class, ood) for a labelled cube, like the UDF.

    Works eagerly on numpy-backed cubes and lazily on dask-backed ones (``xarray.apply_ufunc`` with
    ``dask="parallelized"``: each chunk is processed independently -- the input checks then decide per
    chunk --, so a ``dask.distributed`` cluster spreads the work). ``threads``: chunks run at once, one thread
    each; 0 means all CPUs for a numpy-backed cube and 1 per dask task for a dask-backed one (dask already runs
    its tasks in parallel). ``context`` takes the UDF's keys (level,
    scale, offset, thresholds, model, ...). ``bands``: Sentinel-2 names for the band labels, a list in the
    cube's band order or a mapping {label: name} -- e.g. for ``rioxarray.open_rasterio``, which labels bands
    1..N (its ``long_name`` attribute holds the file's band descriptions, when it has them).
    """
    import xarray as xr

    from .bands import OUTPUT_BANDS
    from .cube import band_dim, cube_outputs

    bdim = band_dim(cube)
    if bands is not None:
        old = list(cube.coords[bdim].values) if bdim in cube.coords else list(range(cube.sizes[bdim]))
        names = [bands.get(b, b) for b in old] if isinstance(bands, dict) else list(bands)
        if len(names) != len(old):
            raise ValueError(f"bands: {len(names)} names for {len(old)} bands {old}")
        cube = cube.assign_coords({bdim: names})
    threads = threads or (1 if cube.chunks is not None else 0)
    get = lambda level, kind, engine: load_model(level, kind, threads, engine)  # noqa: E731
    if cube.chunks is None:
        return cube_outputs(cube, context, get)
    labels = list(cube.coords[bdim].values)
    other = [d for d in cube.dims if d != bdim]

    def block(arr: np.ndarray) -> np.ndarray:
        da = xr.DataArray(arr, dims=[*other, bdim], coords={bdim: labels})
        return cube_outputs(da, context, get).values

    out = xr.apply_ufunc(
        block,
        cube.chunk({bdim: -1}),
        input_core_dims=[[bdim]],
        output_core_dims=[["_out"]],
        dask="parallelized",
        output_dtypes=[np.float32],
        dask_gufunc_kwargs={"output_sizes": {"_out": len(OUTPUT_BANDS)}},
    )
    return out.rename({"_out": bdim}).assign_coords({bdim: list(OUTPUT_BANDS)}).transpose(*cube.dims)
