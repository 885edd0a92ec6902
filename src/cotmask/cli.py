"""Command line: ``cotmask demo`` and ``cotmask build`` (regenerate udf/ and graphs/)."""

import argparse
import sys
from pathlib import Path

from .core.bands import DEFAULT_MODEL, MODEL_KINDS


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``cotmask`` command."""
    ap = argparse.ArgumentParser(prog="cotmask", description="COT cloud mask for Sentinel-2 (openEO UDF + graphs).")
    sub = ap.add_subparsers(dest="cmd", required=True)
    demo = sub.add_parser(
        "demo",
        help="run the cotmask graph locally on a real Sentinel-2 scene",
        description="Runs load_collection -> apply_dimension(cotmask UDF) with openEO local "
        "processing on the real scene (cotmask.nc, scenes.csv, quicklook PNG), then "
        "the published graphs on a generated L2A series (series_quicklook.png, "
        "composite.nc/png, screening.csv).",
    )
    demo.add_argument(
        "--input",
        help="netCDF collection (bands as variables, DN; optional SCL) instead of the "
        "real 13-band L1C sample downloaded by the set-up command",
    )
    demo.add_argument("--output", type=Path, default=Path("out/demo"), help="output folder (default out/demo)")
    demo.add_argument("--thin", type=float, help="thin-cloud COT threshold (default: the model metadata's)")
    demo.add_argument("--opaque", type=float, help="opaque-cloud COT threshold (default: the model metadata's)")
    demo.add_argument("--model", choices=list(MODEL_KINDS), default=DEFAULT_MODEL)
    demo.add_argument("--level", choices=["L1C", "L2A"], help="model level (default: L1C if B10 is present)")
    demo.add_argument(
        "--offset",
        type=float,
        default=0.0,
        help="DN offset of the input (default 0; -1000 for non-harmonised baseline >= 04.00 products)",
    )
    demo.add_argument("--debug", action="store_true", help="on an error, the full traceback instead of one line")
    build = sub.add_parser(
        "build", help="regenerate udf/*.py, graphs/*.json and records/*.json from models/ and the package"
    )
    build.add_argument(
        "--base-url",
        help="the URL where graphs/ is published (kept in graphs/BASE_URL; every namespace and record link uses it)",
    )
    a = ap.parse_args(argv)
    try:
        _run(a)
    except (ValueError, TypeError, OSError, KeyError, ImportError) as e:
        if getattr(a, "debug", False):
            raise
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(e, ImportError):
            message += ": the demo needs the demo extra, pip install 'cotmask[demo]'"
        print(f"cotmask {a.cmd}: error: {message} (--debug shows the traceback)", file=sys.stderr)
        raise SystemExit(2) from None


def _run(a: argparse.Namespace) -> None:
    if a.cmd == "demo":
        from .demo.run import run_demo

        ctx = {
            "thin_threshold": a.thin,
            "opaque_threshold": a.opaque,
            "model": a.model,
            "level": a.level,
            "offset": a.offset,
        }
        run_demo(a.output, a.input, {k: v for k, v in ctx.items() if v is not None})
    else:
        from .udf.build import main as build_udf
        from .udp import main as build_graphs
        from .udp import set_base_url

        if a.base_url:
            set_base_url(a.base_url)

        build_udf()  # first: the graphs embed the UDF
        build_graphs()


if __name__ == "__main__":
    main()
