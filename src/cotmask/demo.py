"""``cotmask demo``: run the cotmask graphs locally and write the results.

Part 1, the real Sentinel-2 L1C scene (or ``--input``): ``cotmask.nc`` (cot, cot_std, cloud_class),
``scenes.csv`` and ``quicklook_<date>.png`` (true colour | COT | classes | SCL-based mask, or the B10
cirrus band where the input has no SCL).
Part 2, a generated multi-date L2A series over a synthetic forest landscape (with an SCL band that,
like Sen2Cor, misses thin cloud): its rows in ``scenes.csv``, ``series_quicklook.png``, the monthly
composite of ``cotmask_forest_composite`` (``composite.nc``, ``composite.png``) and the
``cotmask_scene_screening`` table (``screening.csv``).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .data import S2CLOUDLESS_CREDIT, s2cloudless_cube, to_dn, write_collection
from .core import DN_SCALE
from .local import run_graph_locally
from .udp import udf_graph

SCL_CLOUDY = (8, 9, 10)  # cloud medium / high probability, thin cirrus


def load_input(path: str | Path | None) -> tuple[xr.DataArray, str]:
    """The demo cube in DN form (t, bands, y, x) and a credit line: a netCDF collection or the real sample."""
    if path is None:
        return to_dn(s2cloudless_cube()), S2CLOUDLESS_CREDIT
    ds = xr.open_dataset(path)
    cube = ds[[v for v in ds.data_vars if v not in ("crs", "spatial_ref")]].to_array("bands")
    dims = [d for d in ("t", "bands", "y", "x") if d in cube.dims]
    return cube.transpose(*dims).load(), str(ds.attrs.get("source", path))


def to_netcdf(cube: xr.DataArray, path: Path, attrs: dict | None = None) -> Path:
    """Write a (t, bands, y, x) cube as a netCDF with one variable per band (only netCDF-safe attributes)."""
    ds = cube.to_dataset("bands")
    ds.attrs = {k: v for k, v in {**cube.attrs, **(attrs or {})}.items() if isinstance(v, (str, int, float))}
    for v in ds.data_vars.values():
        v.attrs = {k: a for k, a in v.attrs.items() if isinstance(a, (str, int, float))}
    ds.to_netcdf(path)
    return path


def scene_table(result: xr.DataArray, scl: xr.DataArray | None) -> pd.DataFrame:
    """Per-date cloud fractions (of valid pixels) by cotmask, and by the SCL rule when SCL is given."""
    cls = result.sel(bands="cloud_class")
    valid = cls.notnull()
    n = valid.sum(("y", "x"))
    table = pd.DataFrame({
        "date": pd.to_datetime(cls.t.values).strftime("%Y-%m-%d"),
        "valid_pixels": n.values,
        "cotmask_cloudy": ((cls >= 1).sum(("y", "x")) / n).values,
        "cotmask_thin": ((cls == 1).sum(("y", "x")) / n).values,
        "cotmask_opaque": ((cls == 2).sum(("y", "x")) / n).values,
        "scl_cloudy": (scl.isin(SCL_CLOUDY).where(scl > 0).mean(("y", "x")).values if scl is not None else np.nan),
    })
    return table.round(4)


def quicklook(dn: xr.DataArray, result: xr.DataArray, date_index: int, path: Path, title: str, credit: str,
              scl: xr.DataArray | None = None) -> Path:
    """Four panels for one date: true colour | COT | classes | SCL cloud mask (or B10 cirrus)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    offset = float(dn.attrs.get("radiometric_offset", 0))
    d = (dn.isel(t=date_index).astype("float32") + offset) * DN_SCALE
    rgb = _rgb(dn.isel(t=date_index), offset, white=0.3, gamma=1 / 1.5)  # bright clouds: a wide stretch
    r = result.isel(t=date_index)
    fig, ax = plt.subplots(1, 4, figsize=(17, 5.2), constrained_layout=True)
    ax[0].imshow(rgb)
    ax[0].set_title("true colour (B04 B03 B02)")
    im = ax[1].imshow(r.sel(bands="cot").values, cmap="magma", vmin=0, vmax=10)
    fig.colorbar(im, ax=ax[1], shrink=0.7, label="COT")
    ax[1].set_title("cotmask COT")
    cmap = ListedColormap(["#2a7f3f", "#f2c12e", "#ffffff"])
    ax[2].imshow(r.sel(bands="cloud_class").values, cmap=cmap, vmin=-0.5, vmax=2.5, interpolation="nearest")
    ax[2].set_facecolor("#888888")
    ax[2].set_title("cotmask class: green clear, yellow thin, white opaque")
    if scl is not None:
        ax[3].imshow(scl.isel(t=date_index).isin(SCL_CLOUDY).values, cmap="gray", vmin=0, vmax=1)
        ax[3].set_title("SCL cloud mask (8, 9, 10)")
    else:
        im = ax[3].imshow(d.sel(bands="B10").values, cmap="Blues_r", vmin=0, vmax=0.03) if "B10" in d.bands else None
        ax[3].set_title("no SCL in input: B10 cirrus band" if im is not None else "no SCL in input")
    for a in ax:
        a.set_xticks([])
        a.set_yticks([])
    fig.suptitle(f"{title}\n{credit}", fontsize=9)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _series_part(out_dir: Path, context: dict, progress, task) -> dict:
    """Part 2: the generated multi-date L2A series through the cloud-mask, composite and screening UDPs."""
    from pyproj import Transformer

    from .samples import synthetic_timeseries, synthetic_worldcover
    from .udp import call_graph, published_udps, screening_table

    cube, truth = synthetic_timeseries("L2A", seed=0)
    dn = to_dn(cube)
    collection = write_collection(dn, out_dir / "series_collection.nc", crs="EPSG:32633")
    worldcover = write_collection(synthetic_worldcover(truth), out_dir / "series_worldcover.nc", crs="EPSG:32633")
    base = {"collection_id": str(collection), "spatial_extent": None,
            "temporal_extent": [str(dn.t.values[0])[:10], "2024-08-01"],
            **{k: v for k, v in context.items() if k in ("thin_threshold", "opaque_threshold", "model", "offset")}}
    to_ll = Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True)
    x0, x1, y0, y1 = float(dn.x[8]), float(dn.x[56]), float(dn.y[56]), float(dn.y[8])
    stand = {"type": "Polygon", "coordinates": [[to_ll.transform(x, y) for x, y in
                                                 [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]]]}
    progress.update(task, advance=1, description="series: cotmask_cloud_mask")
    udps = published_udps()
    masks = run_graph_locally(call_graph("cotmask_cloud_mask", **base), out_dir, udps).transpose("t", "bands", "y", "x")
    progress.update(task, advance=1, description="series: cotmask_forest_composite")
    comp = run_graph_locally(call_graph("cotmask_forest_composite", **base, geometries=stand, buffer=1,
                                        scl_collection=str(collection),
                                        worldcover_collection=str(worldcover), worldcover_classes=[10]),
                             out_dir, udps).transpose("t", "bands", "y", "x")
    to_netcdf(comp, out_dir / "composite.nc")
    progress.update(task, advance=1, description="series: cotmask_scene_screening")
    screen = run_graph_locally(call_graph("cotmask_scene_screening", **base, geometries=stand, resolution=0), out_dir,
                               udps)
    table = screening_table(screen, max_cloud_fraction=0.1)
    table.to_csv(out_dir / "screening.csv", index=False)
    series_png = series_quicklook(dn, masks, out_dir / "series_quicklook.png")
    comp_png = composite_quicklook(comp, out_dir / "composite.png")
    return {"masks": masks, "scl": dn.sel(bands="SCL"), "screening": table,
            "files": [out_dir / "composite.nc", out_dir / "screening.csv", series_png, comp_png]}


def _rgb(cube: xr.DataArray, offset: float = 0.0, white: float = 0.15, gamma: float = 0.7) -> np.ndarray:
    """True colour (B04 B03 B02) from DN: reflectance stretched to ``white``, then a gamma."""
    refl = (np.stack([cube.sel(bands=b).values for b in ("B04", "B03", "B02")], -1).astype("float32") + offset) * DN_SCALE
    return np.clip(refl / white, 0, 1) ** gamma


def series_quicklook(dn: xr.DataArray, masks: xr.DataArray, path: Path) -> Path:
    """Per date of the series: true colour, cotmask classes and the SCL cloud mask."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    n = dn.sizes["t"]
    fig, ax = plt.subplots(3, n, figsize=(2.3 * n, 7.2), constrained_layout=True)
    cmap = ListedColormap(["#2a7f3f", "#f2c12e", "#ffffff"])
    for i in range(n):
        ax[0, i].imshow(_rgb(dn.isel(t=i)))
        ax[0, i].set_title(str(dn.t.values[i])[:10], fontsize=9)
        ax[1, i].imshow(masks.isel(t=i).sel(bands="cloud_class").values, cmap=cmap, vmin=-0.5, vmax=2.5,
                        interpolation="nearest")
        ax[2, i].imshow(dn.isel(t=i).sel(bands="SCL").isin(SCL_CLOUDY).values, cmap="gray", vmin=0, vmax=1)
    for a in ax.ravel():
        a.set_xticks([])
        a.set_yticks([])
    for row, label in enumerate(("true colour", "cotmask class", "SCL 8/9/10")):
        ax[row, 0].set_ylabel(label)
    fig.suptitle("generated L2A series over a synthetic forest (not observed data): "
                 "cotmask green clear / yellow thin / white opaque vs SCL", fontsize=9)
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return path


def composite_quicklook(comp: xr.DataArray, path: Path) -> Path:
    """Per period: the composite in true colour and its valid_count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = comp.sizes["t"]
    fig, ax = plt.subplots(2, n, figsize=(2.6 * n, 5.4), constrained_layout=True, squeeze=False)
    for i in range(n):
        rgb = _rgb(comp.isel(t=i))
        ax[0, i].imshow(np.where(np.isnan(rgb), 0.5, rgb))
        ax[0, i].set_title(f"median composite {str(comp.t.values[i])[:7]}", fontsize=8)
        im = ax[1, i].imshow(comp.isel(t=i).sel(bands="valid_count").values, vmin=0, vmax=2, cmap="viridis")
    fig.colorbar(im, ax=ax[1, :].tolist(), shrink=0.8, label="clear observations")
    for a in ax.ravel():
        a.set_xticks([])
        a.set_yticks([])
    fig.suptitle("cotmask_forest_composite: tree cover only\n(grey: no clear observation, not forest, or outside the stand)",
                 fontsize=9)
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return path


def run_demo(out_dir: Path, input_path: str | None = None, context: dict | None = None) -> dict[str, Path]:
    """Run the demo; returns the paths written."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console()
    out_dir.mkdir(parents=True, exist_ok=True)
    with Progress(console=console) as progress:
        task = progress.add_task("loading input", total=8)
        dn, credit = load_input(input_path)
        scl = dn.sel(bands="SCL") if "SCL" in dn.bands else None
        model_bands = [b for b in dn.bands.values.tolist() if b != "SCL"]
        collection = write_collection(dn.sel(bands=model_bands), out_dir / "input_collection.nc")
        progress.update(task, advance=1, description="running load_collection -> apply_dimension(UDF) locally")
        result = run_graph_locally(udf_graph(str(collection), model_bands, context).flat_graph(), out_dir)
        result = result.transpose("t", "bands", "y", "x")
        progress.update(task, advance=1, description="writing netCDF")
        nc = to_netcdf(result, out_dir / "cotmask.nc", {"source": credit, "produced_by": "cotmask demo",
                                                        **{k: str(v) for k, v in (context or {}).items()}})
        progress.update(task, advance=1, description="quicklooks")
        series = _series_part(out_dir, context or {}, progress, task)
        table = pd.concat([scene_table(result, scl).assign(scene="input scene"),
                           scene_table(series["masks"], series["scl"]).assign(scene="generated L2A series")])
        csv = out_dir / "scenes.csv"
        table.to_csv(csv, index=False)
        pngs = [quicklook(dn, result, i, out_dir / f"quicklook_{d}.png", f"cotmask on {d}", credit, scl)
                for i, d in enumerate(pd.to_datetime(result.t.values).strftime("%Y-%m-%d"))]
        progress.update(task, advance=1, description="done")
    console.print(table.to_string(index=False))
    console.print("scene screening (generated series, one stand):")
    console.print(series["screening"].to_string(index=False))
    files = [nc, csv, *pngs, *series["files"]]
    console.print("[bold]wrote[/bold] " + "\n      ".join(map(str, files)))
    return {p.name: p for p in files}
