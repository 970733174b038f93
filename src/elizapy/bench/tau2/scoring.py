"""pass^k as TAU-bench defines it: the chance that k i.i.d. trials of a task all succeed, averaged over tasks.

For a task run n times with c successes, the unbiased estimate is C(c, k) / C(n, k); pass^k is its mean over
tasks. A trial succeeds when its reward is 1 (within 1e-6), as in tau2's own metrics.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

SUCCESS_EPS = 1e-6


def is_success(reward: float | None) -> bool:
    return reward is not None and abs(reward - 1.0) <= SUCCESS_EPS


def pass_hat_k_task(n: int, c: int, k: int) -> float:
    if not 0 <= c <= n:
        raise ValueError(f"successes {c} out of range for {n} trials")
    if not 1 <= k <= n:
        raise ValueError(f"k={k} needs 1 <= k <= n (n={n})")
    return math.comb(c, k) / math.comb(n, k)


def pass_hat_k(per_task: Mapping[str, Sequence[float | None]], max_k: int | None = None) -> list[float]:
    """``[pass^1, …, pass^K]`` where K is ``max_k`` or the smallest trial count over tasks."""
    if not per_task:
        return []
    counts = {t: len(r) for t, r in per_task.items()}
    k_top = min(counts.values()) if max_k is None else min(max_k, *counts.values())
    out = []
    for k in range(1, k_top + 1):
        vals = [pass_hat_k_task(len(r), sum(is_success(x) for x in r), k) for r in per_task.values()]
        out.append(sum(vals) / len(vals))
    return out


def successes(rewards: Iterable[float | None]) -> int:
    return sum(is_success(r) for r in rewards)
