"""APEx algorithm-catalogue records (OGC API Records, APEx ``schemas/record.json``) for the cotmask UDPs.

``python -m cotmask.udp`` writes ``records/<process_id>.json`` next to graphs/; a test checks each
record against the schema's requirements (``RECORD_RULES`` in tests/test_records.py).
"""

import json
from types import ModuleType

from ..core.shipped import REPO

#: The APEx platform record of CDSE's openEO federation (the schema requires a platform_catalog URL).
PLATFORM = (
    "https://raw.githubusercontent.com/ESA-APEx/apex_algorithms/refs/heads/main/platform_catalog/"
    "cdse_openeo_federation.json"
)
BACKEND = "https://openeo.dataspace.copernicus.eu"
#: Record dates: first publication of these records (update when a record changes in substance).
CREATED = "2026-11-25T00:00:00Z"
KEYWORDS = ["Sentinel-2", "Vegetation", "Land Use/Land Cover Classification"]
FORMATS = {"cotmask_scene_screening": [{"name": "JSON"}, {"name": "CSV"}, {"name": "Parquet"}]}


#: Where ``benchmarks/cost_table.py`` writes its measurements (a checkout's; absent in an installed wheel).
COST_FILE = REPO / "benchmarks" / "cost.json"


def cost(process_id: str) -> tuple[float, str]:
    """(estimate, unit) for the record: CPU-seconds per km² and date on one core (model with onnxruntime, shadows,
    temporal test) from ``COST_FILE``; no platform credits are measured here (no backend account)."""
    if not COST_FILE.is_file():
        return 0.0, "not measured (run benchmarks/cost_table.py in a checkout)"
    row = next(r for r in json.loads(COST_FILE.read_text())["rows"] if r["process"] == process_id)
    seconds = row["model_cpu_s_onnxruntime"] + row["shadow_cpu_s"] + row.get("temporal_cpu_s", 0.0)
    unit = (
        f"CPU-seconds per km² and date on one core at {row['grid_m']:g} m (model with onnxruntime, shadows, temporal "
        f"test; measured locally, benchmarks/cost.json; with shadows each window also loads "
        f"{row['shadow_margin_km_per_side']:.2f} km of margin per side); not platform credits"
    )
    return round(seconds, 4), unit


def record(module: ModuleType, udp_url: str) -> dict:
    """The catalogue record of one process; ``udp_url``: where its UDP JSON is published."""
    pid = module.PROCESS_ID
    return {
        "id": pid,
        "type": "Feature",
        "conformsTo": [
            "http://www.opengis.net/spec/ogcapi-records-1/1.0/req/record-core",
            "https://apex.esa.int/core/openeo-udp",
        ],
        "geometry": None,
        "properties": {
            "created": CREATED,
            "updated": CREATED,
            "type": "service",
            "title": module.SUMMARY,
            "description": module.DESCRIPTION + " Cloud optical thickness comes from a small neural network "
            "distilled from an ensemble trained on physically based synthetic Sentinel-2 data (model card: "
            "models/README.md); thin cloud and haze that the Scene Classification Layer misses are "
            "flagged as class 1.",
            "cost_estimate": cost(pid)[0],
            "cost_unit": cost(pid)[1],
            "keywords": KEYWORDS,
            "language": {"code": "en-US", "name": "English (United States)"},
            "languages": [{"code": "en-US", "name": "English (United States)"}],
            "contacts": [
                {
                    "name": "cotmask developers",
                    "position": "Maintainers",
                    "organization": "cotmask project",
                    "roles": ["principal investigator"],
                    "links": [
                        {
                            "href": udp_url.rsplit("/graphs/", 1)[0],
                            "rel": "about",
                            "type": "text/html",
                            "title": "cotmask repository",
                        }
                    ],
                    "contactInstructions": "Open an issue in the cotmask repository.",
                }
            ],
            "themes": [
                {
                    "concepts": [{"id": "Atmospheric conditions"}, {"id": "Cloud detection"}],
                    "scheme": "https://gcmd.earthdata.nasa.gov/kms/concepts/concept_scheme/sciencekeywords",
                }
            ],
            "formats": FORMATS.get(pid, [{"name": "netCDF"}, {"name": "GTiff"}]),
            "license": "MIT",
        },
        "linkTemplates": [],
        "links": [
            {
                "rel": "application",
                "type": "application/vnd.openeo+json;type=process",
                "title": "openEO process definition (UDP)",
                "href": udp_url,
            },
            {"rel": "service", "type": "application/json", "title": "CDSE openEO federation", "href": BACKEND},
            {"rel": "platform", "type": "application/json", "title": "CDSE openEO federation", "href": PLATFORM},
            {"rel": "code", "type": "text/html", "title": "Source code", "href": udp_url.rsplit("/graphs/", 1)[0]},
        ],
    }
