"""A cotmask ONNX model on onnxruntime or on the numpy engine: chunked, threaded inference and classification.

numpy (+ onnxruntime when importable); inlined into the cotmask UDFs by ``cotmask.udf.build``.
"""

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Sequence

import numpy as np

from .checks import bulk_counts, check_bulk, clean_reflectance  # udf_build: drop
from .context import ENGINES, threshold_pair  # udf_build: drop
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

    def __init__(
        self, onnx_bytes: bytes, threads: int = 0, engine: str | None = None, name: str = "the ONNX model"
    ) -> None:
        """Load ``onnx_bytes`` with ``engine`` (onnxruntime or numpy; None: onnxruntime when importable).

        ``threads``: chunks processed at once, each on one thread (0: the CPUs this process may use; for the numpy
        engine without ``threadpoolctl`` 1, and numpy's BLAS threads share out the matrix products). ``name``: what
        the errors call the model (its file, a UDF's model key). Bytes that do not parse, or lack the cotmask
        metadata, raise a one-line ``ValueError`` naming it (no checksum here: ``shipped.load_model`` and the UDFs
        verify theirs)."""
        engine = engine or ("onnxruntime" if ort is not None else "numpy")
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        # Whole chunks on threads (onnxruntime and numpy release the GIL) rather than one chunk's matrix products
        # split over threads: the checks, the ood score and the output writes run in parallel too, and the small
        # (chunk x 64) products need no synchronisation. numpy's BLAS threads busy-wait between the small products,
        # so the numpy engine gets worker threads only where threadpoolctl can make BLAS single-threaded meanwhile.
        self.workers = int(threads) or (cpu_count() if engine == "onnxruntime" or threadpool_limits else 1)
        if engine == "onnxruntime" and ort is None:
            raise ValueError("engine 'onnxruntime' requested but onnxruntime is not installed; use engine 'numpy'")
        try:
            meta = self._load(onnx_bytes, engine)
        except Exception as e:  # protobuf, numpy or onnxruntime errors of damaged bytes: one line naming the model
            detail = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise ValueError(f"{name} is not a readable ONNX model ({detail}); damaged or truncated?") from e
        self.engine = engine
        try:
            self.metadata = {k: json.loads(v) for k, v in meta.items()}
            self.bands: tuple[str, ...] = tuple(self.metadata["bands"])
            self.level: str = self.metadata["level"]
            self.kind: str = self.metadata["kind"]
            self.thresholds: dict[str, float] = self.metadata["thresholds"]
        except (KeyError, ValueError, TypeError) as e:
            raise ValueError(f"{name} lacks cotmask metadata ({e}); not a cotmask model, or damaged?") from e
        # Pixels per inference call (one per worker thread). An ensemble holds (members x chunk x 64) float32 per
        # layer, so its pixels in flight are shared among the workers (the full-tile memory target); a single
        # network's layers (chunk x 64) stay in the CPU caches at this size.
        members = int(self.metadata.get("members", 1))
        self.chunk_size = max(4096, 24576 // self.workers) if members > 1 else 8192

    def _load(self, onnx_bytes: bytes, engine: str) -> dict:
        """Open the graph on ``engine`` (``self.session``, ``self.input_name``); returns its metadata strings."""
        if engine == "onnxruntime":
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            # no busy-waiting threads: backends run several workers per machine, and spinning threads
            # starve whatever shares the cores
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            # no pre-planned block for all intermediates of a chunk: it would hold every layer of an ensemble's
            # (members x chunk x 64) intermediates at once, at no gain in speed
            opts.enable_mem_pattern = False
            self.session = ort.InferenceSession(onnx_bytes, sess_options=opts, providers=["CPUExecutionProvider"])
            self.input_name = self.session.get_inputs()[0].name
            return dict(self.session.get_modelmeta().custom_metadata_map)
        self.session = NumpyGraph(onnx_bytes)
        self.input_name = self.session.inputs[0]
        return dict(self.session.metadata)

    def _infer(self, block: np.ndarray) -> tuple[np.ndarray, ...]:
        """The graph outputs (cot, cot_std[, ood]) for clean rows ``block``. ``ood`` (``export.to_onnx_bytes``): the
        distance of the standardised input to the nearest centroid of the training inputs (k-means codebook in the
        metadata) divided by the 99th percentile of that distance over the training samples; <= 1: as close to the
        training data as 99 % of it, 2: twice that distance. A graph without it (no codebook) leaves ``ood`` NaN."""
        if self.engine == "onnxruntime":
            return tuple(self.session.run(None, {self.input_name: block}))
        return tuple(self.session.run({self.input_name: block}))

    def run(
        self,
        x: np.ndarray,
        chunk_size: int | None = None,
        what: str = "reflectance",
        check: bool = True,
        with_ood: bool = False,
        serial: bool = False,
    ) -> tuple[np.ndarray, ...]:
        """COT mean and spread (and with ``with_ood`` the ``ood`` score) for reflectance rows ``x`` (N, n_bands);
        rows with NaN give NaN.

        ``check``: the bulk plausibility rules of ``check_bulk`` on all of ``x`` at once (counted
        chunk by chunk: no full-size copy), so the verdict cannot depend on ``chunk_size`` (None: the model's).
        ``serial``: the chunks one after the other on this thread (a caller that already runs on a worker thread:
        no pool inside a pool, and no more chunks in flight than the chunk size was chosen for)."""
        n = len(x)
        chunk_size = chunk_size or self.chunk_size
        starts = range(0, n, chunk_size)
        if check:
            counts = self.map(lambda s: bulk_counts(x[s : s + chunk_size]), starts)
            check_bulk(sum(counts, np.zeros(3, dtype=np.int64)), what)  # no rows: no chunk, all counts 0
        outs = [np.full(n, np.nan, dtype=np.float32) for _ in range(3 if with_ood else 2)]

        def chunk(s: int) -> None:
            block = clean_reflectance(x[s : s + chunk_size])
            ok = np.isfinite(block).all(axis=1)
            rows = block if ok.all() else block[ok]
            if len(rows):
                for out, values in zip(outs, self._infer(rows)):  # without a graph ood output, ood stays NaN
                    if len(rows) == len(block):  # no boolean scatter for the usual all-valid chunk
                        out[s : s + len(block)] = values
                    else:
                        out[s : s + len(block)][ok] = values

        if serial:
            for s in starts:
                chunk(s)
        else:
            self.map(chunk, starts)
        return tuple(outs)

    def map(self, fn: Callable, items: Sequence) -> list:
        """``parallel_map`` on the model's worker threads; for the numpy engine with BLAS single-threaded meanwhile
        (where ``threadpoolctl`` is installed)."""
        if self.engine == "numpy" and self.workers > 1 and len(items) > 1 and threadpool_limits:
            with threadpool_limits(1, user_api="blas"):
                return parallel_map(fn, items, self.workers)
        return parallel_map(fn, items, self.workers)


def classify(
    cot: np.ndarray,
    thin: float,
    opaque: float,
    clear: np.ndarray | None = None,
    cloud: np.ndarray | None = None,
) -> np.ndarray:
    """float32 class per pixel: 0 clear (COT < thin), 1 thin, 2 opaque (COT >= opaque), NaN where COT is NaN.
    ``clear``: pixels that are clear whatever their COT (the snow test); ``cloud``: pixels that are at least thin
    whatever their COT (the cirrus floor); see ``rules``."""
    thin, opaque = threshold_pair(thin, opaque)
    cot = np.asarray(cot)
    cls = np.empty(cot.shape, np.float32)
    flat_cot, flat_cls = cot.reshape(-1), cls.reshape(-1)
    step = 1 << 20  # blocks: a full tile's boolean temporaries would be 115 MiB each
    with np.errstate(invalid="ignore"):
        for s in range(0, flat_cot.size, step):
            c, out = flat_cot[s : s + step], flat_cls[s : s + step]
            out[:] = c >= thin
            out += c >= opaque
            out[np.isnan(c)] = np.nan
    valid = ~np.isnan(cls)
    if clear is not None:
        cls[np.asarray(clear).reshape(cls.shape) & valid] = 0
    if cloud is not None:
        np.maximum(cls, 1, out=cls, where=np.asarray(cloud).reshape(cls.shape) & valid)
    return cls
