"""The UDPs and client examples against a real openEO API server on 127.0.0.1 (openeo-driver's dummy backend).

What this server checks: the API itself (request schema, the 2 MiB request-body limit, basic auth), publishing,
listing and fetching UDPs, and evaluating a graph with openeo-python-driver's evaluator -- UDP parameters bound
at the top level, a top-level ``if``, ``array_create``, a UDP fetched from a namespace URL -- on dummy data
cubes. What only a real backend shows: the geotrellis callback builder (see cotmask.udp.backend), the UDF
runtime, real data, batch jobs (the dummy's jobs never finish) and the ZooKeeper size limit.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import geopandas as gpd
import openeo
import pytest
from conftest import ROOT
from shapely.geometry import box

from cotmask.client.examples import publish
from cotmask.core.bands import L2A_BANDS, S2_BANDS
from cotmask.udp import PROCESSES, call_graph, published_udps

DRIVER = "openeo-driver==0.136.0a4"
DRIVER_VENV = ROOT / ".venv-openeo-driver"
USER, PASSWORD = "john", "JOHN!!!"  # the dummy backend's basic-auth rule: password = USER.upper() + "!!!"
EXTENT = {"west": 14.50, "south": 59.90, "east": 14.56, "north": 59.93}
POLYGON = {
    "type": "Polygon",
    "coordinates": [[[14.505, 59.905], [14.555, 59.905], [14.555, 59.928], [14.505, 59.928], [14.505, 59.905]]],
}
#: The CDSE collections the graphs load, added to the dummy catalogue.
COLLECTIONS = {
    "SENTINEL2_L2A": [*L2A_BANDS, "SCL"],
    "SENTINEL2_L1C": list(S2_BANDS),
    "ESA_WORLDCOVER_10M_2021_V2": ["MAP"],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _driver_python() -> str:
    """openeo-driver in its own virtual environment (it pins another openeo client than cotmask)."""
    python = DRIVER_VENV / "bin" / "python"
    stamp = DRIVER_VENV / f".{DRIVER}"
    if not stamp.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(DRIVER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", DRIVER], check=True)
        stamp.touch()
    return str(python)


@pytest.fixture(scope="module")
def backend(tmp_path_factory) -> str:
    """URL of the dummy backend, served from a subprocess on a free loopback port (its log in a file: a
    full pipe would block the server)."""
    port = _free_port()
    log = tmp_path_factory.mktemp("openeo_server") / "server.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen(
            [
                _driver_python(),
                str(ROOT / "tests" / "servers" / "openeo_dummy_server.py"),
                str(port),
                json.dumps(COLLECTIONS),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/openeo/1.2"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(log.read_text()[-2000:])
                time.sleep(0.5)
        else:
            raise RuntimeError("the openEO dummy backend did not start within 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def files_url() -> str:
    """The checkout served over HTTP on loopback: where a namespace URL of graphs/<id>.json points."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(ROOT)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # noqa: D102 - keep the test output clean
        pass


@pytest.fixture(scope="module")
def connection(backend: str):
    """A logged-in connection with every cotmask UDP published."""
    conn = openeo.connect(backend, auto_validate=False).authenticate_basic(USER, PASSWORD)
    for udp in published_udps():
        publish(conn, udp, public=False)
    return conn


def _arguments(module) -> dict:
    names = {q.name for q in module.parameters()}
    return {
        "spatial_extent": EXTENT,
        "temporal_extent": ["2024-06-01", "2024-07-01"],
        **({"geometries": POLYGON} if "geometries" in names else {}),
    }


def test_udps_round_trip_unchanged(connection) -> None:
    listed = {p["id"] for p in connection.list_user_defined_processes()}
    assert {m.PROCESS_ID for m in PROCESSES} <= listed
    for udp in published_udps():
        back = connection.user_defined_process(udp["id"]).describe()
        stored = ("id", "summary", "description", "parameters", "returns", "process_graph")  # what the server keeps
        assert {k: back[k] for k in stored} == {k: udp[k] for k in stored}, udp["id"]


@pytest.mark.parametrize("module", PROCESSES, ids=lambda m: m.PROCESS_ID)
def test_udp_validates_through_the_api_by_namespace_url(connection, files_url: str, module) -> None:
    graph = call_graph(
        module.PROCESS_ID, namespace=f"{files_url}/graphs/{module.PROCESS_ID}.json", **_arguments(module)
    )
    assert connection.validate_process_graph(graph) == []


@pytest.mark.parametrize("module", PROCESSES, ids=lambda m: m.PROCESS_ID)
def test_published_udp_runs_on_the_driver(connection, module) -> None:
    """Evaluated end to end by openeo-python-driver's evaluator (parameters bound, top-level if, array_create,
    UDF callbacks accepted) on dummy cubes; the dummy's cubes do not model band labels, so only the kind of
    result is checked."""
    out = connection.download(call_graph(module.PROCESS_ID, **_arguments(module)))
    if module.PROCESS_ID == "cotmask_scene_screening":
        assert json.loads(out)["type"] == "FeatureCollection"
    else:
        assert out.startswith(b"GTiff:save_result(DummyDataCube(")


def test_request_body_limit_is_real_and_the_udps_are_far_below(backend: str) -> None:
    conn = openeo.connect(backend, auto_validate=False).authenticate_basic(USER, PASSWORD)
    with pytest.raises(openeo.rest.OpenEoApiError) as err:
        conn.save_user_defined_process(
            "too_big",
            {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}},
            description="x" * (2 * 1024 * 1024 + 1),
        )
    assert err.value.http_status_code == 413
    assert max(len(json.dumps(u)) for u in published_udps()) < 512 * 1024


def _example(script: str, backend: str, *args: str, cwd=None) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        str(ROOT / "client_examples" / script),
        *args,
        "--backend",
        backend,
        "--basic-auth",
        f"{USER}:{PASSWORD}",
    ]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, cwd=cwd, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )


def test_client_examples_run_against_the_server(backend: str, tmp_path) -> None:
    r = _example("publish_udps.py", backend)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("published as") == len(PROCESSES)
    for script in ("apply_udf_cdse.py", "forest_composite_sweden.py"):
        r = _example(script, backend, "--sync", "--format", "GTiff", "--output", str(tmp_path))
        assert r.returncode == 0, r.stderr
    assert (tmp_path / "cotmask_cdse.tif").read_bytes().startswith(b"GTiff:save_result(")
    assert (tmp_path / "forest_composite_2024.tif").read_bytes().startswith(b"GTiff:save_result(")
    stands = gpd.GeoDataFrame({"stand": ["a"]}, geometry=[box(14.50, 59.90, 14.52, 59.91)], crs="EPSG:4326")
    stands.to_file(tmp_path / "stands.gpkg")
    r = _example("screen_stands.py", backend, str(tmp_path / "stands.gpkg"), "--sync")
    assert r.returncode == 0, r.stderr
    assert "cloudy_fraction" in r.stdout and "usable" in r.stdout


def _stands(n: int) -> "gpd.GeoDataFrame":
    """``n`` small stands (10 x 10 m) in a grid inside the scenario area, WGS84, coordinates at full precision."""
    cells = [
        box(
            14.5 + (i % 100) * 0.0005,
            59.9 + (i // 100) * 0.0003,
            14.5001 + (i % 100) * 0.0005,
            59.9001 + (i // 100) * 0.0003,
        )
        for i in range(n)
    ]
    return gpd.GeoDataFrame(geometry=cells, crs="EPSG:4326")


def test_oversized_requests_are_refused_and_batches_run_on_the_server(connection, files_url: str) -> None:
    """10 000 small stands make a request above the 2 MiB limit: check_arguments refuses it before sending, naming
    the size and the fix; the batches the helper makes are each accepted by the server as batch jobs."""
    from cotmask.client.batches import geometry_batches, run_in_batches
    from cotmask.udp import check_arguments

    stands = _stands(10_000)
    with pytest.raises(ValueError, match=r"MiB, above the 2 MiB .* batches"):
        check_arguments("cotmask_scene_screening", geometries=stands)
    batches = geometry_batches(stands)
    assert len(batches) >= 2 and sum(len(b) for b in batches) == len(stands)
    namespace = f"{files_url}/graphs/cotmask_scene_screening.json"
    jobs = run_in_batches(
        connection,
        "cotmask_scene_screening",
        stands,
        namespace,
        "screening",
        spatial_extent=EXTENT,
        temporal_extent=["2024-06-01", "2024-07-01"],
    )
    assert len(jobs) == len(batches) and all(job.status() in ("queued", "running", "finished") for job in jobs)
