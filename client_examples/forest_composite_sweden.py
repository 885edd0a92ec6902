"""(c) Monthly cloud-free composites over a summer for a forest polygon in Sweden (cotmask_forest_composite).

python client_examples/forest_composite_sweden.py --dry-run
python client_examples/forest_composite_sweden.py            # needs the UDPs published (publish_udps.py)
"""

from cotmask.client.examples import connect, example_parser, finish, udp_cube

FOREST = {
    "type": "Polygon",
    "coordinates": [[[14.505, 59.905], [14.555, 59.905], [14.555, 59.928], [14.505, 59.928], [14.505, 59.905]]],
}
EXTENT = {"west": 14.50, "south": 59.90, "east": 14.56, "north": 59.93}


def main() -> None:
    """Build (and unless --dry-run, run) the composite."""
    a = example_parser(__doc__.splitlines()[0]).parse_args()
    conn = None if a.dry_run else connect(a.backend, a.basic_auth)
    cube = udp_cube(
        "cotmask_forest_composite",
        a.namespace,
        conn,
        spatial_extent=EXTENT,
        temporal_extent=["2024-05-01", "2024-09-01"],
        geometries=FOREST,
        period="month",
        reducer="median",
        buffer=2,
        scl_classes=[3],
        worldcover_classes=[10],
    )  # 10: tree cover
    finish(cube, a, "forest_composite_2024", "cotmask monthly forest composite")


if __name__ == "__main__":
    main()
