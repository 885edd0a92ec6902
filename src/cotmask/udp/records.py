"""APEx algorithm-catalogue records (OGC API Records, APEx ``schemas/record.json``) for the cotmask UDPs.

``python -m cotmask.udp`` writes ``records/<process_id>.json`` next to graphs/; a test checks each
record against the schema's requirements (``RECORD_RULES`` in tests/test_records.py).
"""

from types import ModuleType

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
            "cost_estimate": 0,
            "cost_unit": "platform credits per km²",
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
