"""(b) Publish the cotmask UDPs to your account, then use one with datacube_from_process.

python client_examples/publish_udps.py --dry-run   # list what would be published
python client_examples/publish_udps.py             # save_user_defined_process for each UDP
"""

from cotmask.client.examples import connect, example_parser, publish
from cotmask.udp import published_udps


def main() -> None:
    """Publish every UDP (or list them with --dry-run)."""
    a = example_parser(__doc__.splitlines()[0]).parse_args()
    conn = None if a.dry_run else connect(a.backend, a.basic_auth)
    for udp in published_udps():
        names = [q["name"] for q in udp["parameters"]]
        print(f"{udp['id']}: {udp['summary']}\n  parameters: {', '.join(names)}")
        if conn is not None:
            publish(conn, udp)
            print(f"  published as {udp['id']} (namespace 'user')")
    if conn is not None:
        print(
            "use: connection.datacube_from_process('cotmask_cloud_mask', namespace='user', spatial_extent=..., "
            "temporal_extent=...)"
        )


if __name__ == "__main__":
    main()
