"""The cotmask user-defined processes (UDPs): one module per process, JSON in graphs/.

    python -m cotmask.udp        # regenerate graphs/*.json (a test fails when they drift)
"""

import json
from pathlib import Path
from types import ModuleType

from openeo.rest.udp import build_process_dict

from . import best_pixel_composite, cloud_mask, forest_composite, mask_timeseries, scene_screening
from .common import params
from .screening import screening_table
from .validate import validate_arguments

PROCESSES: tuple[ModuleType, ...] = (cloud_mask, mask_timeseries, forest_composite, best_pixel_composite,
                                     scene_screening)
GRAPHS_DIR = Path(__file__).resolve().parents[3] / "graphs"


def process_dict(module: ModuleType) -> dict:
    """The UDP (id, summary, description, parameters, process_graph) of one process module."""
    ps = module.parameters()
    return build_process_dict(process_graph=module.build(params(ps)), process_id=module.PROCESS_ID,
                              summary=module.SUMMARY, description=module.DESCRIPTION, parameters=ps)


def get(process_id: str) -> ModuleType:
    """The process module of ``process_id``."""
    for m in PROCESSES:
        if m.PROCESS_ID == process_id:
            return m
    raise ValueError(f"unknown cotmask process {process_id!r}; known: {[m.PROCESS_ID for m in PROCESSES]}")


def check_arguments(process_id: str, **arguments) -> dict:
    """Validated arguments for ``connection.datacube_from_process(process_id, ...)`` (GeoDataFrames -> GeoJSON)."""
    return validate_arguments([q.name for q in get(process_id).parameters()], arguments)


def process_graph(process_id: str, **arguments) -> dict:
    """A concrete flat process graph: the UDP with validated ``arguments`` (defaults for the rest)."""
    from ..local import instantiate_udp

    return instantiate_udp(process_dict(get(process_id)), check_arguments(process_id, **arguments))


def render(module: ModuleType) -> str:
    """The JSON text written to graphs/<process_id>.json."""
    return json.dumps(process_dict(module), indent=1) + "\n"


#: Benchmark scenario area: a forest near Ludvika, Sweden; summer 2024.
SCENARIO_EXTENT = {"west": 14.50, "south": 59.90, "east": 14.56, "north": 59.93}
SCENARIO_FOREST = {"type": "Polygon", "coordinates": [[[14.505, 59.905], [14.555, 59.905], [14.555, 59.928],
                                                       [14.505, 59.928], [14.505, 59.905]]]}


def benchmark_scenario(module: ModuleType, namespace: str = "user") -> str:
    """APEx-style benchmark scenario JSON for one process (CDSE, the Swedish forest area, summer 2024)."""
    names = {q.name for q in module.parameters()}
    args = {"spatial_extent": SCENARIO_EXTENT, "temporal_extent": ["2024-06-01", "2024-09-01"],
            **({"geometries": SCENARIO_FOREST} if "geometries" in names else {})}
    scenario = [{"id": f"{module.PROCESS_ID}_sweden_summer2024", "type": "openeo",
                 "description": f"{module.SUMMARY}: forest near Ludvika, Sweden, June-August 2024",
                 "backend": "openeo.dataspace.copernicus.eu",
                 "process_graph": {"cotmask": {"process_id": module.PROCESS_ID, "namespace": namespace,
                                               "arguments": check_arguments(module.PROCESS_ID, **args), "result": True}},
                 "reference_data": {}}]
    return json.dumps(scenario, indent=1) + "\n"


def main() -> None:
    """Write every UDP's JSON and its benchmark scenario."""
    (GRAPHS_DIR / "benchmark_scenarios").mkdir(parents=True, exist_ok=True)
    for m in PROCESSES:
        path = GRAPHS_DIR / f"{m.PROCESS_ID}.json"
        path.write_text(render(m))
        (GRAPHS_DIR / "benchmark_scenarios" / f"{m.PROCESS_ID}.json").write_text(benchmark_scenario(m))
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB) and its benchmark scenario")


__all__ = ["PROCESSES", "check_arguments", "get", "main", "process_dict", "process_graph", "render", "screening_table"]
