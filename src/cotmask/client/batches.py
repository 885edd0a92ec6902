"""Many polygons in requests a backend accepts: split a GeoDataFrame into batches below the request-body limit and
run each as a batch job."""

import json

from ..udp.backend import MAX_REQUEST_BYTES, REQUEST_OVERHEAD_BYTES
from .examples import udp_cube


def geometry_batches(geometries, max_bytes: int = MAX_REQUEST_BYTES) -> list:
    """``geometries`` (a GeoDataFrame in any CRS) split, in order, into GeoDataFrames whose GeoJSON (WGS84) fits a
    request of ``max_bytes`` with the call around it. A single polygon too large alone raises ``ValueError``."""
    wgs84 = geometries.to_crs("EPSG:4326")
    room = max_bytes - REQUEST_OVERHEAD_BYTES - 64 * 1024  # the other arguments (extents, dates, bands)
    sizes = [len(json.dumps(f)) + 2 for f in wgs84.__geo_interface__["features"]]  # as the openeo client sends it
    batches, start, used = [], 0, 0
    for i, size in enumerate(sizes):
        if size > room:
            raise ValueError(f"polygon {i} alone is {size / 2**20:.1f} MiB of GeoJSON: simplify it first")
        if used + size > room:
            batches.append(wgs84.iloc[start:i])
            start, used = i, 0
        used += size
    batches.append(wgs84.iloc[start:])
    return [b for b in batches if len(b)]


def run_in_batches(connection, process_id: str, geometries, namespace: str, title: str, **arguments) -> list:
    """One started batch job per batch of ``geometries`` (``geometry_batches``), each calling the UDP
    ``process_id`` with ``arguments``; returns the jobs (their results: ``job.get_results()`` once finished)."""
    jobs = []
    batches = geometry_batches(geometries)
    for i, batch in enumerate(batches):
        cube = udp_cube(process_id, namespace, connection, geometries=batch, **arguments)
        job = cube.create_job(title=f"{title} ({i + 1}/{len(batches)})")
        job.start()
        jobs.append(job)
    return jobs
