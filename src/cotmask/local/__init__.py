"""The local harness: the cotmask UDFs and process graphs on this machine, with openEO's local processing."""

from .harness import run_graph_locally, run_udf_locally

__all__ = ["run_graph_locally", "run_udf_locally"]
