"""The cotmask user-defined processes (UDPs): one module per process, JSON in graphs/.

python -m cotmask.udp        # regenerate graphs/*.json (a test fails when they drift)
"""

import json
from pathlib import Path
from types import ModuleType

from openeo.rest.udp import build_process_dict

from . import (
    cotmask_best_pixel_composite,
    cotmask_cloud_mask,
    cotmask_forest_composite,
    cotmask_mask_timeseries,
    cotmask_scene_screening,
)
from .common import params
from .validate import validate_arguments

PROCESSES: tuple[ModuleType, ...] = (
    cotmask_cloud_mask,
    cotmask_mask_timeseries,
    cotmask_forest_composite,
    cotmask_best_pixel_composite,
    cotmask_scene_screening,
)
GRAPHS_DIR = Path(__file__).resolve().parents[3] / "graphs"
#: Where graphs/ is published (the APEx catalogue and other users call a UDP by its JSON's URL as ``namespace``): one
#: setting, the first line of graphs/BASE_URL, written by ``cotmask build --base-url URL``. Until the graphs have a
#: public home it holds ``UNPUBLISHED``, a reserved domain that never resolves (RFC 2606): no file names a fake owner.
BASE_URL_FILE = GRAPHS_DIR / "BASE_URL"
UNPUBLISHED = "https://unpublished.invalid/cotmask/graphs/"


def base_url() -> str:
    """The URL graphs/ is published at (ends with ``/``), from graphs/BASE_URL."""
    return BASE_URL_FILE.read_text().splitlines()[0].strip() if BASE_URL_FILE.is_file() else UNPUBLISHED


def set_base_url(url: str) -> None:
    """Record where graphs/ is published (``cotmask build --base-url``); ``ValueError`` unless an http(s) URL."""
    if not url.startswith(("https://", "http://")) or " " in url:
        raise ValueError(f"--base-url must be the http(s) URL of the folder that holds the graphs' JSON, got {url!r}")
    BASE_URL_FILE.write_text(url.rstrip("/") + "/\n")


def published_json_url(process_id: str) -> str:
    """The URL of a UDP's published JSON: ``base_url()`` + ``<process_id>.json``."""
    return f"{base_url()}{process_id}.json"


#: onnxruntime for the UDF on CDSE (its default UDF runtime lacks it; without it the numpy engine runs):
#: the public archive the ESA APEx ONNX services use.
DEFAULT_JOB_OPTIONS = {
    "udf-dependency-archives": [
        "https://s3.waw3-1.cloudferro.com/swift/v1/project_dependencies/onnx_deps_python311.zip#onnx_deps"
    ]
}
CATEGORIES = ["cloud detection", "masking", "Sentinel-2", "machine learning"]
#: What each process returns (``returns`` of the UDP; schema as in the openEO process specs).
RETURNS = {
    "raster": {
        "description": "A raster data cube (dimensions x, y, t, bands).",
        "schema": {
            "type": "object",
            "subtype": "datacube",
            "dimensions": [{"type": "spatial", "axis": ["x", "y"]}, {"type": "temporal"}, {"type": "bands"}],
        },
    },
    "vector": {
        "description": "A vector data cube: per polygon and date the bands cloudy_fraction, opaque_fraction, "
        "valid_fraction and shadow_fraction.",
        "schema": {
            "type": "object",
            "subtype": "datacube",
            "dimensions": [{"type": "geometry"}, {"type": "temporal"}, {"type": "bands"}],
        },
    },
}


def process_dict(module: ModuleType) -> dict:
    """The UDP (id, summary, description, categories, parameters, returns, process_graph) of a process module."""
    ps = module.parameters()
    returns = RETURNS["vector" if module.PROCESS_ID == "cotmask_scene_screening" else "raster"]
    return build_process_dict(
        process_graph=module.build(params(ps)),
        process_id=module.PROCESS_ID,
        summary=module.SUMMARY,
        description=module.DESCRIPTION,
        parameters=ps,
        returns=returns,
        categories=CATEGORIES,
        default_job_options=DEFAULT_JOB_OPTIONS,
    )


def get(process_id: str) -> ModuleType:
    """The process module of ``process_id``."""
    for m in PROCESSES:
        if m.PROCESS_ID == process_id:
            return m
    raise ValueError(f"unknown cotmask process {process_id!r}; known: {[m.PROCESS_ID for m in PROCESSES]}")


def check_arguments(process_id: str, **arguments) -> dict:
    """Validated arguments for ``connection.datacube_from_process(process_id, ...)`` (GeoDataFrames -> GeoJSON)."""
    return validate_arguments([q.name for q in get(process_id).parameters()], arguments)


def call_graph(process_id: str, namespace: str = "user", **arguments) -> dict:
    """A flat process graph that calls the UDP ``process_id`` with validated ``arguments`` -- what a user
    sends to a backend (``namespace``: "user" where it is published, or the URL of its JSON)."""
    return {
        "cotmask1": {
            "process_id": process_id,
            "namespace": namespace,
            "arguments": check_arguments(process_id, **arguments),
            "result": True,
        }
    }


def udf_graph(
    collection_id: str,
    bands: list[str],
    context: dict | None = None,
    udf_file: str = "cotmask_udf.py",
    connection=None,
    spatial_extent: dict | None = None,
    temporal_extent: list | None = None,
):
    """The plain user graph (no UDP): load_collection -> filter_bands -> apply_dimension(bands, cotmask UDF),
    as a cube (``connection``: a backend's, or None to build offline). ``udf_file`` defaults to the UDF
    that carries all models."""
    from openeo.rest.datacube import DataCube

    from .common import apply_cotmask

    cube = DataCube.load_collection(
        collection_id,
        connection=connection,
        spatial_extent=spatial_extent,
        temporal_extent=temporal_extent,
        bands=bands,
    ).filter_bands(bands)
    return apply_cotmask(cube, dict(context or {}), udf_file)


def published_udps() -> list[dict]:
    """The UDP dicts as published: graphs/*.json of the checkout, else built from the modules."""
    return [
        json.loads((GRAPHS_DIR / f"{m.PROCESS_ID}.json").read_text()) if GRAPHS_DIR.is_dir() else process_dict(m)
        for m in PROCESSES
    ]


def render(module: ModuleType) -> str:
    """The JSON text written to graphs/<process_id>.json."""
    return json.dumps(process_dict(module), indent=1) + "\n"


#: Benchmark scenario area: a forest near Ludvika, Sweden; summer 2024.
SCENARIO_EXTENT = {"west": 14.50, "south": 59.90, "east": 14.56, "north": 59.93}
SCENARIO_FOREST = {
    "type": "Polygon",
    "coordinates": [[[14.505, 59.905], [14.555, 59.905], [14.555, 59.928], [14.505, 59.928], [14.505, 59.905]]],
}


def benchmark_scenario(module: ModuleType) -> str:
    """APEx-style benchmark scenario JSON for one process (CDSE, the Swedish forest area, summer 2024),
    calling the UDP by the URL of its published JSON."""
    namespace = published_json_url(module.PROCESS_ID)
    names = {q.name for q in module.parameters()}
    args = {
        "spatial_extent": SCENARIO_EXTENT,
        "temporal_extent": ["2024-06-01", "2024-09-01"],
        **({"geometries": SCENARIO_FOREST} if "geometries" in names else {}),
    }
    scenario = [
        {
            "id": f"{module.PROCESS_ID}_sweden_summer2024",
            "type": "openeo",
            "description": f"{module.SUMMARY}: forest near Ludvika, Sweden, June-August 2024",
            "backend": "openeo.dataspace.copernicus.eu",
            "process_graph": {
                "cotmask": {
                    "process_id": module.PROCESS_ID,
                    "namespace": namespace,
                    "arguments": check_arguments(module.PROCESS_ID, **args),
                    "result": True,
                }
            },
            "reference_data": {},
        }
    ]
    return json.dumps(scenario, indent=1) + "\n"


RECORDS_DIR = GRAPHS_DIR.parent / "records"


def render_record(module: ModuleType) -> str:
    """The JSON text written to records/<process_id>.json (APEx catalogue record)."""
    from .records import record

    return json.dumps(record(module, published_json_url(module.PROCESS_ID)), indent=1) + "\n"


def main() -> None:
    """Write every UDP's JSON, its benchmark scenario and its catalogue record."""
    (GRAPHS_DIR / "benchmark_scenarios").mkdir(parents=True, exist_ok=True)
    RECORDS_DIR.mkdir(exist_ok=True)
    for m in PROCESSES:
        path = GRAPHS_DIR / f"{m.PROCESS_ID}.json"
        path.write_text(render(m))
        (GRAPHS_DIR / "benchmark_scenarios" / f"{m.PROCESS_ID}.json").write_text(benchmark_scenario(m))
        (RECORDS_DIR / f"{m.PROCESS_ID}.json").write_text(render_record(m))
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB), its benchmark scenario and catalogue record")


__all__ = [
    "PROCESSES",
    "RECORDS_DIR",
    "base_url",
    "published_json_url",
    "set_base_url",
    "call_graph",
    "render_record",
    "udf_graph",
    "check_arguments",
    "get",
    "main",
    "process_dict",
    "published_udps",
    "render",
]
