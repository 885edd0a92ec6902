"""GPU throughput of the shipped models (PyTorch on CUDA) against onnxruntime on all CPU cores of the same machine.

    python benchmarks/gpu_throughput.py [--out DIR]    # on a machine with an NVIDIA GPU and PyTorch; writes
                                                       # DIR/gpu_results.{json,md} (default: benchmarks/)

Not part of the product or the tests (the shipped inference path needs only onnxruntime + numpy): it answers how
fast the same networks run where a GPU is at hand, e.g. for bulk reprocessing. The networks are read from the ONNX
files (``cotmask.training.pipeline.mlp_from_onnx``) and run as batched matrix products in float32 (TF32 off), so the GPU
outputs are checked against onnxruntime's on the same pixels. Pixels: a full 10980 x 10980 tile of synthetic
L2A reflectance, streamed from host memory in chunks (the host-to-device copy is timed), and the same with the
input already on the GPU (compute only).
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TILE = 10980
CHUNK = 1 << 23  # pixels per GPU call


def torch_mlp(blob: bytes, device: str):
    """A function (N, n_bands) float32 tensor -> (cot, cot_std) for the cotmask ONNX model ``blob``."""
    import torch

    from cotmask.training.mlp import COT_SCALE
    from cotmask.training.pipeline import mlp_from_onnx

    net, meta = mlp_from_onnx(blob)
    t = lambda a: torch.as_tensor(np.asarray(a, np.float32), device=device)  # noqa: E731
    mean, std = t(net.mean), t(net.std)
    ws, bs = [t(w) for w in net.weights], [t(b) for b in net.biases]
    ensemble = meta["kind"] == "ensemble"

    def run(x):
        h = ((x - mean) / std).unsqueeze(0).expand(ws[0].shape[0], -1, -1)
        for i, (w, b) in enumerate(zip(ws, bs)):
            h = torch.baddbmm(b, h, w)
            if i < len(ws) - 1:
                h = torch.relu(h)
        y = h * COT_SCALE
        if ensemble:
            return torch.clamp(y[..., 0].mean(0), min=0), y[..., 0].std(0, unbiased=False)
        return torch.clamp(y[0, :, 0], min=0), torch.clamp(y[0, :, 1], min=0)

    return run


def tile_pixels(n_bands: int, rng: np.random.Generator, block: np.ndarray) -> np.ndarray:
    """A full tile of pixels (TILE^2, n_bands) float32: ``block`` (generated spectra) repeated with a little noise."""
    n = TILE * TILE
    reps = -(-n // len(block))
    x = np.tile(block, (reps, 1))[:n]
    x += rng.normal(0, 0.002, (1, n_bands)).astype(np.float32)
    return x


def measure(args: argparse.Namespace) -> dict:
    """All figures as one dict."""
    import onnxruntime as ort
    import torch

    from cotmask.core.shipped import model_path
    from cotmask.training.pipeline import level_inputs
    from cotmask.training.synth import generate

    torch.backends.cuda.matmul.allow_tf32 = False
    device = "cuda"
    block = level_inputs(generate(1 << 20, seed=4242), "L2A").astype(np.float32)
    x = tile_pixels(block.shape[1], np.random.default_rng(0), block)
    out = {
        "gpu": torch.cuda.get_device_name(0),
        "cpu_cores": os.cpu_count(),
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
        "python": platform.python_version(),
        "pixels": len(x),
        "chunk": CHUNK,
        "models": {},
    }
    for kind in ("ensemble", "distilled"):
        blob = model_path("L2A", kind).read_bytes()
        run = torch_mlp(blob, device)
        res = {}
        with torch.inference_mode():
            run(torch.as_tensor(x[:CHUNK], device=device))  # warm-up
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for s in range(0, len(x), CHUNK):
                cot, std = run(torch.as_tensor(x[s : s + CHUNK]).to(device, non_blocking=False))
                cot.cpu(), std.cpu()
            torch.cuda.synchronize()
            res["gpu_tile_seconds_with_transfers"] = time.perf_counter() - t0
            on_device = torch.as_tensor(x[:CHUNK], device=device)
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            reps = 10
            for _ in range(reps):
                run(on_device)
            torch.cuda.synchronize()
            res["gpu_compute_pixels_per_second"] = reps * CHUNK / (time.perf_counter() - t0)
            probe = x[: 1 << 20]
            g_cot, g_std = (v.cpu().numpy() for v in run(torch.as_tensor(probe, device=device)))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = os.cpu_count() or 1
        sess = ort.InferenceSession(blob, sess_options=opts, providers=["CPUExecutionProvider"])
        chunk = 65536 if kind == "distilled" else 24576
        r_cot, r_std = (
            np.concatenate(v)
            for v in zip(
                *(
                    sess.run(["cot", "cot_std"], {"reflectance": probe[s : s + chunk]})
                    for s in range(0, len(probe), chunk)
                )
            )
        )
        t0 = time.perf_counter()
        sample = x[: 1 << 23]
        for s in range(0, len(sample), chunk):
            sess.run(["cot", "cot_std"], {"reflectance": sample[s : s + chunk]})
        cpu_rate = len(sample) / (time.perf_counter() - t0)
        res.update(
            {
                "gpu_tile_pixels_per_second": len(x) / res["gpu_tile_seconds_with_transfers"],
                "cpu_onnxruntime_pixels_per_second": cpu_rate,
                "cpu_onnxruntime_tile_seconds": len(x) / cpu_rate,
                "max_abs_cot_difference_gpu_vs_onnxruntime": float(np.abs(g_cot - r_cot).max()),
                "max_abs_cot_std_difference_gpu_vs_onnxruntime": float(np.abs(g_std - r_std).max()),
                "classes_agree": float(np.mean(np.digitize(g_cot, [0.75, 1.25]) == np.digitize(r_cot, [0.75, 1.25]))),
            }
        )
        res["gpu_vs_cpu_ratio_with_transfers"] = res["gpu_tile_pixels_per_second"] / cpu_rate
        out["models"][f"L2A {kind}"] = res
    return out


def report(r: dict) -> str:
    """Markdown table of ``measure``'s result."""
    lines = [
        f"# cotmask on a GPU: {r['gpu']} vs onnxruntime on the same machine's {r['cpu_cores']} CPU cores",
        "",
        f"PyTorch {r['torch']}, onnxruntime {r['onnxruntime']}; a full {TILE} x {TILE} tile ({r['pixels'] / 1e6:.1f} M "
        f"pixels) of L2A reflectance, float32, in chunks of {r['chunk']} pixels. `python "
        "benchmarks/gpu_throughput.py`.",
        "",
        "| model | GPU tile (with host transfers) | GPU compute only | onnxruntime CPU tile | GPU / CPU | max abs COT "
        "difference | classes agree |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in r["models"].items():
        lines.append(
            f"| {name} | {m['gpu_tile_seconds_with_transfers']:.2f} s ({m['gpu_tile_pixels_per_second'] / 1e6:.0f} "
            f"Mpx/s) | {m['gpu_compute_pixels_per_second'] / 1e6:.0f} Mpx/s | "
            f"{m['cpu_onnxruntime_tile_seconds']:.1f} s "
            f"({m['cpu_onnxruntime_pixels_per_second'] / 1e6:.1f} Mpx/s) | "
            f"{m['gpu_vs_cpu_ratio_with_transfers']:.1f}x | "
            f"{m['max_abs_cot_difference_gpu_vs_onnxruntime']:.1e} | {m['classes_agree']:.5f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure and write the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE)
    a = ap.parse_args()
    r = measure(a)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "gpu_results.json").write_text(json.dumps(r, indent=1) + "\n")
    (a.out / "gpu_results.md").write_text(report(r))
    print(report(r))


if __name__ == "__main__":
    main()
