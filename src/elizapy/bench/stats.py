"""Small statistics helpers for benchmarks (percentiles, spread, noise flag)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "mean": statistics.fmean(values) if values else float("nan"),
        "min": min(values) if values else float("nan"),
        "max": max(values) if values else float("nan"),
        "n": float(len(values)),
    }


def noisy(reps: Sequence[float], *, tolerance: float = 0.25) -> bool:
    """True when repetitions of one measurement spread more than ``tolerance`` around their median."""
    if len(reps) < 2:
        return False
    med = statistics.median(reps)
    return med > 0 and (max(reps) - min(reps)) / med > tolerance
