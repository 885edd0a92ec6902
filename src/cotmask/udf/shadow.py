"""Cloud shadows from cotmask's cloud classes and the sun geometry (numpy + xarray only).

``cotmask.udf.build`` inlines this module into ``udf/cotmask_shadow_udf.py``, which an openEO backend runs
with ``apply_neighborhood`` (shadows need the neighbourhood: a cloud casts its shadow up to
``height x tan(sun zenith)`` away).

The method (Fmask's idea, with the whole search done by FFT correlation instead of a loop over heights):

1. *cloud*: cotmask class >= ``cloud_class`` (opaque by default); *dark*: clear pixels whose NIR (B08) and
   SWIR (B11) are both below ``darkness`` x the 80th percentile of the clear pixels of the same window (direct sun
   removed, only sky light left), and that are not water (B03 > B08).
2. For every displacement ``d`` within reach, the share of the clear pixels at ``cloud + d`` that are dark
   (two FFT correlations give it for all ``d`` at once). With sun (and view) angles the displacement lies on
   one ray, ``height x (tan(sun zenith) away from the sun - tan(view zenith) away from the sensor)``; without
   angles the best displacement over the whole disc gives the shadow direction: estimated from the scene.
3. The displacements along that ray that match at least half as well as the best (the cloud-top heights
   this window's clouds have) project the cloud; projected and dark is shadow. A window whose best match
   is below ``min_match`` (or under twice the dark share of all clear pixels) gets no shadow: dark pixels
   that no cloud explains (water, dark forest, burn scars) are never called shadow.

4. Each cloud object (4-connected, on the match's blocks) keeps, among the window's displacements, those where
   the pixels it lands on are at least half as often dark as at its own best: clouds at different heights in one
   window each cast their own shadow, not the union of all heights.
"""

import numpy as np
import xarray as xr

from ..core.bands import DN_SCALE, SHADOW_CLASS, band_labels, dn_to_reflectance  # udf_build: drop

SHADOW_BANDS = ("B03", "B08", "B11")
#: openEO band names of the per-pixel angles on CDSE / Sentinel Hub Sentinel-2 collections (degrees).
ANGLE_BANDS = {
    "sun_azimuth": "sunAzimuthAngles",
    "sun_zenith": "sunZenithAngles",
    "view_azimuth": "viewAzimuthMean",
    "view_zenith": "viewZenithMean",
}
#: Largest plausible view zenith (degrees): Sentinel-2's MSI looks at most about 12 degrees off nadir.
MAX_VIEW_ZENITH = 20.0
#: Valid range (low, high, whether high itself is valid) of each angle, in degrees.
ANGLE_RANGES = {
    "sun_azimuth": (0.0, 360.0, True),
    "sun_zenith": (0.0, 89.0, False),
    "view_azimuth": (0.0, 360.0, True),
    "view_zenith": (0.0, MAX_VIEW_ZENITH, True),
}
SHADOW_DEFAULTS = {
    "scale": DN_SCALE,
    "offset": 0.0,
    "nodata": 0.0,
    "resolution": None,
    "cloud_class": 2,
    "darkness": 0.5,
    "min_match": 0.3,
    "work_resolution": 60.0,
    "min_height": 200.0,
    "max_height": 8000.0,
    "max_sun_zenith": 70.0,
    "sun_azimuth": None,
    "sun_zenith": None,
    "view_azimuth": None,
    "view_zenith": None,
    "fold": 0,
}
#: What each shadow context key means (the generated UDF lists these in its header).
SHADOW_HELP = {
    "scale": "reflectance = (DN + offset) * scale, as for cotmask",
    "offset": "DN offset, as for cotmask",
    "nodata": "DN that marks nodata",
    "resolution": "pixel size in metres; null: from the x coordinates",
    "fold": f"0: output every input band plus band shadow; 1: every input band, shadowed (clear) pixels of cloud_class "
    f"set to {SHADOW_CLASS}",
    "cloud_class": "cotmask class that casts shadow: 2 opaque only, 1 thin and opaque",
    "darkness": "dark pixel: NIR and SWIR below this fraction of the clear pixels' reference brightness",
    "min_match": "least share of dark pixels at the projected clouds for a window to get shadows",
    "work_resolution": "block size in metres of the projection search",
    "min_height": "lowest cloud-top height searched (m)",
    "max_height": "highest cloud-top height searched (m)",
    "max_sun_zenith": "search reach without angles: the displacement at this sun zenith (degrees)",
    "sun_azimuth": "degrees; null: the angle band, else estimated from the scene",
    "sun_zenith": "degrees; null: the angle band, else estimated from the scene",
    "view_azimuth": "degrees; null: the angle band, else 0",
    "view_zenith": "degrees; null: the angle band, else 0",
}
#: apply_neighborhood window (pixels at the cube's resolution), one date at a time (t: P1D): the UDF sees SIZE +
#: 2 OVERLAP pixels a side, so at 10 m every pixel of the inner window sees clouds up to OVERLAP x 10 m = 5.12 km
#: up-sun: the shadow of a cloud top at height h lies h x tan(sun zenith) away, i.e. tops up to 4.3 km at sun zenith
#: 50 deg (Swedish summer), 3.0 km at 60 deg, 1.9 km at 70 deg (at 60 m, as in scene screening, six times more).
#: geotrellis buffers a window from its 8 neighbours (OpenEOProcesses.retileGeneric -> bufferTiles), so OVERLAP must
#: not exceed SIZE. A window is (SIZE + 2 OVERLAP)^2 / SIZE^2 = 2.25x its output pixels of numpy work (no model
#: inference) and 3072^2 x 4 bands x 4 bytes = 151 MB of input per date.
NEIGHBORHOOD_SIZE, NEIGHBORHOOD_OVERLAP = 2048, 512
#: How far up-sun a window must see, in metres (the overlap at 10 m); ``overlap_px`` turns it into pixels.
SHADOW_REACH_M = NEIGHBORHOOD_OVERLAP * 10.0


def overlap_px(resolution_m: float) -> int:
    """The apply_neighborhood overlap (px) that reaches ``SHADOW_REACH_M`` at ``resolution_m``: 512 at 10 m, 86 at
    60 m (geotrellis takes overlaps in pixels only: "only 'px' is currently supported", geopysparkdatacube.py)."""
    return min(NEIGHBORHOOD_SIZE, -(-int(SHADOW_REACH_M) // int(resolution_m)))


#: Percentile of the clear pixels' NIR and SWIR that stands for sunlit ground (``darkness`` is a fraction of it).
REFERENCE_PERCENTILE = 80.0
#: Fewest cloud pixels (and clear pixels at their displacement) for a match to count.
MIN_PIXELS = 20


def parse_shadow_context(context: dict | None) -> dict:
    """Shadow context with defaults; unknown keys and bad values raise ``ValueError`` naming the key."""
    context = dict(context or {})
    unknown = sorted(set(context) - set(SHADOW_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown shadow context keys {unknown}; allowed: {sorted(SHADOW_DEFAULTS)}")
    ctx = {**SHADOW_DEFAULTS, **{k: v for k, v in context.items() if v is not None}}
    for key, value in ctx.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError(f"shadow context {key} must be a number, got {value!r}")
        if value is not None and not np.isfinite(value):
            raise ValueError(f"shadow context {key} must be finite, got {value!r}")
    for key in ("resolution", "work_resolution", "scale"):
        if ctx[key] is not None and ctx[key] <= 0:
            raise ValueError(f"shadow context {key} must be positive, got {ctx[key]!r}")
    if not 0 <= ctx["min_match"] <= 1:
        raise ValueError(f"shadow context min_match must be within [0, 1] (a share of pixels), got {ctx['min_match']}")
    if not 0 < ctx["darkness"] < 1:
        raise ValueError(
            f"darkness must be within (0, 1) (a fraction of the clear pixels' {REFERENCE_PERCENTILE:g}th "
            f"percentile), got {ctx['darkness']}"
        )
    if ctx["fold"] not in (0, 1):
        raise ValueError(f"shadow context fold must be 0 or 1, got {ctx['fold']!r}")
    if ctx["cloud_class"] not in (1, 2):
        raise ValueError(
            f"cloud_class must be 1 (thin and opaque cloud cast shadow) or 2 (opaque only), got {ctx['cloud_class']}"
        )
    if not 0 <= ctx["min_height"] < ctx["max_height"] <= 20000:
        raise ValueError(f"need 0 <= min_height < max_height <= 20000 m, got {ctx['min_height']}, {ctx['max_height']}")
    if (ctx["sun_azimuth"] is None) != (ctx["sun_zenith"] is None):
        raise ValueError(
            "give both sun_azimuth and sun_zenith (degrees), or neither (direction estimated from the scene)"
        )
    check_angles(ctx, "context")
    return ctx


def check_angles(angles: dict, source: str) -> None:
    """Refuse implausible angles with a ``ValueError`` naming the value and the fix; the same rules for the context's
    angles (``source`` "context") and those read from the angle bands (``source`` "bands"): degrees, sun zenith
    within [0, 89), azimuths within [0, 360], view zenith within [0, ``MAX_VIEW_ZENITH``]. A sun zenith below 1.6
    with a sun azimuth below 6.3 is taken for radians and refused (a sun within 1.6 degrees of overhead and due
    north at overpass time is improbable; view angles in radians are not told apart: they shift a shadow by metres).
    ``angles``: keys of ``ANGLE_BANDS`` (others ignored), None or absent where not given."""
    bands = source == "bands"
    zenith, azimuth = angles.get("sun_zenith"), angles.get("sun_azimuth")
    if zenith is not None and azimuth is not None and 0 <= zenith < 1.6 and 0 <= azimuth < 6.3:
        what = (
            f"angle bands {ANGLE_BANDS['sun_zenith']} {zenith:g} and {ANGLE_BANDS['sun_azimuth']} {azimuth:g}"
            if bands
            else f"shadow context sun_zenith {zenith:g} and sun_azimuth {azimuth:g}"
        )
        raise ValueError(
            f"{what} look like radians: degrees are expected; {'convert the bands to' if bands else 'pass'} degrees "
            f"(here zenith {np.degrees(zenith):.1f}, azimuth {np.degrees(azimuth):.1f})"
        )
    for key, (low, high, closed) in ANGLE_RANGES.items():
        value = angles.get(key)
        if value is not None and not (low <= value <= high if closed else low <= value < high):
            band = f"{key} from angle band {ANGLE_BANDS[key]} (mean of its finite pixels)"
            what, fix = (
                (band, "fix the band (degrees) or leave the angle bands out")
                if bands
                else (f"context {key}", "pass degrees in that range")
            )
            raise ValueError(
                f"shadow {what} must be within [{low:g}, {high:g}{']' if closed else ')'} degrees, got {value:g}; {fix}"
            )


def finite_mean(values: np.ndarray) -> float | None:
    """Mean of the finite values (a partly NaN angle band counts where it is finite); None where none is finite."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    return float(finite.mean()) if finite.size else None


def window_angles(band_angles: dict, ctx: dict) -> dict | None:
    """Angles (degrees) for one window: per pair (sun, view), the angle bands' means over their finite pixels take
    precedence (checked by ``check_angles``); a pair with a band absent or wholly NaN comes from the context. None
    without sun angles: the shadow direction is then estimated from the scene."""
    angles: dict = {}
    for pair in (("sun_azimuth", "sun_zenith"), ("view_azimuth", "view_zenith")):
        if all(band_angles.get(k) is not None for k in pair):
            check_angles({k: band_angles[k] for k in pair}, "bands")
            angles.update({k: band_angles[k] for k in pair})
        else:
            angles.update({k: ctx[k] for k in pair if ctx[k] is not None})
    return angles if {"sun_azimuth", "sun_zenith"} <= set(angles) else None


def ground_direction(azimuth: float) -> np.ndarray:
    """Unit (dy, dx) in image rows/columns (rows grow southwards) of a compass ``azimuth`` in degrees."""
    a = np.radians(azimuth)
    return np.array([-np.cos(a), np.sin(a)])


def shadow_step(
    sun_azimuth: float, sun_zenith: float, view_azimuth: float = 0.0, view_zenith: float = 0.0
) -> np.ndarray:
    """(dy, dx) in metres per metre of cloud height from a cloud's *apparent* position to its shadow: the shadow
    lies ``tan(sun zenith)`` away from the sun; the cloud appears ``tan(view zenith)`` away from the sensor."""
    away_sun = np.tan(np.radians(sun_zenith)) * ground_direction(sun_azimuth + 180.0)
    away_view = np.tan(np.radians(view_zenith)) * ground_direction(view_azimuth + 180.0)
    return away_sun - away_view


def _correlate(a: np.ndarray, b: np.ndarray, reach: int) -> np.ndarray:
    """sum_p a[p] * b[p + d] for every d with |dy|, |dx| <= reach, as a (2 reach + 1)^2 array centred on d = 0."""
    shape = (a.shape[0] + reach, a.shape[1] + reach)
    fa = np.fft.rfft2(a.astype(np.float32), s=shape)
    fb = np.fft.rfft2(b.astype(np.float32), s=shape)
    full = np.fft.irfft2(np.conj(fa) * fb, s=shape)
    rows = np.r_[shape[0] - reach : shape[0], 0 : reach + 1]
    cols = np.r_[shape[1] - reach : shape[1], 0 : reach + 1]
    return np.rint(full[np.ix_(rows, cols)])


#: The 3 x 3 neighbourhood as displacements (widening by one pixel or block).
AROUND = [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)]


def _shifted(a: np.ndarray, shift: tuple[int, int]) -> np.ndarray:
    """``a`` moved by (rows, cols), zero-filled; what leaves the array is lost."""
    dy, dx = shift
    out = np.zeros_like(a)
    h, w = a.shape
    if abs(dy) < h and abs(dx) < w:
        out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = a[
            max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
        ]
    return out


def displace(cloud: np.ndarray, shifts: list[tuple[int, int]]) -> np.ndarray:
    """Union of the boolean ``cloud`` shifted by each (rows, cols); what leaves the array is lost."""
    out = np.zeros_like(cloud)
    for shift in shifts:
        out |= _shifted(cloud, shift)
    return out


def label_objects(mask: np.ndarray) -> np.ndarray:
    """4-connected components of a boolean mask as int32 labels 1..n (0 outside), with numpy only: each pixel
    takes the smallest label among itself and its neighbours, then jumps to the label its label points at."""
    big = np.iinfo(np.int32).max
    lab = np.where(mask, np.arange(1, mask.size + 1, dtype=np.int32).reshape(mask.shape), big)
    while True:
        new = lab.copy()
        np.minimum(new[1:], lab[:-1], out=new[1:])
        np.minimum(new[:-1], lab[1:], out=new[:-1])
        np.minimum(new[:, 1:], lab[:, :-1], out=new[:, 1:])
        np.minimum(new[:, :-1], lab[:, 1:], out=new[:, :-1])
        new[~mask] = big
        flat = new.ravel()
        inside = flat != big
        flat[inside] = flat[flat[inside] - 1]  # a label is (flat index + 1) of a pixel of the same object
        if np.array_equal(new, lab):
            break
        lab = new
    out = np.zeros(mask.shape, np.int32)
    out[mask] = np.unique(lab[mask], return_inverse=True)[1].ravel() + 1
    return out


def _per_object(
    cloud: np.ndarray, dark: np.ndarray, clear: np.ndarray, candidates: list[tuple[int, int]]
) -> list[tuple[tuple[int, int], np.ndarray]]:
    """Each cloud object's own displacements among the window's ``candidates``: those where the dark share of
    the clear pixels it lands on is at least half its best (a cloud top has one height); an object with too
    few clear pixels under its candidates to judge (shadow on cloud, water, outside) keeps them all.
    Returns (displacement, the cloud pixels displaced by it) pairs."""
    labels = label_objects(cloud)
    n = int(labels.max())
    hits = np.zeros((len(candidates), n + 1))
    tries = np.zeros((len(candidates), n + 1))
    for i, shift in enumerate(candidates):
        moved = _shifted(labels, shift)  # at each pixel: the object whose cloud would cast a shadow there
        sel = clear & (moved > 0)
        tries[i] = np.bincount(moved[sel], minlength=n + 1)
        hits[i] = np.bincount(moved[sel & dark], minlength=n + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(tries >= MIN_PIXELS, hits / tries, np.nan)
    best = np.nanmax(np.where(np.isnan(score), -1.0, score), axis=0)
    judged = best >= 0
    use = (score >= 0.5 * best) | ~judged  # (candidate, object)
    return [
        (shift, np.isin(labels, np.flatnonzero(use[i, 1:]) + 1))
        for i, shift in enumerate(candidates)
        if use[i, 1:].any()
    ]


def _blocks(a: np.ndarray, f: int, phase: tuple[int, int]) -> np.ndarray:
    """True where at least half of an f x f block is True; blocks start ``phase`` (rows, cols) pixels before the
    array (the padding counts as False)."""
    h, w = -(-(a.shape[0] + phase[0]) // f) * f, -(-(a.shape[1] + phase[1]) // f) * f
    if (h, w) == a.shape:
        padded = a.view(np.uint8)
    else:
        padded = np.zeros((h, w), np.uint8)
        padded[phase[0] : phase[0] + a.shape[0], phase[1] : phase[1] + a.shape[1]] = a
    counts = padded.reshape(h // f, f, w // f, f).sum(axis=(1, 3), dtype=np.uint16)
    return 2 * counts >= f * f


def dark_pixels(
    b03: np.ndarray,
    b08: np.ndarray,
    b11: np.ndarray,
    clear: np.ndarray,
    darkness: float,
    take: tuple = (slice(None), slice(None)),
) -> np.ndarray:
    """Clear pixels dark enough in NIR (B08) and SWIR (B11) to be shadow: both below ``darkness`` x the
    ``REFERENCE_PERCENTILE`` of the clear pixels (sampled at ``take``), and not water (B03 > B08)."""
    with np.errstate(invalid="ignore"):
        ref08, ref11 = (np.percentile(b[take][clear[take]], REFERENCE_PERCENTILE) for b in (b08, b11))
        return clear & (b08 < darkness * ref08) & (b11 < darkness * ref11) & ~(b03 > b08)


def _match(
    cloud: np.ndarray, dark: np.ndarray, clear: np.ndarray, resolution: float, ctx: dict, angles: dict | None
) -> tuple[list[tuple[int, int]], dict]:
    """The displacements (pixels) from cloud to shadow that this window's dark pixels support, and what matched."""
    info = {"matched": False, "estimated": angles is None, "score": 0.0}
    if angles is not None:
        step = (
            shadow_step(
                angles["sun_azimuth"],
                angles["sun_zenith"],
                angles.get("view_azimuth") or 0.0,
                angles.get("view_zenith") or 0.0,
            )
            / resolution
        )  # pixels per metre of height
    else:
        step = np.tan(np.radians(ctx["max_sun_zenith"])) * np.array([1.0, 0.0]) / resolution
    # beyond half the window a displacement keeps too few clouds inside it to be scored (see MIN_PIXELS below)
    reach = int(min(np.ceil(ctx["max_height"] * np.hypot(*step)), max(cloud.shape) // 2))
    if reach < 1:
        return [], info
    hits = _correlate(cloud, dark, reach)
    tries = _correlate(cloud, clear, reach)
    with np.errstate(invalid="ignore", divide="ignore"):
        # a displacement that leaves most clouds outside the window says little: at least a fifth must stay
        score = np.where(tries >= max(MIN_PIXELS, 0.2 * cloud.sum()), hits / tries, 0.0)
    if angles is None:  # the best displacement in the disc gives the direction
        dy, dx = np.mgrid[-reach : reach + 1, -reach : reach + 1]
        dist = np.hypot(dy, dx)
        cand = np.where((dist <= reach) & (dist >= 2), score, 0.0)  # not the dark rim right at cloud edges
        iy, ix = np.unravel_index(np.argmax(cand), cand.shape)
        if cand[iy, ix] <= 0:
            return [], info
        step = np.array([iy - reach, ix - reach], float) / np.hypot(iy - reach, ix - reach)  # unit, per pixel
        lengths = np.arange(1, reach + 1, dtype=float)
    else:
        lengths = np.arange(ctx["min_height"], ctx["max_height"] + 1, 1.0 / max(np.hypot(*step), 1e-9) / 2)
    ray = sorted({(int(round(v * step[0])), int(round(v * step[1]))) for v in lengths})
    ray = [(a, b) for a, b in ray if max(abs(a), abs(b)) <= reach and (a, b) != (0, 0)]
    if not ray:
        return [], info
    along = np.array([score[a + reach, b + reach] for a, b in ray])
    best, base = float(along.max()), float(dark.sum() / max(clear.sum(), 1))
    info.update(score=best, dark_share=base, direction_deg=float(np.degrees(np.arctan2(step[1], -step[0])) % 360))
    if best < ctx["min_match"] or best < 2 * base:
        return [], info
    chosen = [d for d, s in zip(ray, along) if s >= 0.5 * best]
    lengths_px = [np.hypot(a, b) for a, b in chosen]
    info.update(matched=True, shift_m=(float(min(lengths_px)) * resolution, float(max(lengths_px)) * resolution))
    return chosen, info


def shadow_mask(
    b03: np.ndarray,
    b08: np.ndarray,
    b11: np.ndarray,
    cloud_class: np.ndarray,
    resolution: float,
    ctx: dict | None = None,
    angles: dict | None = None,
    origin: tuple[float, float] = (0.0, 0.0),
) -> tuple[np.ndarray, dict]:
    """Shadow (1), no shadow (0), NaN nodata for one 2-D window of reflectance and cotmask classes.

    ``resolution``: pixel size in metres. ``angles``: sun_azimuth/sun_zenith (and view_*) in degrees, or
    None to estimate the direction from the scene. The match runs on blocks of ``work_resolution``
    (cheap, and as good: shadows are larger than that), the dark test at full resolution. ``origin``: map
    coordinates of the first row and column, counted in the array's direction (-y where rows go south): the
    blocks sit on a grid fixed in map coordinates, so overlapping windows (apply_neighborhood) agree wherever
    they see the same pixels. Returns the mask and what was matched (direction, displacement range in
    metres, score).
    """
    ctx = parse_shadow_context(ctx)
    valid = np.isfinite(b03) & np.isfinite(b08) & np.isfinite(b11) & np.isfinite(cloud_class)
    out = np.where(valid, np.float32(0), np.float32(np.nan))
    with np.errstate(invalid="ignore"):
        cloud = valid & (cloud_class >= ctx["cloud_class"])
        clear = valid & (cloud_class < 1)
    if cloud.sum() < MIN_PIXELS or clear.sum() < MIN_PIXELS:
        return out, {"matched": False, "estimated": angles is None, "score": 0.0}
    k = ctx["darkness"]
    f = max(1, int(round(ctx["work_resolution"] / resolution)))
    phase = tuple(int(np.floor(o / resolution + 0.5)) % f for o in origin)
    # reference: the sunlit surfaces, even where shadows are half the clear pixels; from the first pixel of each
    # block (a map-fixed sample, 1/f^2 of the pixels: enough for a percentile, whatever pixel the window starts at)
    take = tuple(slice((f - p) % f, None, f) for p in phase)
    if clear[take].sum() < MIN_PIXELS:
        take = (slice(None), slice(None))
    dark = dark_pixels(b03, b08, b11, clear, k, take)
    coarse = [_blocks(a, f, phase) for a in (cloud, dark, clear)]
    chosen, info = _match(*coarse, resolution * f, ctx, angles)
    if not chosen:
        return out, info
    # each cloud object its own heights among the window's; then widened by one block: the estimated direction is
    # good to a few degrees, given angles are per-scene means, and the model's cloud edge is not the true one
    projected = np.zeros_like(coarse[0])
    for shift, objects in _per_object(*coarse, chosen):
        projected |= displace(objects, [(shift[0] + a, shift[1] + b) for a, b in AROUND])
    if f > 1:  # back to full resolution, one block wider: the blocks blur the cloud edge by up to a block
        projected = displace(projected, AROUND)
        projected = np.repeat(np.repeat(projected, f, axis=0), f, axis=1)
        projected = projected[phase[0] : phase[0] + cloud.shape[0], phase[1] : phase[1] + cloud.shape[1]]
    out[dark & projected] = 1.0
    return out, info


def _resolution(cube: xr.DataArray, ctx: dict) -> float:
    if ctx["resolution"] is not None:
        return float(ctx["resolution"])
    if "x" in cube.coords and cube.sizes.get("x", 0) > 1:
        res = float(abs(cube["x"].values[1] - cube["x"].values[0]))
        if res >= 1.0:
            return res
        raise ValueError(
            f"x coordinates step {res}: not metres (geographic CRS?); pass the pixel size in metres "
            "as context 'resolution'"
        )
    raise ValueError("cannot tell the pixel size: the cube has no x coordinates; pass context 'resolution' (metres)")


def shadow_cube(cube: xr.DataArray, context: dict | None = None) -> xr.DataArray:
    """The cube with cloud shadows: every input band plus band ``shadow`` (1 shadow, 0 not, NaN nodata), or with context
    ``fold`` 1 every input band with shadowed pixels of ``cloud_class`` (clear ground: ``dark_pixels``) set to
    ``SHADOW_CLASS``. Needs
    bands B03, B08, B11 (DN with context scale/offset/nodata, or reflectance with scale 1), cloud_class (cotmask's)
    and, where present, the angle bands ``ANGLE_BANDS``; dims (..., bands, y, x). Context: ``SHADOW_DEFAULTS``. Angles,
    per window: the bands' means over their finite pixels before the context's, checked alike (``window_angles``,
    ``check_angles``)."""
    ctx = parse_shadow_context(context)
    bdim = next((str(d) for d in cube.dims if str(d).lower() in ("bands", "band")), None)
    if bdim is None or "y" not in cube.dims or "x" not in cube.dims:
        raise ValueError(f"shadows need a cube with dims bands, y, x (got {list(cube.dims)})")
    labels = band_labels(cube[bdim].values)  # a band under two labels is refused, as in the cloud-mask UDF
    missing = [b for b in (*SHADOW_BANDS, "cloud_class") if b not in labels]
    if missing:
        raise ValueError(
            f"cube lacks bands {missing} needed for shadows (has {list(labels)}); run cotmask first "
            "for cloud_class and keep B03, B08, B11"
        )
    res = _resolution(cube, ctx)
    order = cube.dims
    cube = cube.transpose(..., bdim, "y", "x")
    lead = cube.shape[:-3]
    values = np.array(cube.values, dtype=np.float32)  # a copy: folding must not change the caller's cube
    shadow = np.full((*lead, 1, *cube.shape[-2:]), np.nan, dtype=np.float32)
    for idx in np.ndindex(*lead):
        window = cube[idx] if lead else cube

        def band(name: str) -> np.ndarray:
            return np.asarray(window.sel({bdim: labels[name]}).values)

        refl = [dn_to_reflectance(band(b), ctx["scale"], ctx["offset"], ctx["nodata"]) for b in SHADOW_BANDS]
        angles = window_angles({k: finite_mean(band(v)) for k, v in ANGLE_BANDS.items() if v in labels}, ctx)
        # the pixel index of the first row/column on a map-fixed grid (rows count down when y descends)
        origin = tuple(
            float(cube[d].values[0]) * (-1.0 if d == "y" and cube[d].values[-1] < cube[d].values[0] else 1.0)
            if d in cube.coords
            else 0.0
            for d in ("y", "x")
        )
        mask, _ = shadow_mask(*refl, band("cloud_class").astype(np.float32), res, ctx, angles, origin)
        shadow[idx] = mask[None]
    coords = {k: v for k, v in cube.coords.items() if bdim not in v.dims}
    names = [str(b) for b in cube[bdim].values]
    attrs = {"shadow_darkness": ctx["darkness"], "shadow_cloud_class": ctx["cloud_class"]}
    if ctx["fold"]:
        k = names.index(labels["cloud_class"])
        cls = values[..., k, :, :]
        with np.errstate(invalid="ignore"):
            cls[(shadow[..., 0, :, :] == 1) & (cls == 0)] = SHADOW_CLASS  # shadows are found on clear ground only
        out = xr.DataArray(values, dims=cube.dims, coords={**coords, bdim: names}, attrs=attrs)
    else:
        data = np.concatenate([values, shadow], axis=-3)
        out = xr.DataArray(data, dims=cube.dims, coords={**coords, bdim: [*names, "shadow"]}, attrs=attrs)
    return out.transpose(*order)
