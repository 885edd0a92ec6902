"""``cotmask demo``: run the cotmask graph locally on a real Sentinel-2 scene and write the results.

Outputs in the output folder: ``cotmask.nc`` (cot, cot_std, cloud_class), ``scenes.csv`` (per
date: cloudy fractions by cotmask and by the SCL rule where SCL exists) and ``quicklook_<date>.png``
(true colour | COT | classes | SCL-based mask, or the B10 cirrus band where the input has no SCL).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .data import S2CLOUDLESS_CREDIT, s2cloudless_cube, to_dn, write_collection
from .local import run_graph_locally, udf_cube_graph

SCL_CLOUDY = (8, 9, 10)  # cloud medium / high probability, thin cirrus


def load_input(path: str | Path | None) -> tuple[xr.DataArray, str]:
    """The demo cube in DN form (t, bands, y, x) and a credit line: a netCDF collection or the real sample."""
    if path is None:
        return to_dn(s2cloudless_cube()), S2CLOUDLESS_CREDIT
    ds = xr.open_dataset(path)
    cube = ds[[v for v in ds.data_vars if v not in ("crs", "spatial_ref")]].to_array("bands")
    dims = [d for d in ("t", "bands", "y", "x") if d in cube.dims]
    return cube.transpose(*dims).load(), str(ds.attrs.get("source", path))


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

    d = dn.isel(t=date_index).astype("float32") * 1e-4 + float(dn.attrs.get("radiometric_offset", 0)) * 1e-4
    rgb = np.clip(np.stack([d.sel(bands=b).values for b in ("B04", "B03", "B02")], -1) / 0.3, 0, 1) ** (1 / 1.5)
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


def run_demo(out_dir: Path, input_path: str | None = None, context: dict | None = None) -> dict[str, Path]:
    """Run the demo; returns the paths written."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console()
    out_dir.mkdir(parents=True, exist_ok=True)
    with Progress(console=console) as progress:
        task = progress.add_task("loading input", total=5)
        dn, credit = load_input(input_path)
        scl = dn.sel(bands="SCL") if "SCL" in dn.bands else None
        model_bands = [b for b in dn.bands.values.tolist() if b != "SCL"]
        collection = write_collection(dn.sel(bands=model_bands), out_dir / "input_collection.nc")
        progress.update(task, advance=1, description="running load_collection -> apply_dimension(UDF) locally")
        result = run_graph_locally(udf_cube_graph(collection, model_bands, context or {}), out_dir)
        result = result.transpose("t", "bands", "y", "x")
        progress.update(task, advance=1, description="writing netCDF")
        ds = result.to_dataset("bands")
        ds.attrs = {"source": credit, "produced_by": "cotmask demo", **{k: str(v) for k, v in (context or {}).items()}}
        nc = out_dir / "cotmask.nc"
        ds.to_netcdf(nc)
        progress.update(task, advance=1, description="scene table")
        table = scene_table(result, scl)
        csv = out_dir / "scenes.csv"
        table.to_csv(csv, index=False)
        progress.update(task, advance=1, description="quicklooks")
        pngs = [quicklook(dn, result, i, out_dir / f"quicklook_{d}.png", f"cotmask on {d}", credit, scl)
                for i, d in enumerate(table["date"])]
        progress.update(task, advance=1, description="done")
    console.print(table.to_string(index=False))
    console.print(f"[bold]wrote[/bold] {nc}\n      {csv}\n      " + "\n      ".join(map(str, pngs)))
    return {"netcdf": nc, "table": csv, **{f"png{i}": p for i, p in enumerate(pngs)}}
