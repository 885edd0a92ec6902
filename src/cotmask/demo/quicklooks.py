"""The demo's pictures, each readable without the README: legends for classes and masks, colour bars with units.

matplotlib only (Agg backend); inputs are DN cubes (t, bands, y, x) and cotmask results.
"""

from pathlib import Path

import numpy as np
import xarray as xr

from ..core.bands import dn_to_reflectance

SCL_CLOUDY = (8, 9, 10)  # cloud medium / high probability, thin cirrus
#: Class colours: nodata shows the panel background (grey), so no class may be grey or white.
CLASS_COLOURS = {"clear": "#2a7f3f", "thin": "#f2c12e", "opaque": "#d7301f"}
SHADOW_COLOUR = "#2b59c3"
NODATA_GREY = "#9a9a9a"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def rgb(cube: xr.DataArray, offset: float = 0.0, white: float = 0.15, gamma: float = 0.7) -> np.ndarray:
    """True colour (B04 B03 B02) from DN: reflectance stretched to ``white``, then a gamma; NaN where nodata."""
    refl = dn_to_reflectance(
        np.stack([cube.sel(bands=b).values for b in ("B04", "B03", "B02")], -1), offset=offset, nodata=None
    )
    return np.clip(refl / white, 0, 1) ** gamma


def _patches(items: dict[str, str]):
    from matplotlib.patches import Patch

    return [Patch(facecolor=c, edgecolor="black", linewidth=0.5, label=k) for k, c in items.items()]


def _classes(ax, cls: np.ndarray, legend: bool = True) -> None:
    from matplotlib.colors import ListedColormap

    ax.set_facecolor(NODATA_GREY)
    ax.imshow(cls, cmap=ListedColormap(list(CLASS_COLOURS.values())), vmin=-0.5, vmax=2.5, interpolation="nearest")
    if legend:
        ax.legend(
            handles=_patches({**CLASS_COLOURS, "nodata": NODATA_GREY}),
            loc="lower center",
            ncol=4,
            fontsize=7,
            bbox_to_anchor=(0.5, -0.12),
            frameon=False,
        )


def _bare(axes) -> None:
    for a in np.ravel(axes):
        a.set_xticks([])
        a.set_yticks([])


def quicklook(
    dn: xr.DataArray,
    result: xr.DataArray,
    date_index: int,
    path: Path,
    title: str,
    credit: str,
    scl: xr.DataArray | None = None,
) -> Path:
    """Five panels for one date: true colour | COT | classes | SCL cloud mask (or the B10 cirrus band) | the
    out-of-distribution score (where the model extrapolates; when ``result`` has an ``ood`` band)."""
    plt = _plt()
    offset = float(dn.attrs.get("radiometric_offset", 0))
    day = dn.isel(t=date_index)
    refl = day.copy(data=dn_to_reflectance(day.values, offset=offset, nodata=None))
    r = result.isel(t=date_index)
    fig, ax = plt.subplots(1, 5, figsize=(21, 5.6), constrained_layout=True)
    ax[0].imshow(rgb(dn.isel(t=date_index), offset, white=0.3, gamma=1 / 1.5))  # bright clouds: a wide stretch
    ax[0].set_title("true colour (B04 B03 B02)")
    im = ax[1].imshow(r.sel(bands="cot").values, cmap="magma", vmin=0, vmax=10)
    fig.colorbar(im, ax=ax[1], shrink=0.7, label="cloud optical thickness (COT)", extend="max")
    ax[1].set_title("cotmask COT")
    _classes(ax[2], r.sel(bands="cloud_class").values)
    th = {k: result.attrs.get(f"{k}_threshold") for k in ("thin", "opaque")}
    ax[2].set_title(
        "cotmask class"
        + (f" (thin: COT ≥ {th['thin']:g}, opaque: ≥ {th['opaque']:g})" if None not in th.values() else ""),
        fontsize=10,
    )
    if scl is not None:
        ax[3].imshow(scl.isel(t=date_index).isin(SCL_CLOUDY).values, cmap="gray", vmin=0, vmax=1)
        ax[3].set_title("SCL cloud mask")
        ax[3].legend(
            handles=_patches({"SCL 8/9/10 (cloud, cirrus)": "white", "other SCL": "black"}),
            loc="lower center",
            fontsize=7,
            bbox_to_anchor=(0.5, -0.12),
            ncol=2,
            frameon=False,
        )
    elif "B10" in refl.bands:
        im = ax[3].imshow(refl.sel(bands="B10").values, cmap="Blues_r", vmin=0, vmax=0.03)
        fig.colorbar(im, ax=ax[3], shrink=0.7, label="B10 TOA reflectance (cirrus band, 1375 nm)", extend="max")
        ax[3].set_title("no SCL in input: B10 cirrus band")
    else:
        ax[3].set_title("no SCL and no B10 in input")
    if "ood" in result.bands.values:
        ood = r.sel(bands="ood").values
        im = ax[4].imshow(ood, cmap="viridis", vmin=0, vmax=2)
        fig.colorbar(
            im,
            ax=ax[4],
            shrink=0.7,
            extend="max",
            label="distance to the training data (1: 99th percentile of training samples)",
        )
        ax[4].set_title(f"out of distribution: {np.nanmean(ood > 1):.1%} of pixels > 1")
    _bare(ax)
    fig.suptitle(f"{title}\n{credit}", fontsize=9)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def series_quicklook(dn: xr.DataArray, masks: xr.DataArray, path: Path) -> Path:
    """Per date of the series: true colour, cotmask classes (cloud shadow in blue where ``masks`` has a ``shadow``
    band) and the SCL cloud mask, with legends."""
    from matplotlib.colors import to_rgba_array

    plt = _plt()
    n = dn.sizes["t"]
    fig, ax = plt.subplots(3, n, figsize=(2.3 * n, 7.8), constrained_layout=True)
    for i in range(n):
        ax[0, i].imshow(rgb(dn.isel(t=i)))
        ax[0, i].set_title(str(dn.t.values[i])[:10], fontsize=9)
        _classes(ax[1, i], masks.isel(t=i).sel(bands="cloud_class").values, legend=False)
        if "shadow" in masks.bands.values:
            shadow = masks.isel(t=i).sel(bands="shadow").values == 1
            ax[1, i].imshow(np.where(shadow[..., None], to_rgba_array(SHADOW_COLOUR)[0], 0.0), interpolation="nearest")
        ax[2, i].imshow(dn.isel(t=i).sel(bands="SCL").isin(SCL_CLOUDY).values, cmap="gray", vmin=0, vmax=1)
    _bare(ax)
    for row, label in enumerate(("true colour", "cotmask class", "SCL 8/9/10")):
        ax[row, 0].set_ylabel(label)
    fig.legend(
        handles=_patches(
            {
                **{f"cotmask {k}": c for k, c in CLASS_COLOURS.items()},
                "cotmask cloud shadow": SHADOW_COLOUR,
                "nodata": NODATA_GREY,
                "SCL cloud/cirrus (8, 9, 10)": "white",
                "SCL other": "black",
            }
        ),
        loc="lower center",
        ncol=7,
        fontsize=8,
        frameon=False,
        bbox_to_anchor=(0.5, -0.04),
    )
    fig.suptitle(
        "generated L2A series over a synthetic forest (not observed data): cotmask vs the SCL-like band", fontsize=9
    )
    fig.savefig(path, dpi=70, bbox_inches="tight")
    plt.close(fig)
    return path


def composite_quicklook(comp: xr.DataArray, path: Path, reducer: str = "median") -> Path:
    """Per period: the composite in true colour and its valid_count (a discrete colour bar)."""
    from matplotlib.colors import BoundaryNorm

    plt = _plt()
    n = comp.sizes["t"]
    counts = comp.sel(bands="valid_count")
    top = max(1, int(np.nanmax(counts.values)))
    cmap = plt.get_cmap("viridis", top + 1)
    norm = BoundaryNorm(np.arange(-0.5, top + 1.5), cmap.N)
    fig, ax = plt.subplots(2, n, figsize=(2.6 * n + 1, 5.4), constrained_layout=True, squeeze=False)
    for i in range(n):
        img = rgb(comp.isel(t=i))
        ax[0, i].imshow(np.where(np.isnan(img), 0.6, img))
        ax[0, i].set_title(f"{reducer} composite {str(comp.t.values[i])[:7]}", fontsize=8)
        im = ax[1, i].imshow(counts.isel(t=i).values, cmap=cmap, norm=norm, interpolation="nearest")
    fig.colorbar(im, ax=ax[1, :].tolist(), shrink=0.8, ticks=range(top + 1), label="clear observations (count)")
    _bare(ax)
    fig.suptitle(
        "cotmask_forest_composite: tree cover only\n(grey: no clear observation, not forest, or outside the stand)",
        fontsize=9,
    )
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return path
