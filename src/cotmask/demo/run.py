"""``cotmask demo``: run the cotmask graphs locally and write the results.

Part 1, the real Sentinel-2 L1C scene (or ``--input``): ``cotmask.nc`` (cot, cot_std, cloud_class, ood),
``scenes.csv`` and ``quicklook_<date>.png`` (true colour | COT | classes | SCL-based mask, or the B10
cirrus band where the input has no SCL | out-of-distribution score).
Part 2, a generated multi-date L2A series over a synthetic forest landscape (with an SCL band that, like
Sen2Cor, misses thin cloud; its clouds cast shadows from 500 m): its rows in ``scenes.csv``,
``series_quicklook.png``, the monthly
composite of ``cotmask_forest_composite`` (``composite.nc``, ``composite.png``) and the
``cotmask_scene_screening`` table (``screening.csv``).
"""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..core.bands import band_labels
from ..core.context import parse_context
from ..core.cube import output_attrs, resolve_model
from ..core.shipped import load_model
from ..local.harness import run_graph_locally
from ..samples.real import S2CLOUDLESS_CREDIT, s2cloudless_cube, to_dn, write_collection
from ..udp import udf_graph
from .netcdf import write_cloud_mask, write_composite
from .quicklooks import SCL_CLOUDY, composite_quicklook, quicklook, series_quicklook


def load_input(path: str | Path | None) -> tuple[xr.DataArray, str]:
    """The demo cube in DN form (t, bands, y, x) and a credit line: a netCDF collection or the real sample."""
    if path is None:
        return to_dn(s2cloudless_cube()), S2CLOUDLESS_CREDIT
    ds = xr.open_dataset(path)
    cube = ds[[v for v in ds.data_vars if v not in ("crs", "spatial_ref")]].to_array("bands")
    dims = [d for d in ("t", "bands", "y", "x") if d in cube.dims]
    return cube.transpose(*dims).load(), str(ds.attrs.get("source", path))


def check_before_work(out_dir: Path, context: dict, dn: xr.DataArray | None = None) -> None:
    """Refuse, before any work, what would fail minutes later: an output folder that cannot be written, context values
    the UDF would refuse, thresholds out of order, and (given the input ``dn``) input without the bands the model
    needs."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".cotmask_write_test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise ValueError(
            f"output folder {out_dir} cannot be written ({e.strerror}): choose another with --output"
        ) from e
    ctx = parse_context(context)
    get = lambda level, kind, engine: load_model(level, kind)  # noqa: E731
    l1c = band_labels(load_model("L1C").bands)
    bands = l1c if dn is None else band_labels(b for b in dn.bands.values.tolist() if b != "SCL")
    resolve_model(ctx, bands, get)  # missing bands, thresholds out of order: one line each


def result_attrs(context: dict, bands: list[str]) -> dict:
    """What a cotmask result records (model, version, level, thresholds, scale/offset) for ``context``: the model the
    UDF runs on these bands (``resolve_model``)."""
    ctx = parse_context(context)
    model, thin, opaque = resolve_model(ctx, band_labels(bands), lambda level, kind, engine: load_model(level, kind))
    return output_attrs(model, thin, opaque, ctx)


def scene_table(result: xr.DataArray, scl: xr.DataArray | None) -> pd.DataFrame:
    """Per-date cloud fractions (of valid pixels) by cotmask, and by the SCL rule when SCL is given."""
    cls = result.sel(bands="cloud_class")
    valid = cls.notnull()
    n = valid.sum(("y", "x"))
    table = pd.DataFrame(
        {
            "date": pd.to_datetime(cls.t.values).strftime("%Y-%m-%d"),
            "valid_pixels": n.values,
            "cotmask_cloudy": ((cls >= 1).sum(("y", "x")) / n).values,
            "cotmask_thin": ((cls == 1).sum(("y", "x")) / n).values,
            "cotmask_opaque": ((cls == 2).sum(("y", "x")) / n).values,
            "scl_cloudy": (scl.isin(SCL_CLOUDY).where(scl > 0).mean(("y", "x")).values if scl is not None else np.nan),
        }
    )
    return table.round(4)


def _series_part(out_dir: Path, work: Path, context: dict, step) -> dict:
    """Part 2: the generated multi-date L2A series through the cloud-mask, composite and screening UDPs."""
    from pyproj import Transformer

    from ..client.screening_table import screening_table
    from ..samples.synthetic import synthetic_timeseries, synthetic_worldcover
    from ..udp import call_graph, published_udps
    from ..udp.common import CONTEXT_PARAMETERS

    cube, truth = synthetic_timeseries("L2A", seed=0, shadow_height=500.0)  # clouds casting shadows
    dn = to_dn(cube)
    collection = write_collection(dn, work / "series_collection.nc", crs="EPSG:32633")
    worldcover = write_collection(synthetic_worldcover(truth), work / "series_worldcover.nc", crs="EPSG:32633")
    base = {
        "collection_id": str(collection),
        "spatial_extent": None,
        "temporal_extent": [str(dn.t.values[0])[:10], "2024-08-01"],
        **{k: v for k, v in context.items() if k in ("thin_threshold", "opaque_threshold", "model", "offset")},
    }
    to_ll = Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True)
    x0, x1, y0, y1 = float(dn.x[8]), float(dn.x[56]), float(dn.y[56]), float(dn.y[8])
    stand = {
        "type": "Polygon",
        "coordinates": [[to_ll.transform(x, y) for x, y in [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]]],
    }
    step("generated series: cotmask_cloud_mask")
    udps = published_udps()
    masks = run_graph_locally(call_graph("cotmask_cloud_mask", **base), work, udps).transpose("t", "bands", "y", "x")
    step("generated series: cotmask_forest_composite")
    comp = run_graph_locally(
        call_graph(
            "cotmask_forest_composite",
            **base,
            geometries=stand,
            buffer=1,
            scl_collection=str(collection),
            worldcover_collection=str(worldcover),
            worldcover_classes=[10],
        ),
        work,
        udps,
    ).transpose("t", "bands", "y", "x")
    write_composite(
        comp,
        out_dir / "composite.nc",
        "median",
        extra={
            "source": "generated L2A series over a synthetic forest (cotmask.samples), not observed data",
            **result_attrs({k: v for k, v in base.items() if k in CONTEXT_PARAMETERS}, list(dn.bands.values)),
        },
    )
    step("generated series: cotmask_scene_screening")
    screen = run_graph_locally(
        call_graph("cotmask_scene_screening", **base, geometries=stand, resolution=0), work, udps
    )
    table = screening_table(screen, max_cloud_fraction=0.1)
    table.to_csv(out_dir / "screening.csv", index=False)
    series_png = series_quicklook(dn, masks, out_dir / "series_quicklook.png")
    comp_png = composite_quicklook(comp, out_dir / "composite.png")
    return {
        "masks": masks,
        "scl": dn.sel(bands="SCL"),
        "screening": table,
        "files": [out_dir / "composite.nc", out_dir / "screening.csv", series_png, comp_png],
    }


def run_demo(out_dir: Path, input_path: str | None = None, context: dict | None = None) -> dict[str, Path]:
    """Run the demo; returns the paths written. Progress goes to stdout (a bar on a terminal, one line per step
    otherwise); intermediate collections live in a temporary folder, not in ``out_dir``."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console()
    context = dict(context or {})
    steps = 7
    with (
        Progress(console=console, disable=not console.is_terminal) as progress,
        tempfile.TemporaryDirectory(prefix="cotmask_demo_") as tmp,
    ):
        task = progress.add_task("loading input", total=steps)
        done = [0]

        def step(description: str) -> None:
            done[0] += 1
            progress.update(task, completed=done[0], description=description)
            if not console.is_terminal:
                print(f"[{done[0]}/{steps}] {description}", flush=True)

        work = Path(tmp)
        check_before_work(out_dir, context)
        dn, credit = load_input(input_path)
        check_before_work(out_dir, context, dn)
        scl = dn.sel(bands="SCL") if "SCL" in dn.bands else None
        model_bands = [b for b in dn.bands.values.tolist() if b != "SCL"]
        collection = write_collection(dn.sel(bands=model_bands), work / "input_collection.nc")
        step("real scene: load_collection -> apply_dimension(cotmask UDF), locally")
        result = run_graph_locally(udf_graph(str(collection), model_bands, context).flat_graph(), work)
        result = result.transpose("t", "bands", "y", "x")
        result.attrs = result_attrs(
            context, model_bands
        )  # not the input's (units: DN, ...), which the engine passes on
        step("real scene: writing cotmask.nc")
        nc = write_cloud_mask(
            result,
            out_dir / "cotmask.nc",
            {"source": credit, "history": "cotmask demo", **{k: v for k, v in dn.attrs.items() if k == "note"}},
        )
        step("real scene: quicklooks")
        pngs = [
            quicklook(dn, result, i, out_dir / f"quicklook_{d}.png", f"cotmask on {d}", credit, scl)
            for i, d in enumerate(pd.to_datetime(result.t.values).strftime("%Y-%m-%d"))
        ]
        series = _series_part(out_dir, work, context, step)
        table = pd.concat(
            [
                scene_table(result, scl).assign(scene="input scene"),
                scene_table(series["masks"], series["scl"]).assign(scene="generated L2A series"),
            ]
        )
        csv = out_dir / "scenes.csv"
        table.to_csv(csv, index=False)
        step("done")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False))  # plain print: a table never wraps at a non-terminal's 80 columns
        print("\nscene screening (generated series, one stand):")
        print(series["screening"].to_string(index=False))
    files = [nc, csv, *pngs, *series["files"]]
    print("\nwrote " + "\n      ".join(map(str, files)))
    return {p.name: p for p in files}
