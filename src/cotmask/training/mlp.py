"""A numpy MLP ensemble: the reference implementation that training uses and ONNX must match.

Members are trained jointly: every weight has a leading member axis, so one batched matmul runs a
layer of all members, each member on its own random batch. Inputs are standardised by per-band
mean/std of the training data; outputs are COT/50 (and, for a distilled model, the ensemble's
spread/50 as a second output).
"""

from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

COT_SCALE = 50.0


@dataclass
class TrainConfig:
    """Training recipe (defaults: the published recipe, shortened, with larger batches)."""

    members: int = 10
    hidden: tuple[int, ...] = (64, 64, 64, 64)
    steps: int = 20000
    batch: int = 256
    lr: float = 1e-3
    lr_final: float = 5e-5
    noise_frac: float = 0.03  # input noise sigma as a fraction of each band's mean
    seed: int = 0
    log_every: int = 2000
    class_edges: tuple[float, ...] = field(default=(0.75, 1.25))  # COT edges for class-balanced sampling
    #: Input column that COT must not decrease with (B10 for L1C: cirrus is evidence of cloud), -1 for none;
    #: penalty weight and the reflectance step of the paired input.
    monotone_band: int = -1
    monotone_weight: float = 0.0
    monotone_delta: float = 0.01
    #: Loss weight ((1 + c) / (COT + c))^2 per sample (relative error: low-COT errors count), 0: plain MSE.
    cot_weight_offset: float = 0.0

    def to_dict(self) -> dict:
        """Plain-JSON form for model metadata."""
        return asdict(self)


@dataclass
class MLP:
    """Weights of an ensemble: ``weights[i]`` (M, n_in, n_out), ``biases[i]`` (M, 1, n_out)."""

    mean: np.ndarray
    std: np.ndarray
    weights: list[np.ndarray]
    biases: list[np.ndarray]

    @property
    def members(self) -> int:
        """Number of ensemble members."""
        return self.weights[0].shape[0]

    def forward(self, x: np.ndarray, dtype: type = np.float64) -> np.ndarray:
        """Raw outputs (M, N, n_out) for reflectance rows ``x`` (N, n_in), computed in ``dtype``."""
        c = lambda a: np.asarray(a, dtype=dtype)  # noqa: E731
        h = ((c(x) - c(self.mean)) / c(self.std))[None]
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ c(w) + c(b)
            if i < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        return h

    def predict(self, x: np.ndarray, dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
        """COT ensemble mean (clipped at 0) and spread (population std of members) for rows ``x``."""
        y = self.forward(x, dtype)[..., 0] * COT_SCALE
        return np.maximum(y.mean(axis=0), 0.0), y.std(axis=0)


def init_mlp(
    n_in: int, n_out: int, cfg: TrainConfig, mean: np.ndarray, std: np.ndarray, rng: np.random.Generator
) -> MLP:
    """He-initialised ensemble for inputs standardised with ``mean``/``std``."""
    sizes = [n_in, *cfg.hidden, n_out]
    ws = [rng.normal(0, np.sqrt(2.0 / a), (cfg.members, a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros((cfg.members, 1, b)) for b in sizes[1:]]
    return MLP(np.asarray(mean, float), np.asarray(std, float), ws, bs)


def _forward_acts(net: MLP, z: np.ndarray) -> list[np.ndarray]:
    acts = [z]
    for i in range(len(net.weights)):
        h = acts[-1] @ net.weights[i] + net.biases[i]
        acts.append(np.maximum(h, 0.0) if i < len(net.weights) - 1 else h)
    return acts


def _backward(net: MLP, acts: list[np.ndarray], grad: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    n_layers = len(net.weights)
    gw, gb = [None] * n_layers, [None] * n_layers
    for i in reversed(range(n_layers)):
        gw[i] = acts[i].transpose(0, 2, 1) @ grad
        gb[i] = grad.sum(axis=1, keepdims=True)
        if i:
            grad = (grad @ net.weights[i].transpose(0, 2, 1)) * (acts[i] > 0)
    return gw, gb


def train(
    x: np.ndarray,
    y: np.ndarray,
    cfg: TrainConfig,
    labels: np.ndarray | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> MLP:
    """Train an ensemble with Adam on (weighted) MSE; ``y`` (N, n_out) are targets already divided by 50.

    ``labels`` (N,) are class indices for class-balanced batches (each class equally likely).
    ``progress(step, loss)`` is called every ``cfg.log_every`` steps. With ``cfg.monotone_weight`` the
    first output is pushed to be non-decreasing in input ``cfg.monotone_band``: each batch is run again
    with that band raised by ``monotone_delta`` and any decrease is penalised (squared).
    """
    rng = np.random.default_rng(cfg.seed)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(len(x), -1)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    net = init_mlp(x.shape[1], y.shape[1], cfg, mean, std, rng)
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)] if labels is not None else [np.arange(len(x))]
    groups = [g for g in groups if len(g)]
    params = net.weights + net.biases
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    noise_sd = cfg.noise_frac * np.abs(mean)
    monotone = cfg.monotone_weight > 0 and cfg.monotone_band >= 0
    running = None
    for step in range(1, cfg.steps + 1):
        g_idx = rng.integers(0, len(groups), (cfg.members, cfg.batch))
        idx = np.empty_like(g_idx)
        for k, g in enumerate(groups):
            sel = g_idx == k
            idx[sel] = g[rng.integers(0, len(g), sel.sum())]
        xb = x[idx] + rng.normal(0, 1, (*idx.shape, x.shape[1])) * noise_sd
        yb = y[idx]
        acts = _forward_acts(net, (xb - mean) / std)
        err = acts[-1] - yb
        if cfg.cot_weight_offset > 0:
            c = cfg.cot_weight_offset
            w = ((1 + c) / (yb[..., :1] * COT_SCALE + c)) ** 2
            w = w / w.mean(axis=1, keepdims=True)
        else:
            w = 1.0
        loss = float(np.mean(w * err**2))
        gw, gb = _backward(net, acts, 2.0 * w * err / (cfg.batch * y.shape[1]))
        if monotone:
            up = xb.copy()
            up[..., cfg.monotone_band] += cfg.monotone_delta
            acts_up = _forward_acts(net, (up - mean) / std)
            drop = np.maximum(acts[-1][..., :1] - acts_up[-1][..., :1], 0.0)  # COT/50 falling as the band rises
            scale = 2.0 * cfg.monotone_weight / cfg.batch
            loss += cfg.monotone_weight * float(np.mean(drop**2))
            g_down = np.zeros_like(acts[-1])
            g_down[..., :1] = scale * drop
            gw2, gb2 = _backward(net, acts, g_down)
            gw3, gb3 = _backward(net, acts_up, -g_down)
            gw = [a + b + c for a, b, c in zip(gw, gw2, gw3)]
            gb = [a + b + c for a, b, c in zip(gb, gb2, gb3)]
        lr = cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1 + np.cos(np.pi * step / cfg.steps))
        for j, (p, g) in enumerate(zip(params, gw + gb)):
            m1[j] = b1 * m1[j] + (1 - b1) * g
            m2[j] = b2 * m2[j] + (1 - b2) * g * g
            p -= lr * (m1[j] / (1 - b1**step)) / (np.sqrt(m2[j] / (1 - b2**step)) + eps)
        running = loss if running is None else 0.98 * running + 0.02 * loss
        if progress and (step % cfg.log_every == 0 or step == cfg.steps):
            progress(step, running)
    return net


def cot_classes(cot: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    """Class index per COT value: 0 below ``edges[0]``, 1 between, 2 at or above ``edges[1]``."""
    return np.digitize(cot, edges).astype(np.int64)
