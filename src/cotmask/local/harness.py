"""Local harness: run the cotmask UDF and process graphs on this machine, without a backend.

``run_udf_locally`` goes through ``openeo.udf.execute_local_udf``, as a backend's UDF runtime would.
``run_graph_locally`` executes a process graph with openEO's local processing
(``openeo.local``, i.e. openeo-processes-dask + openeo-pg-parser-networkx).

The local engine has gaps that real backends (CDSE, Terrascope) do not: its ``apply_dimension``
hands ``run_udf`` a bare array (dimension names and band labels lost; openeo-processes-dask
issue 330) and replaces changed band labels by integers. ``patch_local_processing`` fixes that here,
in one place, by wrapping the engine's registry entries -- the graphs themselves stay standard:

* ``apply_dimension`` remembers the labelled cube it applies over (a context variable) and, after
  the child process ran, restores the band labels the UDF produced; it also stops the engine from
  passing its own (empty) ``context`` over the ``context`` argument of the child ``run_udf``;
* ``run_udf`` rebuilds the labelled ``DataArray`` (dims ``(t, bands, y, x)``, as the geotrellis
  backends pass it), runs the UDF code, and hands the result back in the engine's axis order;
* ``rename_labels`` to the labels a dimension already has is a no-op (the engine raises
  LabelExists; geotrellis backends just set the labels); a missing ``source`` is the spec's default ``[]``
  (the engine fails on ``len(None)`` when the client leaves it out);
* ``array_create(data, repeat)`` repeats the elements of ``data`` (the engine's ``np.tile`` turns
  ``[[1, 1, 1]]`` repeated 3 times into a 1 x 9 array instead of 3 x 3: wrong kernels);
* ``aggregate_temporal_period`` calls the reducer once, on all periods padded with NaN: the
  engine calls it per period, and the graph parser caches the intermediate nodes of a callback
  across calls, so every multi-node reducer (e.g. an ``if`` choosing median or mean) silently
  returned the first period's result for all periods. Periods are labelled by their first day, as
  the geotrellis backends do (the engine: month end);
* ``if`` with a scalar condition returns the chosen argument itself (the engine's ``np.where`` turns a
  chosen cube into a bare numpy array, which the next process cannot use);
* ``apply_neighborhood`` is missing from the engine: the harness runs its callback (a UDF) window by window
  as geopyspark does: windows of ``size`` x/y pixels, each handed over with ``overlap`` pixels of its
  neighbours, the overlap cut off again; one date per call with ``t: P1D`` (``apply_tiles``), the whole
  series without a t size (``apply_tiles_spatiotemporal``), anything else refused as geopyspark does. The
  graph parser caches a callback node's first result for the whole run, so the harness drops that cache
  entry before each window (else every window would get the first window's result). At the cube's
  border the harness hands a smaller window where geotrellis pads with nodata: the same for a UDF that
  treats NaN as nodata, as cotmask's do;
* ``load_collection`` honours ``bands`` and ``temporal_extent`` (the engine ignores both for local
  files). ``spatial_extent`` is still ignored: local sample cubes are small, clip them beforehand.

UDPs run as a backend runs them: ``run_graph_locally(graph, udps=...)`` registers each UDP (the
committed graphs/*.json) as a process, and a graph calls it by id with its parameters as arguments.
Like the geotrellis backends, the harness resolves the UDP's parameters in top-level arguments and in
``run_udf``'s context; inside other callbacks the engine does not see them and fails loudly (the
geotrellis backends silently use the callback's input instead: ``cotmask.udp.backend`` checks every
graph for that). Each patch above has a test (tests/test_local_engine.py) that shows the upstream bug
still exists, and docs/upstream_bugs.md has a report with a minimal reproduction per bug.
"""

import contextvars
import logging
from pathlib import Path

import numpy as np
import xarray as xr

from ..udf.periods import period_start

# cotmask uses none of the engine's machine-learning processes: its import-time advice to install them
# ("pip install openeo-processes-dask[implementations, ml]") does not apply and is not shown
logging.getLogger("openeo_processes_dask.process_implementations").setLevel(logging.ERROR)

_APPLY_CTX: contextvars.ContextVar = contextvars.ContextVar("cotmask_apply_dimension", default=None)
_UDP_ARGS: contextvars.ContextVar = contextvars.ContextVar("cotmask_udp_arguments", default={})
BACKEND_ORDER = ("t", "bands", "y", "x")


#: Spatial dimension names of geographic xarray cubes, and the openEO names a backend gives them (always x and y,
#: whatever the CRS).
SPATIAL_ALIASES = {"lat": "y", "latitude": "y", "lon": "x", "long": "x", "longitude": "x"}


def backend_dims(cube: xr.DataArray) -> tuple[xr.DataArray, dict]:
    """``cube`` with its dims named as a backend names them (lat/lon and the like renamed to y/x,
    ``SPATIAL_ALIASES``), and the renaming back; other dims outside ``BACKEND_ORDER`` are refused in one line."""
    found = {str(d): SPATIAL_ALIASES[str(d).lower()] for d in cube.dims if str(d).lower() in SPATIAL_ALIASES}
    if len(set(found.values())) < len(found) or set(found.values()) & {str(d) for d in cube.dims}:
        raise ValueError(f"cube dims {list(cube.dims)}: more than one y or x; keep one of each, named y and x")
    other = [str(d) for d in cube.dims if str(d) not in found and str(d) not in BACKEND_ORDER]
    if other:
        raise ValueError(
            f"cube dims {list(cube.dims)}: {other} unknown to openEO UDFs; rename the dims to t, bands, y, x"
        )
    return cube.rename(found), {v: k for k, v in found.items()}


def run_udf_locally(
    cube: xr.DataArray, context: dict | None = None, udf: str | Path = "cotmask_udf.py"
) -> xr.DataArray:
    """Run a UDF on ``cube`` with ``openeo.udf.execute_local_udf``: a generated UDF's file name
    (default ``cotmask_udf.py``, read with ``udf_text``) or the path of any UDF file.

    Dims: t, bands, y, x as a backend passes them. Spatial dims named lat/lon (latitude/longitude) are supported:
    the UDF sees them as y/x (as a backend names them in any CRS) and the result has lat/lon again; any other
    unknown dim is refused (``backend_dims``)."""
    import openeo
    from openeo.udf import execute_local_udf

    from ..udf.build import udf_text

    code = Path(udf).read_text() if Path(udf).is_file() else udf_text(str(udf))
    cube, back = backend_dims(cube)
    result = execute_local_udf(openeo.UDF(code, runtime="Python", context=context or {}), cube)
    out = result.get_datacube_list()[0].get_array()
    return out.rename({k: v for k, v in back.items() if k in out.dims or k in out.coords})


_ORIGINAL: dict = {}  # the engine's own implementations, wrapped below


def _apply_dimension(
    data: xr.DataArray,
    process,
    dimension: str,
    target_dimension: str | None = None,
    context: dict | None = None,
    **kwargs,
) -> xr.DataArray:
    state = {"source": data.transpose(..., dimension), "dimension": dimension, "labels": None}

    def child(*args, **kw):  # the engine passes apply_dimension's own context as a keyword, which
        kw.pop("context", None)  # would override run_udf's context argument; the spec's `context`
        return process(*args, **kw)  # parameter stays reachable through named_parameters

    token = _APPLY_CTX.set(state)
    try:
        out = _ORIGINAL["apply_dimension"](
            data=data, process=child, dimension=dimension, target_dimension=target_dimension, context=context, **kwargs
        )
    finally:
        _APPLY_CTX.reset(token)
    dim = target_dimension or dimension
    if state["labels"] is not None and dim in out.dims and len(out[dim]) == len(state["labels"]):
        out = out.assign_coords({dim: list(state["labels"])})
    return out


def _run_udf(data, udf: str, runtime: str, context: dict | None = None, **kwargs) -> xr.DataArray:
    from openeo.udf import UdfData, XarrayDataCube
    from openeo.udf.run_code import run_udf_code

    context = _plain(_substitute(context or {}, _UDP_ARGS.get()))  # as geopyspark resolves run_udf's context
    state = _APPLY_CTX.get()
    if state is not None and not isinstance(data, xr.DataArray):
        src = state["source"]
        data = xr.DataArray(data, dims=src.dims, coords=src.coords, attrs=src.attrs)
    if not isinstance(data, xr.DataArray):
        data = xr.DataArray(data)
    order = [d for d in BACKEND_ORDER if d in data.dims] + [d for d in data.dims if d not in BACKEND_ORDER]
    result = run_udf_code(
        code=udf,
        data=UdfData(datacube_list=[XarrayDataCube(data.transpose(*order).compute())], user_context=context or {}),
    )
    cubes = result.get_datacube_list()
    if len(cubes) != 1:
        raise ValueError(f"the UDF should return one datacube, got {len(cubes)}")
    out = cubes[0].get_array()
    if state is None:
        return out
    dim = state["dimension"]
    state["labels"] = out[dim].values if dim in out.coords else None  # numpy: keeps datetime64 labels
    return out.transpose(*state["source"].dims).data


def _rename_labels(data: xr.DataArray, dimension: str, target: list, source: list | None = None, **kwargs):
    if not source and dimension in data.coords and list(data.coords[dimension].values) == list(target):
        return data
    return _ORIGINAL["rename_labels"](data=data, dimension=dimension, target=target, source=source or [], **kwargs)


def _if(value, accept=None, reject=None, **kwargs):
    if np.ndim(value) == 0:  # a top-level if on a parameter: the chosen argument as it is (a cube stays a cube)
        return accept if bool(value) else reject
    return _ORIGINAL["if"](value=value, accept=accept, reject=np.nan if reject is None else reject, **kwargs)


def _array_create(data=None, repeat: int = 1, **kwargs):
    items = np.asarray([] if data is None else data)
    return np.concatenate([items] * int(repeat), axis=0) if items.size else items


def _aggregate_temporal_period(data: xr.DataArray, reducer, period: str, dimension: str | None = None, **kwargs):
    tdim = dimension or "t"
    starts = period_start(data[tdim].values, period)
    labels, group = np.unique(starts, return_inverse=True)
    arr = np.moveaxis(np.asarray(data.values, dtype=float), data.dims.index(tdim), 0)
    width = np.bincount(group).max()
    padded = np.full((len(labels), width, *arr.shape[1:]), np.nan)
    for g in range(len(labels)):
        members = arr[group == g]
        padded[g, : len(members)] = members
    reduced = np.asarray(reducer(padded, axis=1, positional_parameters={"data": 0}))
    dims = (tdim, *[d for d in data.dims if d != tdim])
    coords = {k: v for k, v in data.coords.items() if tdim not in v.dims}
    out = xr.DataArray(reduced, dims=dims, coords={**coords, tdim: labels}, attrs=data.attrs)
    return out.transpose(*data.dims)


def _fresh_calls(process):
    """``process`` (a callback built by the graph parser) computed anew on every call: the parser caches each
    node's first result for the whole run (only children of aggregate_temporal_period/aggregate_spatial are
    exempt), so a callback called once per window would return the first window every time."""
    func = getattr(process, "func", None)
    cells = dict(zip(func.__code__.co_freevars, func.__closure__ or ())) if func is not None else {}
    if "results_cache" not in cells or "node" not in cells:
        return process
    cache, node = cells["results_cache"].cell_contents, cells["node"].cell_contents

    def call(*args, **kwargs):
        cache.pop(node, None)
        return process(*args, **kwargs)

    return call


def _apply_neighborhood(
    data: xr.DataArray, process, size: list, overlap: list | None = None, context: dict | None = None, **kwargs
) -> xr.DataArray:
    sizes = {e["dimension"]: int(e["value"]) for e in size if e["dimension"] in ("x", "y")}
    pads = {e["dimension"]: int(e["value"]) for e in overlap or [] if e["dimension"] in ("x", "y")}
    if set(sizes) != {"x", "y"} or any(
        e.get("unit", "px") != "px" for e in [*size, *(overlap or [])] if e["dimension"] in ("x", "y")
    ):
        raise ValueError(f"apply_neighborhood: x and y sizes in px are required (as on geopyspark), got {size}")
    t_size = next((e.get("value") for e in size if e["dimension"] == "t"), None)
    if t_size not in (None, "P1D") or any(e["dimension"] == "t" for e in overlap or []):
        raise ValueError(
            f"apply_neighborhood: t must be absent (whole series) or 'P1D' without overlap, as on "
            f"geopyspark; got {size}, {overlap}"
        )
    if t_size == "P1D" and "t" in data.dims:  # one call per date
        return xr.concat(
            [
                _apply_neighborhood(
                    data.isel(t=[i]), process, [e for e in size if e["dimension"] != "t"], overlap, context
                )
                for i in range(data.sizes["t"])
            ],
            dim="t",
        )
    if any(pads.get(d, 0) > sizes[d] for d in sizes):
        raise ValueError(
            f"apply_neighborhood: overlap {overlap} exceeds the window {size} (geotrellis buffers "
            "a window from its direct neighbours only)"
        )
    process = _fresh_calls(process)
    pieces: dict = {}
    for y0 in range(0, data.sizes["y"], sizes["y"]):
        for x0 in range(0, data.sizes["x"], sizes["x"]):
            oy, ox = min(pads.get("y", 0), y0), min(pads.get("x", 0), x0)
            window = data.isel(
                y=slice(y0 - oy, y0 + sizes["y"] + pads.get("y", 0)),
                x=slice(x0 - ox, x0 + sizes["x"] + pads.get("x", 0)),
            )
            out = process(window, positional_parameters={"data": 0}, named_parameters={"context": context})
            pieces[(y0, x0)] = out.isel(y=slice(oy, oy + sizes["y"]), x=slice(ox, ox + sizes["x"]))
    rows = [
        xr.concat([pieces[(y0, x0)] for x0 in range(0, data.sizes["x"], sizes["x"])], dim="x")
        for y0 in range(0, data.sizes["y"], sizes["y"])
    ]
    return xr.concat(rows, dim="y").transpose(*[d for d in data.dims if d in rows[0].dims])


def _utc_datetime64(value) -> np.datetime64:
    """A (possibly timezone-aware) date/time as a naive UTC numpy datetime64."""
    import pandas as pd

    ts = pd.Timestamp(str(value))
    return np.datetime64((ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts).to_datetime64(), "ns")


def _load_collection(*args, **kwargs) -> xr.DataArray:
    data = _ORIGINAL["load_collection"](*args, **kwargs)
    bands, temporal = kwargs.get("bands"), kwargs.get("temporal_extent")
    if bands:
        missing = [b for b in bands if b not in data.coords["bands"].values]
        if missing:
            raise ValueError(f"collection {kwargs.get('id')} has no bands {missing}")
        data = data.sel(bands=list(bands))
    if temporal is not None and "t" in data.dims:
        start, end = [None if v is None else _utc_datetime64(getattr(v, "root", v)) for v in temporal]
        keep = np.ones(data.sizes["t"], bool)
        if start is not None:
            keep &= data.t.values >= start
        if end is not None:
            keep &= data.t.values < end
        data = data.isel(t=np.flatnonzero(keep))
    return data


def _mask_polygon(data: xr.DataArray, **kwargs) -> xr.DataArray:
    """The engine's mask_polygon reads ``data.chunks`` and fails on a numpy-backed cube (e.g. a UDF's output): chunk
    it first (an engine bug, no backend difference)."""
    return _ORIGINAL["mask_polygon"](data=data if data.chunks else data.chunk(), **kwargs)


_WRAPPERS = {
    "mask_polygon": _mask_polygon,
    "apply_dimension": _apply_dimension,
    "run_udf": _run_udf,
    "rename_labels": _rename_labels,
    "load_collection": _load_collection,
    "array_create": _array_create,
    "aggregate_temporal_period": _aggregate_temporal_period,
    "if": _if,
}
#: Processes the engine lacks: the harness's implementation, registered with a minimal spec.
_ADDED = {"apply_neighborhood": (_apply_neighborhood, ("data", "process", "size", "overlap", "context"))}


def patch_local_processing() -> None:
    """Install the harness's implementations into openeo.local's registry (idempotent).

    They are module-level functions so that the registry stays picklable (joblib workers).
    """
    from openeo.local.processing import PROCESS_REGISTRY
    from openeo_pg_parser_networkx.process_registry import Process

    if _ORIGINAL:
        return
    for name, impl in _WRAPPERS.items():
        _ORIGINAL[name] = PROCESS_REGISTRY[name].implementation
        PROCESS_REGISTRY[name] = Process(spec=PROCESS_REGISTRY[name].spec, implementation=impl)
    for name, (impl, parameter_names) in _ADDED.items():
        spec = {"id": name, "parameters": [{"name": n} for n in parameter_names]}
        PROCESS_REGISTRY[name] = Process(spec=spec, implementation=impl)


def _substitute(value, arguments: dict):
    """``value`` with parameter references (the engine's ``ParameterReference`` or raw ``from_parameter``
    dicts) replaced by ``arguments``, not descending into callbacks (``process_graph``); unknown names stay."""
    import copy

    from openeo_pg_parser_networkx.pg_schema import ParameterReference

    if isinstance(value, ParameterReference) and value.from_parameter in arguments:
        return copy.deepcopy(arguments[value.from_parameter])
    if isinstance(value, dict):
        if "process_graph" in value:
            return value
        if set(value) == {"from_parameter"} and value["from_parameter"] in arguments:
            return copy.deepcopy(arguments[value["from_parameter"]])
        return {k: _substitute(v, arguments) for k, v in value.items()}
    return [_substitute(v, arguments) for v in value] if isinstance(value, list) else value


def bind_top_level(process_graph: dict, arguments: dict) -> dict:
    """The UDP's graph with ``from_parameter`` replaced by ``arguments`` in top-level node arguments only,
    as a backend's driver evaluates them (openeo-python-driver evaluator.py lines 231-236). References
    inside callbacks stay: there the engine, like geotrellis, does not see UDP parameters (run_udf's
    context is resolved separately, as geopyspark does). Also avoids an engine crash on a parameter as
    load_collection's id (openeo-pg-parser-networkx graph.py 481-484: ``raw_source.split``)."""
    return {
        nid: {**node, "arguments": _substitute(node.get("arguments", {}), arguments)}
        for nid, node in process_graph.items()
    }


def _plain(value):
    """JSON values from the engine's parsed arguments (its schema parser turns e.g. ``[]`` into a
    pydantic ``TemporalIntervals``); a UDF context gets what the user sent."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def _udp_process(udp: dict):
    """An engine implementation that runs ``udp`` with its arguments (defaults for the rest)."""
    from openeo.local.processing import PROCESS_REGISTRY
    from openeo_pg_parser_networkx import OpenEOProcessGraph

    declared = {q["name"]: q for q in udp.get("parameters", [])}

    def run(named_parameters=None, **arguments):
        unknown = sorted(set(arguments) - set(declared))
        if unknown:
            raise ValueError(f"{udp['id']} has no parameters {unknown}; it takes {sorted(declared)}")
        missing = [n for n, q in declared.items() if n not in arguments and "default" not in q]
        if missing:
            raise ValueError(f"{udp['id']} needs the parameters {missing}")
        values = {n: arguments.get(n, q.get("default")) for n, q in declared.items()}
        token = _UDP_ARGS.set(values)
        try:
            graph = OpenEOProcessGraph({"process_graph": bind_top_level(udp["process_graph"], values)})
            return graph.to_callable(PROCESS_REGISTRY, parameters=values)(named_parameters=values)
        finally:
            _UDP_ARGS.reset(token)

    return run


def run_graph_locally(graph: dict, collections_dir: str | Path | None = None, udps: list[dict] | None = None):
    """Execute a (flat) process graph with openEO local processing and return the result cube.

    ``udps``: user-defined processes (dicts with id, parameters, process_graph) the graph may call
    by id, whatever its namespace (as on a backend where they are published)."""
    import warnings

    import joblib
    from openeo.local import LocalConnection
    from openeo.local.processing import PROCESS_REGISTRY
    from openeo_pg_parser_networkx.process_registry import Process
    from rasterio.errors import NotGeoreferencedWarning

    patch_local_processing()
    for udp in udps or []:
        PROCESS_REGISTRY[udp["id"]] = Process(
            spec={k: v for k, v in udp.items() if k != "process_graph"}, implementation=_udp_process(udp)
        )
    conn = LocalConnection(str(collections_dir or Path.cwd()))
    with warnings.catch_warnings():
        # expected: a period or polygon without any clear observation reduces to nodata
        warnings.filterwarnings("ignore", message="(All-NaN slice|Mean of empty slice)", category=RuntimeWarning)
        warnings.filterwarnings("ignore", category=FutureWarning, module="openeo_processes_dask")
        warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)  # the engine's resample_spatial
        # joblib on threads: xvec's zonal statistics would otherwise start worker processes that import the
        # engine afresh (repeating its import-time log output) and must pickle the lazy graph
        with joblib.parallel_backend("threading"):
            out = conn.execute(graph)
            return out.compute() if isinstance(out, xr.DataArray) else out
