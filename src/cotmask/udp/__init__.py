"""The cotmask user-defined processes (UDPs): one module per process, JSON in graphs/.

    python -m cotmask.udp        # regenerate graphs/*.json (a test fails when they drift)
"""

import json
from pathlib import Path
from types import ModuleType

from openeo.rest.udp import build_process_dict

from . import cloud_mask, forest_composite, mask_timeseries, scene_screening
from .common import params
from .screening import screening_table
from .validate import validate_arguments

PROCESSES: tuple[ModuleType, ...] = (cloud_mask, mask_timeseries, forest_composite, scene_screening)
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


def main() -> None:
    """Write every UDP's JSON."""
    GRAPHS_DIR.mkdir(exist_ok=True)
    for m in PROCESSES:
        path = GRAPHS_DIR / f"{m.PROCESS_ID}.json"
        path.write_text(render(m))
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


__all__ = ["PROCESSES", "check_arguments", "get", "main", "process_dict", "process_graph", "render", "screening_table"]
