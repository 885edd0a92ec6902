"""Helpers for the client examples: a backend connection, or offline graph building for ``--dry-run``."""

import argparse
import json
from pathlib import Path

from openeo.internal.graph_building import PGNode
from openeo.rest.datacube import DataCube

from ..udp import check_arguments

CDSE = "openeo.dataspace.copernicus.eu"
SUFFIX = {"netCDF": ".nc", "GTiff": ".tif"}


def example_parser(description: str) -> argparse.ArgumentParser:
    """The options every example shares: --dry-run, --backend, --basic-auth, --sync, --namespace, --output."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--dry-run", action="store_true", help="build and print the process graph offline; no connection")
    ap.add_argument("--backend", default=CDSE, help=f"openEO backend (default {CDSE})")
    ap.add_argument(
        "--basic-auth", metavar="USER:PASSWORD", help="HTTP basic login (test or in-house backends) instead of OIDC"
    )
    ap.add_argument("--sync", action="store_true", help="synchronous request instead of a batch job (small areas)")
    ap.add_argument("--format", default="netCDF", choices=sorted(SUFFIX), help="raster output format (default netCDF)")
    ap.add_argument(
        "--namespace",
        default="user",
        help="where the cotmask UDPs live: 'user' (published with "
        "publish_udps.py) or the URL of a graphs/<process_id>.json",
    )
    ap.add_argument("--output", default="out", help="output file or folder")
    return ap


def connect(backend: str, basic_auth: str | None = None):
    """Connect and authenticate: OIDC (stored refresh token, else the device flow), or basic ``USER:PASSWORD``."""
    import openeo

    conn = openeo.connect(backend)
    if basic_auth:
        user, _, password = basic_auth.partition(":")
        return conn.authenticate_basic(user, password)
    return conn.authenticate_oidc()


def publish(connection, udp: dict, public: bool = True) -> None:
    """Store one UDP (a ``cotmask.udp.published_udps()`` item) under the user's account, with all its metadata."""
    connection.save_user_defined_process(
        udp["id"],
        udp["process_graph"],
        parameters=udp["parameters"],
        summary=udp["summary"],
        description=udp["description"],
        returns=udp["returns"],
        categories=udp["categories"],
        public=public,
    )


def udp_cube(process_id: str, namespace: str, connection=None, **arguments) -> DataCube:
    """A cube calling a cotmask UDP with validated arguments; offline when ``connection`` is None."""
    args = check_arguments(process_id, **arguments)
    if connection is not None:
        return connection.datacube_from_process(process_id, namespace=namespace, **args)
    return DataCube(PGNode(process_id, arguments=args, namespace=namespace), connection=None)


def print_graph(cube) -> None:
    """Print a cube's flat process graph (UDF code shortened)."""
    graph = cube.flat_graph()

    def short(node):
        if isinstance(node, dict):
            return {
                k: (v[:60] + f"... ({len(v)} chars)" if k == "udf" and isinstance(v, str) else short(v))
                for k, v in node.items()
            }
        return [short(v) for v in node] if isinstance(node, list) else node

    print(json.dumps(short(graph), indent=1))


def finish(cube, a: argparse.Namespace, stem: str, title: str) -> None:
    """Print the graph (``--dry-run``) or run it (batch job, or ``--sync``: one request) and write
    ``<output>/<stem>.<format suffix>``."""
    if a.dry_run:
        print_graph(cube)
        return
    out = Path(a.output) / (stem + SUFFIX[a.format])
    out.parent.mkdir(parents=True, exist_ok=True)
    if a.sync:
        cube.download(out, format=a.format)
    else:
        cube.execute_batch(out, out_format=a.format, title=title)
    print(f"wrote {out}")
