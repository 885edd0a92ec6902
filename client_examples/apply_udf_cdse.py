"""(a) The cotmask UDF on a CDSE Sentinel-2 L2A cube: COT, spread and cloud class for June 2024.

python client_examples/apply_udf_cdse.py --dry-run     # print the graph, no connection
python client_examples/apply_udf_cdse.py               # run on CDSE (OIDC login) -> out/cotmask_cdse.nc
                                                           # (--format GTiff: .tif)
"""

from cotmask.client.examples import connect, example_parser, finish
from cotmask.core.shipped import load_model
from cotmask.udp import udf_graph

EXTENT = {"west": 14.50, "south": 59.90, "east": 14.56, "north": 59.93}  # forest near Ludvika, Sweden
BANDS = list(load_model("L2A").bands)


def main() -> None:
    """Build (and unless --dry-run, run) the graph."""
    a = example_parser(__doc__.splitlines()[0]).parse_args()
    conn = None if a.dry_run else connect(a.backend, a.basic_auth)
    result = udf_graph(
        "SENTINEL2_L2A",
        BANDS,
        {"offset": 0, "model": "ensemble"},
        connection=conn,
        spatial_extent=EXTENT,
        temporal_extent=["2024-06-01", "2024-07-01"],
    )
    finish(result, a, "cotmask_cdse", "cotmask on CDSE")


if __name__ == "__main__":
    main()
