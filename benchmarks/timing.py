"""Timing helpers the benchmark scripts share."""

import time


def best_of(fn, n: int = 3) -> float:
    """Shortest wall time of ``n`` runs of ``fn()`` (s)."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)
