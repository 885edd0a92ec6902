"""(d) Which scenes are worth downloading? Cloudy fraction per date for forest stands from a GeoPackage.

python client_examples/screen_stands.py stands.gpkg --dry-run
python client_examples/screen_stands.py stands.gpkg --max-cloud 0.1     # table sorted by usability
python client_examples/screen_stands.py stands.gpkg --batches           # thousands of stands: batch jobs
"""

import geopandas as gpd

from cotmask.client.batches import geometry_batches, run_in_batches
from cotmask.client.examples import connect, example_parser, print_graph, udp_cube
from cotmask.client.screening_table import screening_table


def main() -> None:
    """Screen the stands' scenes (or print the graph with --dry-run)."""
    ap = example_parser(__doc__.splitlines()[0])
    ap.add_argument("stands", help="GeoPackage (or any file geopandas reads) with stand polygons")
    ap.add_argument("--start", default="2024-05-01")
    ap.add_argument("--end", default="2024-09-01")
    ap.add_argument("--max-cloud", type=float, default=0.1, help="usable if the cloudy fraction is at most this")
    ap.add_argument(
        "--batches",
        action="store_true",
        help="split the stands into requests the backend accepts (2 MiB each) and start one batch job per batch",
    )
    a = ap.parse_args()
    stands = gpd.read_file(a.stands).to_crs("EPSG:4326")
    west, south, east, north = stands.total_bounds
    conn = None if a.dry_run else connect(a.backend, a.basic_auth)
    extent = {"west": west, "south": south, "east": east, "north": north}
    if a.batches:
        if a.dry_run:
            print(f"{len(geometry_batches(stands))} batch job(s) for {len(stands)} stands")
            return
        jobs = run_in_batches(
            conn,
            "cotmask_scene_screening",
            stands,
            a.namespace,
            "cotmask scene screening",
            spatial_extent=extent,
            temporal_extent=[a.start, a.end],
            resolution=60,
        )
        print("\n".join(f"{job.job_id}: {job.status()}" for job in jobs))
        return
    cube = udp_cube(
        "cotmask_scene_screening",
        a.namespace,
        conn,
        geometries=stands,
        spatial_extent={"west": west, "south": south, "east": east, "north": north},
        temporal_extent=[a.start, a.end],
        resolution=60,
    )
    if a.dry_run:
        print_graph(cube)
        return
    raw = cube.execute()  # the aggregate_spatial result as JSON (GeoJSON vector cube or {date: [[...]]})
    print(screening_table(raw, max_cloud_fraction=a.max_cloud).to_string(index=False))


if __name__ == "__main__":
    main()
