"""Generate the self-contained UDF files in udf/ from the package modules and models/.

    cotmask build          # rewrites udf/*.py (and graphs/, records/); tests fail when they drift
    python -m cotmask.udf.build --checksums   # records models/SHA256SUMS after retraining the models on purpose

Each file reads top-down: a header (what it does, its input, output and context keys with their defaults),
the imports (numpy, xarray, the standard library; onnxruntime when installed), the openEO entry points
(``apply_datacube``, ``apply_metadata``), then the package modules it runs, inlined, and the embedded ONNX
models (xz + base85, each beside its SHA-256, which the UDF checks after decoding) last. Each model is checked
against models/SHA256SUMS before it is embedded. A UDF inlines only the modules it runs. The package reads the UDF
text with ``udf_text`` (``importlib.resources``): an installed wheel carries udf/ as ``cotmask/_udf``, so graphs can
be built without a checkout.
"""

import argparse
import ast
import base64
import lzma
import sys
import textwrap
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

from ..core.shipped import REPO, compact_path, model_dir, model_path, sha256, verified_bytes, write_checksums

PACKAGE = Path(__file__).resolve().parents[1]
#: (level, kind) -> where the UDF takes the model from: the ensembles as their float16 copies
#: (models/*_fp16.onnx, half the size; the card shows what that costs), the distilled models as shipped.
ALL_MODELS = (
    ("L1C", "ensemble"),
    ("L2A", "ensemble"),
    ("L1C", "distilled"),
    ("L2A", "distilled"),
    ("L1C", "distilled_nob09"),
    ("L2A", "distilled_nob09"),
)
#: What the process graphs carry: the distilled models (the default). A published UDP must stay below 512 KiB,
#: and the L2A ensemble beside them would not fit; the ensembles run from udf/cotmask_udf.py.
GRAPH_MODELS = (("L1C", "distilled"), ("L2A", "distilled"), ("L1C", "distilled_nob09"), ("L2A", "distilled_nob09"))
#: The modules the cloud-mask UDFs inline, in order (each only uses names defined above it at import time).
MASK_SOURCES = (
    "core/bands.py",
    "core/rules.py",
    "core/context.py",
    "core/checks.py",
    "core/onnx_numpy.py",
    "core/model.py",
    "core/cube.py",
)
MASK_OUTPUT = (
    "bands cot, cot_std, cloud_class (0 clear, 1 thin, 2 opaque), ood (> 1: the input lies outside 99 % "
    "of the training data); NaN where the input is nodata"
)


def _mask_context() -> dict[str, tuple[object, str]]:
    from ..core.context import CONTEXT_DEFAULTS, CONTEXT_HELP

    return {k: (CONTEXT_DEFAULTS[k], CONTEXT_HELP[k]) for k in CONTEXT_DEFAULTS}


def _shadow_context() -> dict[str, tuple[object, str]]:
    from .shadow import SHADOW_DEFAULTS, SHADOW_HELP

    return {k: (SHADOW_DEFAULTS[k], SHADOW_HELP[k]) for k in SHADOW_DEFAULTS}


def _entry_context(module: str) -> Callable[[], dict[str, tuple[object, str]]]:
    def read() -> dict[str, tuple[object, str]]:
        import importlib

        return dict(importlib.import_module(f"cotmask.udf.{module}").CONTEXT)

    return read


@dataclass(frozen=True)
class UdfFile:
    """One generated UDF file: what it does, how it is called, what it inlines and carries."""

    what: str
    use: str
    input: str
    output: str
    sources: tuple[str, ...]
    entry: str
    context: Callable[[], dict[str, tuple[object, str]]]
    models: tuple[tuple[str, str], ...] = ()


_MASK_USE = 'cube.apply_dimension(dimension="bands", process=openeo.UDF.from_file("{name}", context={{...}}))'
UDF_FILES: dict[str, UdfFile] = {
    "cotmask_udf.py": UdfFile(
        "cloud optical thickness (COT) cloud mask for Sentinel-2 (all models).",
        _MASK_USE,
        "Sentinel-2 DN or reflectance with the model's bands, selected by label (L1C: with B10)",
        MASK_OUTPUT,
        MASK_SOURCES,
        "udf/cotmask_udf.py",
        _mask_context,
        ALL_MODELS,
    ),
    "cotmask_udf_distilled.py": UdfFile(
        "cloud optical thickness (COT) cloud mask, the distilled models (the default; what the process graphs carry).",
        _MASK_USE,
        "Sentinel-2 DN or reflectance with the model's bands, selected by label (L1C: with B10)",
        MASK_OUTPUT,
        MASK_SOURCES,
        "udf/cotmask_udf.py",
        _mask_context,
        GRAPH_MODELS,
    ),
    "cotmask_best_pixel_udf.py": UdfFile(
        "best-pixel (lowest COT) selection along time.",
        'cube.apply_dimension(dimension="t", process=openeo.UDF.from_file("{name}", context={{"period": "month"}})), '
        'then aggregate_temporal_period(period, "max")',
        "a cube (t, bands, y, x) with the spectral bands and a COT band",
        "the same cube with every date but each period's lowest-COT one set to NaN (the number of dates never changes)",
        ("core/bands.py", "udf/periods.py", "udf/best_pixel.py"),
        "udf/cotmask_best_pixel_udf.py",
        _entry_context("cotmask_best_pixel_udf"),
    ),
    "cotmask_composite_udf.py": UdfFile(
        "period composites along time (each band reduced over a period's dates, and the date count).",
        'cube.apply_dimension(dimension="t", process=openeo.UDF.from_file("{name}", context={{"period": "month", '
        '"reducer": "median"}})), then aggregate_temporal_period(period, "max")',
        "a masked series (t, bands, y, x) with a placeholder band valid_count",
        "the same cube: on each period's first date the reduced bands and valid_count, every other date NaN",
        ("udf/periods.py", "udf/composite.py"),
        "udf/cotmask_composite_udf.py",
        _entry_context("cotmask_composite_udf"),
    ),
    "cotmask_classes_udf.py": UdfFile(
        "class membership test (SCL / WorldCover codes in a list).",
        'scl.apply_dimension(dimension="bands", process=openeo.UDF.from_file("{name}", context={{"classes": [3, 8]}}))',
        "a cube with one band of class codes",
        "one band (context label): 1 where the class is in the list, else 0",
        ("udf/classes.py",),
        "udf/cotmask_classes_udf.py",
        _entry_context("cotmask_classes_udf"),
    ),
    "cotmask_fractions_udf.py": UdfFile(
        "per-pixel cloud, opaque, shadow and valid indicators (the scene screening's fractions).",
        'cube.apply_dimension(dimension="bands", process=openeo.UDF.from_file("{name}")), then aggregate_spatial '
        '(reducer "mean")',
        "a cube with band cloud_class (0 clear, 1 thin, 2 opaque, 3 cloud shadow)",
        "bands cloudy_fraction, opaque_fraction, shadow_fraction (1/0, NaN nodata), valid_fraction (1/0)",
        ("core/bands.py", "udf/fractions.py"),
        "udf/cotmask_fractions_udf.py",
        _entry_context("cotmask_fractions_udf"),
    ),
    "cotmask_consolidate_udf.py": UdfFile(
        "spatial consolidation of cotmask's classes (COT averaged over a disc before the thresholds).",
        'cube.apply_neighborhood(process=openeo.UDF.from_file("{name}", context={{"radius": 4}}), size=..., '
        "overlap=...): overlap cotmask.udf.consolidate.MAX_RADIUS px",
        "the cotmask bands (cot and cloud_class at least; band rules, context rule_band, keeps the physics rules)",
        "the same bands, cloud_class consolidated",
        ("core/bands.py", "udf/disc.py", "udf/consolidate.py"),
        "udf/cotmask_consolidate_udf.py",
        _entry_context("consolidate"),
    ),
    "cotmask_temporal_udf.py": UdfFile(
        "multi-temporal cloud and haze test (each date against the pixel's own clear-sky history).",
        'cube.apply_neighborhood(process=openeo.UDF.from_file("{name}", context={{...}}), size=[x, y in px, no t], '
        "overlap=...): overlap cotmask.udf.consolidate.MAX_RADIUS px, the whole series per call",
        "a series (t, bands, y, x) with B02, B04 (DN), cloud_class (cotmask's); B11 and cot used where present",
        "the same cube, cloud_class after the temporal test (clear raised to thin, thin lowered to clear)",
        ("udf/disc.py", "udf/temporal.py"),
        "udf/cotmask_temporal_udf.py",
        _entry_context("temporal"),
    ),
    "cotmask_shadow_udf.py": UdfFile(
        "cloud shadows from cotmask's cloud classes and the sun geometry.",
        'cube.apply_neighborhood(process=openeo.UDF.from_file("{name}", context={{...}}), size=..., overlap=...): '
        "window and overlap from cotmask.udf.shadow.NEIGHBORHOOD_SIZE / NEIGHBORHOOD_OVERLAP, one date per call",
        "bands B03, B08, B11 (DN), cloud_class; optionally the sun/view angle bands",
        "band shadow (1 shadow, 0 not, NaN nodata)",
        ("core/bands.py", "udf/shadow.py"),
        "udf/cotmask_shadow_udf.py",
        _shadow_context,
    ),
}
DROP = "# udf_build: drop"


def _split(source: str) -> tuple[list[str], str]:
    """(top-level import statements, the rest) of a package module's text, without its docstring or the lines
    marked ``# udf_build: drop`` (imports from the package itself, which the UDF file defines inline)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    skip: set[int] = set()
    imports = []
    for i, node in enumerate(tree.body):
        span = range(node.lineno - 1, node.end_lineno)
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            skip.update(span)  # the module docstring
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            skip.update(span)
            text = "\n".join(lines[j] for j in span)
            if DROP not in text:
                imports.append(text)
    body = [line for j, line in enumerate(lines) if j not in skip and DROP not in line]
    return imports, "\n".join(body).strip("\n")


def _wrapped(text: str, indent: str = "") -> str:
    return textwrap.fill(text, 116, initial_indent=indent, subsequent_indent=indent + "    ", break_on_hyphens=False)


def _header(name: str, spec: UdfFile) -> str:
    ctx = spec.context()
    width = max((len(k) for k in ctx), default=0)
    keys = [_wrapped(f"{k:<{width}}  {default!r}: {text}", "  ") for k, (default, text) in ctx.items()]
    models = (
        f" Models: {', '.join(f'{lv}/{k}' for lv, k in spec.models)} (at the end of this file)." if spec.models else ""
    )
    sources = ", ".join(f"src/cotmask/{s}" for s in (spec.entry, *spec.sources))
    lines = [
        _wrapped(f"cotmask openEO UDF: {spec.what}"),
        "",
        _wrapped(f"Use: {spec.use.format(name=name)}"),
        _wrapped(f"Input: {spec.input}."),
        _wrapped(f"Output: {spec.output}."),
        "Context keys (key, default: meaning):" if ctx else "Context keys: none.",
        *keys,
        _wrapped(f"Imports numpy, xarray and the Python standard library only (onnxruntime when installed).{models}"),
        "",
        _wrapped(f"GENERATED by `cotmask build` from {sources} -- do not edit."),
    ]
    return '"""' + "\n".join(lines) + '\n"""\n'


def _sorted_imports(statements: list[str]) -> str:
    """The hoisted imports, one per module (``from`` imports merged), standard library first, then numpy/xarray."""
    plain: dict[str, None] = {}
    names: dict[str, dict[str, None]] = {}
    for node in ast.parse("\n".join(statements)).body:
        if isinstance(node, ast.Import):
            plain.update({(a.name, a.asname): None for a in node.names})
        else:
            names.setdefault(node.module, {}).update({a.name: None for a in node.names})
    third = ("numpy", "xarray")
    groups: list[list[str]] = [[], []]
    for name, alias in sorted(plain):
        groups[name.split(".")[0] in third].append(f"import {name}" + (f" as {alias}" if alias else ""))
    for module in sorted(names):
        groups[module.split(".")[0] in third].append(f"from {module} import {', '.join(sorted(names[module]))}")
    return "\n\n".join("\n".join(g) for g in groups if g)


def model_source(level: str, kind: str) -> Path:
    """The ONNX file a UDF embeds for (level, kind)."""
    return compact_path(level, kind) if kind == "ensemble" else model_path(level, kind)


def encode_model(path: Path) -> tuple[str, str]:
    """(SHA-256 hex, xz (LZMA2, 2-byte aligned for the float16 weights) + base85 text) of the ONNX file ``path``,
    whose bytes must match models/SHA256SUMS (``verified_bytes``): a damaged model is never embedded."""
    blob = verified_bytes(path)
    filters = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "lc": 0, "lp": 1, "pb": 1}]
    return sha256(blob), base64.b85encode(lzma.compress(blob, format=lzma.FORMAT_XZ, filters=filters)).decode("ascii")


def render(name: str) -> str:
    """Source text of the UDF file ``name``: header, imports, entry points, inlined modules, embedded models."""
    spec = UDF_FILES[name]
    imports, parts = [], []
    for source in (spec.entry, *spec.sources):
        found, body = _split((PACKAGE / source).read_text())
        imports += found
        parts.append(f"# ---- from src/cotmask/{source} ----\n\n{body}")
    if spec.models:
        table = {f"{lv}/{k}": encode_model(model_source(lv, k)) for lv, k in spec.models}
        parts.append(
            "# ---- models (data): (SHA-256 of the ONNX bytes, ONNX as xz + base85) ----\n\n_MODELS: dict = {\n"
            + "".join(f'    "{k}": (\n        "{digest}",\n{_wrap(v)}    ),\n' for k, (digest, v) in table.items())
            + "}"
        )
    return _header(name, spec) + "\n" + _sorted_imports(imports) + "\n\n\n" + "\n\n\n".join(parts) + "\n"


def _wrap(text: str, width: int = 100) -> str:
    return "".join(f'        "{text[i : i + width]}"\n' for i in range(0, len(text), width))


def udf_dir() -> Path:
    """The repository's udf/ folder (where ``cotmask build`` writes)."""
    return REPO / "udf"


def udf_text(name: str) -> str:
    """The text of a generated UDF file: the installed package's copy, else the checkout's udf/."""
    packaged = resources.files("cotmask").joinpath("_udf", name)
    return packaged.read_text() if packaged.is_file() else (udf_dir() / name).read_text()


def main(argv: list[str] | None = None) -> None:
    """Write every UDF file (``cotmask build``); with ``--checksums`` only record models/SHA256SUMS."""
    ap = argparse.ArgumentParser(prog="python -m cotmask.udf.build", description="Write the UDF files in udf/.")
    ap.add_argument(
        "--checksums",
        action="store_true",
        help="only record the SHA-256 of models/*.onnx as they are now in models/SHA256SUMS (after retraining, "
        "re-exporting or converting them on purpose; then `cotmask build`)",
    )
    if ap.parse_args([] if argv is None else argv).checksums:
        print(f"wrote {write_checksums(model_dir())}")
        return
    for name in UDF_FILES:
        path = udf_dir() / name
        path.write_text(render(name))
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main(sys.argv[1:])
