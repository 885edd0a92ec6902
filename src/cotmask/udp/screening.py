"""Client side of scene screening: the aggregate_spatial result as a DataFrame sorted by usability."""

import pandas as pd
import xarray as xr


def screening_table(result: xr.DataArray | pd.DataFrame, max_cloud_fraction: float = 0.1,
                    min_valid_fraction: float = 0.5) -> pd.DataFrame:
    """One row per polygon and date: cloudy/opaque/valid fractions and a ``usable`` flag, best first.

    ``result``: the local engine's vector cube (dims geometry/t/bands) or a backend's table with
    columns for date, polygon and the three bands. ``usable``: cloudy_fraction <= max_cloud_fraction
    and valid_fraction >= min_valid_fraction.
    """
    if not 0 <= max_cloud_fraction <= 1:
        raise ValueError(f"max_cloud_fraction must be within [0, 1], got {max_cloud_fraction}")
    if isinstance(result, xr.DataArray):
        gdim = next(d for d in result.dims if d not in ("t", "bands"))
        df = (result.drop_vars([c for c in result.coords if c not in ("t", "bands")])
              .assign_coords({gdim: range(result.sizes[gdim])})
              .to_dataset("bands").to_dataframe().reset_index().rename(columns={gdim: "polygon", "t": "date"}))
    else:
        df = result.rename(columns={"feature_index": "polygon", "t": "date"}).copy()
    df["usable"] = (df["cloudy_fraction"] <= max_cloud_fraction) & (df["valid_fraction"] >= min_valid_fraction)
    return df.sort_values(["usable", "cloudy_fraction", "date"], ascending=[False, True, True]).reset_index(drop=True)
