"""``cotmask demo``: the demo run (``run``), its pictures (``quicklooks``) and CF netCDF files (``netcdf``)."""
