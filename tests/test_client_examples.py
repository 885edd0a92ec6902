"""The client examples build valid graphs offline with --dry-run."""

import json
import subprocess
import sys

import geopandas as gpd
import pytest
from conftest import ROOT
from shapely.geometry import box

EXAMPLES = ROOT / "client_examples"


def dry_run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args, "--dry-run"], capture_output=True, text=True, timeout=120
    )


def test_apply_udf_example_builds_the_udf_graph() -> None:
    r = dry_run("apply_udf_cdse.py")
    assert r.returncode == 0, r.stderr
    graph = json.loads(r.stdout)
    ids = [n["process_id"] for n in graph.values()]
    assert ids == ["load_collection", "filter_bands", "apply_dimension", "rename_labels"]
    assert graph["loadcollection1"]["arguments"]["id"] == "SENTINEL2_L2A"
    assert "B10" not in graph["loadcollection1"]["arguments"]["bands"]


def test_publish_example_lists_all_udps() -> None:
    r = dry_run("publish_udps.py")
    assert r.returncode == 0, r.stderr
    for pid in ("cotmask_cloud_mask", "cotmask_mask_timeseries", "cotmask_forest_composite", "cotmask_scene_screening"):
        assert pid in r.stdout


def test_composite_example_calls_the_udp_with_valid_arguments() -> None:
    r = dry_run("forest_composite_sweden.py")
    assert r.returncode == 0, r.stderr
    node = json.loads(r.stdout)["cotmaskforestcomposite1"]
    assert node["namespace"] == "user" and node["arguments"]["period"] == "month"


def test_screening_example_reads_stands_from_a_geopackage(tmp_path) -> None:
    stands = gpd.GeoDataFrame(
        {"stand": ["a", "b"]},
        geometry=[box(14.50, 59.90, 14.52, 59.91), box(14.53, 59.91, 14.55, 59.92)],
        crs="EPSG:4326",
    ).to_crs("EPSG:3006")  # SWEREF99 TM, as Swedish stand maps are
    gpkg = tmp_path / "stands.gpkg"
    stands.to_file(gpkg)
    r = dry_run("screen_stands.py", str(gpkg))
    assert r.returncode == 0, r.stderr
    args = json.loads(r.stdout)["cotmaskscenescreening1"]["arguments"]
    assert len(args["geometries"]["features"]) == 2
    assert args["spatial_extent"]["west"] == pytest.approx(14.50, abs=1e-6)


def test_screening_example_rejects_an_empty_geopackage(tmp_path) -> None:
    gpkg = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"stand": []}, geometry=[], crs="EPSG:4326").to_file(gpkg)
    r = dry_run("screen_stands.py", str(gpkg))
    assert r.returncode != 0 and "empty" in r.stderr


def test_screening_table_reads_a_legacy_json_result_in_the_graphs_band_order() -> None:
    from cotmask.client.screening_table import screening_table
    from cotmask.udp.cotmask_scene_screening import FRACTION_BANDS

    assert FRACTION_BANDS == ["cloudy_fraction", "opaque_fraction", "shadow_fraction", "valid_fraction"]
    table = screening_table({"2024-06-01": [[0.05, 0.01, 0.02, 1.0]], "2024-06-11": [[0.5, 0.2, 0.0, 1.0]]})
    first = table.iloc[0]
    assert (first["date"], first["shadow_fraction"], first["valid_fraction"], first["usable"]) == (
        "2024-06-01",
        0.02,
        1.0,
        True,
    )
