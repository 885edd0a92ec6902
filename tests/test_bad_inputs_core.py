"""Bad inputs, round three (issue 20): empty inputs, damaged model files, duplicate band labels."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import xarray as xr

import cotmask
from cotmask.core.bands import L2A_BANDS, S2_BANDS
from cotmask.core.model import Model
from cotmask.core.shipped import CHECKSUMS, RECORD_CHECKSUMS, load_model, model_dir, model_path

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ["onnxruntime", "numpy"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("level,kind", [("L1C", "distilled"), ("L2A", "ensemble")])
def test_predict_on_no_rows_gives_four_empty_float32_arrays(level: str, kind: str, engine: str) -> None:
    n_bands = len(load_model(level, kind).bands)
    res = cotmask.predict(np.zeros((0, n_bands), np.float32), level=level, kind=kind, engine=engine)
    assert sorted(res) == sorted(cotmask.OUTPUT_BANDS)
    assert all(v.shape == (0,) and v.dtype == np.float32 for v in res.values()), res


def _cube(shape: tuple[int, ...], labels: tuple[str, ...] | list[str] = S2_BANDS) -> xr.DataArray:
    return xr.DataArray(
        np.full((len(labels), *shape), 800, np.uint16), dims=["bands", "y", "x"], coords={"bands": list(labels)}
    )


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("shape", [(3, 0), (0, 4), (0, 0)])
def test_cloud_mask_on_a_zero_size_spatial_dimension_gives_an_empty_result(shape: tuple, lazy: bool) -> None:
    cube = _cube(shape)
    out = cotmask.cloud_mask(cube.chunk() if lazy else cube, {})
    out = out.compute() if lazy else out
    assert out.shape == (4, *shape) and out.dtype == np.float32
    assert list(out.coords["bands"].values) == list(cotmask.OUTPUT_BANDS)


@pytest.mark.parametrize(
    "labels,named",
    [
        ([*L2A_BANDS, "B08"], ["B08", "B08"]),  # B08 twice
        ([*(("B8" if b == "B08" else b) for b in L2A_BANDS), "B08"], ["B8", "B08"]),  # two spellings of one band
        ([*L2A_BANDS, "b8"], ["B08", "b8"]),
    ],
)
def test_duplicate_band_labels_are_refused_naming_band_and_labels(labels: list[str], named: list[str]) -> None:
    cube = _cube((3, 3), labels)
    with pytest.raises(ValueError, match=r"band B08 is in the cube 2 times, labelled \['" + "', '".join(named)) as e:
        cotmask.cloud_mask(cube, {})
    assert "\n" not in str(e.value)


def test_other_repeated_labels_are_left_alone() -> None:
    """Only Sentinel-2 band names are refused twice; a repeated label the model never reads (e.g. SCL) is not."""
    out = cotmask.cloud_mask(_cube((2, 2), [*L2A_BANDS, "SCL", "SCL"]), {})
    assert out.shape == (4, 2, 2)


def _overwritten_weights(blob: bytes) -> bytes:
    """``blob`` with the middle of its largest weight tensor overwritten by huge float32 values: it still parses."""
    raw = max((t.raw_data for t in onnx.load_from_string(blob).graph.initializer), key=len)
    start = blob.index(raw) + len(raw) // 2 // 4 * 4
    fill = np.full(64, 1e30, np.float32).tobytes()
    return blob[:start] + fill + blob[start + len(fill) :]


DAMAGE = {
    "truncated": lambda blob: blob[: len(blob) // 2],
    "weights": _overwritten_weights,
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_model_bytes_that_do_not_parse_raise_one_line_naming_them(damage: str, engine: str) -> None:
    blob = model_path("L1C", "distilled").read_bytes()
    bad = {"truncated": blob[: len(blob) // 2], "garbage": b"not an onnx model at all", "empty": b""}[damage]
    with pytest.raises(ValueError, match="^my-model.onnx is not a readable ONNX model") as e:
        Model(bad, engine=engine, name="my-model.onnx")
    assert "\n" not in str(e.value)


@pytest.fixture
def own_models(tmp_path: Path, monkeypatch) -> Path:
    """A model folder with copies of the L1C distilled model and the checksum file (``$COTMASK_MODEL_DIR``)."""
    shutil.copy(model_path("L1C", "distilled"), tmp_path)
    shutil.copy(model_dir() / CHECKSUMS, tmp_path)
    monkeypatch.setenv("COTMASK_MODEL_DIR", str(tmp_path))
    load_model.cache_clear()
    yield tmp_path
    load_model.cache_clear()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_model_file_is_refused_naming_the_file_and_the_fix(own_models: Path, damage: str, engine: str) -> None:
    path = own_models / model_path("L1C", "distilled").name
    path.write_bytes(DAMAGE[damage](path.read_bytes()))
    with pytest.raises(ValueError, match=re.escape(f"model file {path} is damaged")) as e:
        cotmask.predict(np.full((2, 12), 0.05, np.float32), level="L1C", engine=engine)
    message = str(e.value)
    assert "\n" not in message
    assert "git checkout models/" in message and "python training/train.py" in message and RECORD_CHECKSUMS in message


def test_a_model_folder_needs_its_checksum_entry(own_models: Path) -> None:
    (own_models / CHECKSUMS).write_text("")
    with pytest.raises(ValueError, match="has no entry for cotmask_l1c_distilled.onnx"):
        load_model("L1C", "distilled")


def test_own_model_folder_without_checksums_loads(own_models: Path) -> None:
    """A folder of one's own retrained models without SHA256SUMS is not checked (training/calibration_experiment.py)."""
    (own_models / CHECKSUMS).unlink()
    assert load_model("L1C", "distilled").level == "L1C"


@pytest.mark.parametrize("engine", ENGINES)
def test_unreadable_model_in_an_own_folder_is_named_in_one_line(own_models: Path, engine: str) -> None:
    """Without a checksum to compare, a truncated file still gets one line naming it, not a protobuf/numpy error."""
    (own_models / CHECKSUMS).unlink()
    path = own_models / model_path("L1C", "distilled").name
    path.write_bytes(DAMAGE["truncated"](path.read_bytes()))
    with pytest.raises(ValueError, match=re.escape(f"model file {path} is not a readable ONNX model")) as e:
        load_model("L1C", "distilled", engine=engine)
    assert "\n" not in str(e.value)


def test_the_record_command_writes_the_shipped_checksum_file(tmp_path: Path) -> None:
    for path in model_dir().glob("*.onnx"):
        shutil.copy(path, tmp_path)
    env = {**os.environ, "COTMASK_MODEL_DIR": str(tmp_path)}
    subprocess.run([sys.executable, *RECORD_CHECKSUMS.split()[1:]], check=True, cwd=ROOT, env=env, capture_output=True)
    assert (tmp_path / CHECKSUMS).read_text() == (model_dir() / CHECKSUMS).read_text()
