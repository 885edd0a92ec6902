"""APEx catalogue records: generated without drift, and meeting the APEx record schema's requirements.

The APEx ``schemas/record.json`` (ESA-APEx/apex_algorithms) is third-party and not copied here; RECORD_RULES
restates its requirements (required fields, enums, link relations, the platform URL pattern) as a JSON schema.
"""

import json

import jsonschema
import pytest

from cotmask.udp import PROCESSES, RECORDS_DIR, published_json_url, render_record

_LINK = {
    "type": "object",
    "required": ["rel", "type", "title", "href"],
    "properties": {
        "rel": {
            "enum": [
                "platform",
                "application",
                "service",
                "example-output",
                "example-input",
                "preview",
                "order",
                "license",
                "about",
                "webapp",
                "code",
                "thumbnail",
                "cite-as",
            ]
        },
        "href": {"type": "string", "format": "uri"},
    },
    "if": {"properties": {"rel": {"const": "platform"}}},
    "then": {
        "properties": {
            "href": {
                "pattern": "^https://raw.githubusercontent.com/ESA-APEx/apex_algorithms/refs/"
                "heads/main/platform_catalog/[^\\s]+\\.json$"
            }
        }
    },
}
RECORD_RULES = {
    "type": "object",
    "required": ["id", "type", "conformsTo", "geometry", "properties", "links"],
    "properties": {
        "type": {"enum": ["Feature"]},
        "conformsTo": {
            "type": "array",
            "minItems": 2,
            "uniqueItems": True,
            "allOf": [
                {"contains": {"const": "http://www.opengis.net/spec/ogcapi-records-1/1.0/req/record-core"}},
                {"contains": {"const": "https://apex.esa.int/core/openeo-udp"}},
            ],
        },
        "geometry": {"type": "null"},
        "properties": {
            "type": "object",
            "required": [
                "created",
                "updated",
                "type",
                "title",
                "description",
                "cost_estimate",
                "cost_unit",
                "contacts",
                "themes",
                "formats",
            ],
            "properties": {
                "type": {"enum": ["service"]},
                "cost_estimate": {"type": "number"},
                "keywords": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {
                        "enum": [
                            "Agriculture",
                            "Land Use/Land Cover Classification",
                            "Vegetation",
                            "Sentinel-2",
                            "Natural Hazards",
                            "Wildfires",
                            "Data Analysis and Visualization",
                            "Statistical Applications",
                        ]
                    },
                },
                "themes": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["concepts", "scheme"],
                        "properties": {"concepts": {"type": "array", "minItems": 1}},
                    },
                },
                "formats": {"type": "array", "items": {"anyOf": [{"required": ["name"]}, {"required": ["mediaType"]}]}},
                "contacts": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"links": {"type": "array", "items": {"required": ["type"]}}},
                    },
                },
            },
        },
        "links": {
            "type": "array",
            "minItems": 3,
            "items": _LINK,
            "allOf": [
                {"contains": {"properties": {"rel": {"const": rel}}}} for rel in ("service", "application", "platform")
            ],
        },
    },
}


@pytest.mark.parametrize("module", PROCESSES, ids=lambda m: m.PROCESS_ID)
def test_record_is_generated_and_valid(module) -> None:
    path = RECORDS_DIR / f"{module.PROCESS_ID}.json"
    assert path.read_text() == render_record(module), f"{path.name} drifted: run `python -m cotmask.udp`"
    rec = json.loads(path.read_text())
    jsonschema.Draft202012Validator(RECORD_RULES, format_checker=jsonschema.FormatChecker()).validate(rec)
    app = next(link for link in rec["links"] if link["rel"] == "application")
    assert app["href"] == published_json_url(module.PROCESS_ID)


def test_rules_reject_a_broken_record() -> None:
    rec = json.loads((RECORDS_DIR / "cotmask_cloud_mask.json").read_text())
    rec["links"] = [link for link in rec["links"] if link["rel"] != "platform"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(rec, RECORD_RULES)
