"""Build the shipped models: synthetic data -> ensemble -> distilled model -> ONNX with metadata."""

import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from . import __version__
from .core import DN_SCALE
from .export import to_onnx_bytes
from .mlp import COT_SCALE, MLP, TrainConfig, cot_classes, train
from .synth import L2A_BANDS, S2_BANDS, generate

#: Input bands of each model level (B01 is dropped; L2A has no B10). Written into the model metadata,
#: which is the source of truth at inference time.
MODEL_BANDS: dict[str, tuple[str, ...]] = {
    "L1C": tuple(b for b in S2_BANDS if b != "B01"),
    "L2A": tuple(b for b in L2A_BANDS if b != "B01"),
    # evaluation-only variant for 6-band data (ukis-csmask's labelled tile); not shipped
    "L1C_6B": ("B02", "B03", "B04", "B08", "B11", "B12"),
}
THRESHOLDS = {"thin": 0.75, "opaque": 1.25}
REFLECTANCE = {"scale": DN_SCALE, "offset_dn": {"processing_baseline_before_04.00": 0, "processing_baseline_04.00_or_later": -1000},
               "formula": "reflectance = (DN + offset_dn) * scale", "valid_range": [-0.2, 2.0]}
DISTILLED = TrainConfig(members=1, hidden=(32, 32), steps=15000, batch=512, lr=2e-3)


def level_inputs(data: dict[str, np.ndarray], level: str) -> np.ndarray:
    """Model inputs (N, n_bands) for ``level`` from a ``synth.generate`` result."""
    src, order = (data["toa"], S2_BANDS) if level.startswith("L1C") else (data["boa"], L2A_BANDS)
    return src[:, [order.index(b) for b in MODEL_BANDS[level]]]


#: Centroids of the out-of-distribution codebook (k-means of the standardised training inputs).
OOD_CENTROIDS = 64


def fit_codebook(z: np.ndarray, k: int = OOD_CENTROIDS, iterations: int = 25, seed: int = 0,
                 sample: int = 100_000) -> dict[str, object]:
    """k-means (Lloyd) centroids of standardised training inputs ``z`` and ``d99``, the 99th percentile of the
    training samples' distance to their nearest centroid: ``core.Model.ood`` divides by it."""
    rng = np.random.default_rng(seed)
    pts = z[rng.choice(len(z), min(sample, len(z)), replace=False)].astype(np.float64)
    centroids = pts[rng.choice(len(pts), k, replace=False)].copy()

    def nearest(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d2 = (x * x).sum(1)[:, None] - 2 * x @ centroids.T + (centroids * centroids).sum(1)[None]
        return d2.argmin(1), np.sqrt(np.maximum(d2.min(1), 0))

    for _ in range(iterations):
        label, _ = nearest(pts)
        for j in range(k):
            members = pts[label == j]
            centroids[j] = members.mean(0) if len(members) else pts[rng.integers(len(pts))]
    _, dist = nearest(z.astype(np.float64))
    return {"centroids": centroids.round(4).tolist(), "d99": round(float(np.percentile(dist, 99)), 5),
            "method": f"k-means ({k} centroids) of the standardised training inputs; score = distance to the nearest "
                      "centroid / d99 (the 99th percentile of the training samples' distance)"}


def metadata(level: str, kind: str, net: MLP, recipe: dict, codebook: dict | None = None) -> dict[str, object]:
    """Model metadata stored in ONNX ``metadata_props`` (``codebook``: from ``fit_codebook``)."""
    return {
        "bands": list(MODEL_BANDS[level]), "level": level, "kind": kind, "members": net.members,
        "input": "float32 (N, n_bands) " + ("TOA reflectance (L1C)" if level == "L1C" else "BOA reflectance (L2A)"),
        "outputs": {"cot": "cloud optical thickness, ensemble mean (clipped at 0)", "cot_std": "ensemble spread (std)"},
        "reflectance": REFLECTANCE, "thresholds": THRESHOLDS,
        "normalisation": {"mean": net.mean.round(6).tolist(), "std": net.std.round(6).tolist()},
        "training": recipe, "version": __version__, "license": "MIT",
        **({"ood": codebook} if codebook else {}),
    }


def build_level(level: str, data: dict[str, np.ndarray], cfg: TrainConfig, distill_cfg: TrainConfig = DISTILLED,
                log: Callable[[str], None] = print) -> dict[str, tuple[MLP, bytes]]:
    """Train the ensemble and the distilled model of ``level``; returns {kind: (net, onnx bytes)}."""
    x = level_inputs(data, level)
    cot = data["cot"].astype(np.float64)
    band = MODEL_BANDS[level].index("B10") if "B10" in MODEL_BANDS[level] else -1
    cfg = replace(cfg, monotone_band=band if cfg.monotone_weight > 0 else -1)
    labels = cot_classes(cot, cfg.class_edges)
    t0 = time.time()
    prog = lambda tag: (lambda step, loss: log(f"  {level} {tag} step {step:>6}  loss {loss:.3e}  {time.time() - t0:5.0f}s"))  # noqa: E731
    ens = train(x, cot[:, None] / COT_SCALE, cfg, labels, prog("ensemble"))
    mean, std = ens.predict(x)
    dcfg = replace(distill_cfg, seed=cfg.seed + 1, log_every=cfg.log_every)
    dist = train(x, np.stack([mean, std], 1) / COT_SCALE, dcfg, cot_classes(mean, cfg.class_edges), prog("distilled"))
    book = fit_codebook((x - ens.mean) / ens.std)
    recipe = {"generator": "cotmask.synth.generate", "n_samples": len(x), "data_seed": int(data.get("seed", -1)),
              "loss": "MSE on COT/50" + (f", weighted ((1 + {cfg.cot_weight_offset}) / (COT + {cfg.cot_weight_offset}))^2"
                                         if cfg.cot_weight_offset > 0 else "")
              + (f", + {cfg.monotone_weight} x squared COT/50 decrease when B10 rises by {cfg.monotone_delta}"
                 if cfg.monotone_band >= 0 else ""),
              "sampling": "class-balanced clear/thin/opaque", "config": cfg.to_dict()}
    return {
        "ensemble": (ens, to_onnx_bytes(ens, metadata(level, "ensemble", ens, recipe, book))),
        "distilled": (dist, to_onnx_bytes(dist, metadata(level, "distilled", dist, {**recipe, "teacher": "ensemble",
                                                                                   "config": dcfg.to_dict()}, book),
                                          distilled=True)),
    }


def build_models(out_dir: Path, n_samples: int, seed: int, cfg: TrainConfig, levels: tuple[str, ...] = ("L1C", "L2A"),
                 log: Callable[[str], None] = print, data: dict[str, np.ndarray] | None = None) -> list[Path]:
    """Train on ``data`` (default: generated with ``seed``) and write ``cotmask_<level>_<kind>.onnx`` files."""
    if data is None:
        log(f"generating {n_samples} synthetic samples (seed {seed})")
        data = {**generate(n_samples, seed=seed), "seed": np.int64(seed)}
    written = []
    for level in levels:
        for kind, (_, blob) in build_level(level, data, cfg, log=log).items():
            path = Path(out_dir) / f"cotmask_{level.lower()}_{kind}.onnx"
            path.write_bytes(blob)
            written.append(path)
            log(f"wrote {path} ({len(blob) / 1024:.0f} KiB)")
    return written
