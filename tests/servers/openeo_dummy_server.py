"""A real openEO API server for the tests: openeo-driver's dummy backend on 127.0.0.1, with the CDSE
collection ids the cotmask graphs load added to its catalogue.

Runs in its own virtual environment (openeo-driver pins another openeo client than cotmask):

    python openeo_dummy_server.py PORT '{"SENTINEL2_L2A": ["B02", ...], ...}'
"""

import importlib.util
import json
import os
import sys


def collection(cid: str, bands: list[str]) -> dict:
    """A minimal STAC collection entry in the dummy catalogue's format."""
    return {
        "id": cid,
        "license": "proprietary",
        "description": f"{cid} (test stand-in)",
        "links": [],
        "extent": {
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [["2015-06-23", "2030-01-01"]]},
        },
        "cube:dimensions": {
            "x": {"type": "spatial", "extent": [-180, 180], "step": 10, "reference_system": 4326},
            "y": {"type": "spatial", "extent": [-90, 90], "step": 10, "reference_system": 4326},
            "t": {"type": "temporal", "extent": ["2015-06-23", "2030-01-01"]},
            "bands": {"type": "bands", "values": bands},
        },
        "summaries": {"eo:bands": [{"name": b} for b in bands]},
    }


def main() -> None:
    """Serve until killed."""
    port, collections = int(sys.argv[1]), json.loads(sys.argv[2])
    os.environ["OPENEO_BACKEND_CONFIG"] = importlib.util.find_spec("openeo_driver.dummy.dummy_config").origin
    from openeo_driver.dummy.dummy_backend import DummyBackendImplementation, DummyCatalog
    from openeo_driver.views import build_app

    DummyCatalog._COLLECTIONS = DummyCatalog._COLLECTIONS + [collection(c, b) for c, b in collections.items()]
    app = build_app(backend_implementation=DummyBackendImplementation())
    app.run(host="127.0.0.1", port=port, threaded=True)


if __name__ == "__main__":
    main()
