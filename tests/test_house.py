"""The house rules: what the UDFs and graphs import, what a plain install needs, generated UDFs that read
top-down, one fact in one place, and a clean lint."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from cotmask.core.context import CONTEXT_DEFAULTS
from cotmask.udf.build import UDF_FILES, udf_dir
from cotmask.udf.shadow import REFERENCE_PERCENTILE, SHADOW_DEFAULTS, parse_shadow_context

ROOT = Path(__file__).resolve().parents[1]
#: What neither the UDFs nor the graph builders may pull in: the harness, training, the generator, the demo.
FORBIDDEN = (
    "cotmask.local",
    "cotmask.training",
    "cotmask.samples",
    "cotmask.demo",
    "openeo_processes_dask",
    "matplotlib",
    "scipy",
    "geopandas",
    "netCDF4",
    "rich",
)


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _forbidden(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))


def test_graph_builders_and_udfs_import_neither_harness_nor_generator() -> None:
    loaded = _modules_after(
        "import cotmask.udp as u, cotmask.udf.build as b\n"
        "[u.process_dict(m) for m in u.PROCESSES]; [b.render(n) for n in b.UDF_FILES]"
    )
    assert "cotmask.udp" in loaded and _forbidden(loaded) == []


def test_predict_needs_only_the_core_dependencies() -> None:
    loaded = _modules_after(
        "import numpy as np, cotmask\ncotmask.predict(np.full((4, 11), 0.05, np.float32), level='L2A')"
    )
    assert _forbidden(loaded) == []
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert sorted(re.split(r"[<>=]", d)[0] for d in deps) == ["numpy", "onnxruntime", "openeo", "xarray"]


@pytest.mark.parametrize("name", sorted(UDF_FILES))
def test_generated_udf_reads_top_down(name: str) -> None:
    """Entry point within the first 80 lines, the header lists every context key, and only what the UDF runs."""
    text = (udf_dir() / name).read_text()
    lines = text.splitlines()
    entry = next(i for i, line in enumerate(lines) if line.startswith("def apply_datacube("))
    assert entry < 80, f"apply_datacube at line {entry + 1}"
    header = text[: text.index('"""', 3)]
    keys = {"cotmask_shadow_udf.py": SHADOW_DEFAULTS}.get(name, CONTEXT_DEFAULTS)
    if name in (
        "cotmask_best_pixel_udf.py",
        "cotmask_classes_udf.py",
        "cotmask_composite_udf.py",
        "cotmask_consolidate_udf.py",
    ):
        keys = __import__(f"cotmask.udf.{name[:-3]}", fromlist=["CONTEXT"]).CONTEXT
    if name == "cotmask_fractions_udf.py":
        keys = __import__("cotmask.udf.cotmask_fractions_udf", fromlist=["CONTEXT"]).CONTEXT
    if name in ("cotmask_temporal_udf.py", "cotmask_consolidate_udf.py"):
        keys = __import__(f"cotmask.udf.{name.split('_')[1]}", fromlist=["CONTEXT"]).CONTEXT
    assert all(re.search(rf"^  {k}\s", header, re.M) for k in keys), header
    if not UDF_FILES[name].models:  # no model: no engine, no model class, no onnxruntime
        assert "onnxruntime" not in text.split('"""', 2)[2] and "class Model" not in text and "NumpyGraph" not in text


def test_shadow_error_names_the_percentile_the_code_uses() -> None:
    with pytest.raises(ValueError, match=rf"{REFERENCE_PERCENTILE:g}th percentile"):
        parse_shadow_context({"darkness": 2.0})


def test_shipped_text_states_no_speed_figures_and_true_sizes() -> None:
    """Speed lives in benchmarks/results.md; graphs, records and UDFs say no 'N x faster'. Any UDF/graph size the
    README states in KiB is the file's size (to the KiB)."""
    shipped = [*ROOT.glob("graphs/*.json"), *ROOT.glob("records/*.json"), *ROOT.glob("src/cotmask/**/*.py")]
    speed = re.compile(r"~?\d+(\.\d+)?\s?[x×]\s+(faster|slower)")
    assert [p.name for p in shipped if speed.search(p.read_text())] == []
    readme = (ROOT / "README.md").read_text()
    for name, kib in re.findall(r"`(?:udf|graphs)/([\w.]+)`[^`\n]{0,40}?\((\d+) KiB\)", readme):
        path = next(ROOT.glob(f"*/{name}"))
        assert abs(path.stat().st_size / 1024 - int(kib)) < 1, (name, kib)


def test_graph_model_description_comes_from_the_model_metadata() -> None:
    members = json.loads((ROOT / "graphs" / "cotmask_cloud_mask.json").read_text())
    model = next(p for p in members["parameters"] if p["name"] == "model")
    from cotmask import load_model

    assert f"{load_model('L2A', 'ensemble').metadata['members']}-member ensemble" in model["description"]


def test_lint_and_format_are_clean() -> None:
    """ruff (config in pyproject.toml) over the whole tree, the generated UDFs included."""
    ruff = [sys.executable, "-m", "ruff"]
    check = subprocess.run([*ruff, "check", "."], capture_output=True, text=True, cwd=ROOT)
    assert check.returncode == 0, check.stdout[-3000:]
    fmt = subprocess.run([*ruff, "format", "--check", "."], capture_output=True, text=True, cwd=ROOT)
    assert fmt.returncode == 0, fmt.stdout[-3000:]


def _rate(runs: list, **match) -> float:
    return next(r["pixels_per_second"] for r in runs if all(r.get(k) == v for k, v in match.items()) and "tag" not in r)


def test_readme_figures_are_the_results_files() -> None:
    """The README's speed ratio and real-label shares are those of benchmarks/results.json and
    evaluation/real_labels.json (rounded as printed)."""
    readme = " ".join((ROOT / "README.md").read_text().split())
    runs = json.loads((ROOT / "benchmarks" / "results.json").read_text())["runs"]
    ratio = _rate(runs, scenario="predict", level="L2A", kind="distilled", threads=2) / _rate(
        runs, scenario="predict", level="L2A", kind="ensemble", threads=2
    )
    stated = float(re.search(r"it is ~(\d+)× slower", readme).group(1))  # the ensemble, against the default
    assert abs(stated - ratio) / ratio < 0.15, (stated, ratio)
    shares = {
        (r["class"], r["method"]): r["fraction"]
        for r in json.loads((ROOT / "evaluation" / "real_labels.json").read_text())["per_class"]
    }
    m = re.search(
        r"flags (\d+) % of the real haze/thin-cirrus pixels \(the ensemble (\d+) %; s2cloudless (\d+) %", readme
    )
    for got, method in zip(m.groups(), ("cotmask L1C distilled", "cotmask L1C ensemble", "s2cloudless (p > 0.4)")):
        assert int(got) == round(100 * shares[("haze_thin", method)]), (method, got)
    m = re.search(
        r"([\d.]+) % of clear land \(s2cloudless ([\d.]+) %\) and ([\d.]+) % of bright bare ground "
        r"\(s2cloudless ([\d.]+) %\)",
        readme,
    )
    s2c = "s2cloudless (p > 0.4)"
    expect = [shares[c, m_] for c in ("clear", "bright_surface") for m_ in ("cotmask L1C distilled", s2c)]
    for got, share in zip(m.groups(), expect):
        assert float(got) == round(100 * share, 1), (got, share)
    m = re.search(
        r"consolidation \(smooth 4\) it flags (\d+) % of the haze, ([\d.]+) % of clear land and ([\d.]+) % of bright "
        r"ground; s2cloudless as it ships \(averaged and dilated\) (\d+) %, ([\d.]+) % and ([\d.]+) %",
        readme,
    )
    graph, ships = "cotmask L1C distilled, graph default (smooth 4)", "s2cloudless as it ships (average 4, dilation 2)"
    expect = [shares[c, m_] for m_ in (graph, ships) for c in ("haze_thin", "clear", "bright_surface")]
    for got, share in zip(m.groups(), expect):
        assert float(got) == round(100 * share, 0 if "." not in got else 1), (got, share)


def test_readme_cost_line_is_the_cost_file() -> None:
    readme = " ".join((ROOT / "README.md").read_text().split())
    row = next(r for r in json.loads((ROOT / "benchmarks" / "cost.json").read_text())["rows"] if r["grid_m"] == 10)
    m = re.search(r"at 10 m ([\d.]+) CPU-s for the model with onnxruntime \(([\d.]+) with the numpy engine\)", readme)
    assert (float(m.group(1)), float(m.group(2))) == (
        round(row["model_cpu_s_onnxruntime"], 4),
        round(row["model_cpu_s_numpy"], 4),
    )
    assert f"{row['shadow_margin_km_per_side']:.2f} km of margin per side" in readme
    temporal = max(r["temporal_cpu_s"] for r in json.loads((ROOT / "benchmarks" / "cost.json").read_text())["rows"])
    assert f"{temporal:.4f} for the temporal test" in readme


def test_readme_temporal_figures_are_the_evaluation_file() -> None:
    """The temporal test's recall and clear-date flags in the README are evaluation/temporal_experiment.json's."""
    import statistics

    readme = " ".join((ROOT / "README.md").read_text().split())
    result = json.loads((ROOT / "evaluation" / "temporal_experiment.json").read_text())
    m = re.search(r"it finds (\d+)% of haze .*?\(single-date masking (\d+)%\) and flags at most ([\d.]+)%", readme)
    mean = lambda k: statistics.mean(r[k] for r in result["injected"])  # noqa: E731
    clear = max(r["temporal"] for r in result["clear_dates"])
    assert m and (int(m.group(1)), int(m.group(2))) == (
        round(100 * mean("temporal")),
        round(100 * mean("consolidated")),
    )
    assert float(m.group(3)) == round(100 * clear, 1)
    assert result["figure_date"] in readme
