"""pass^k: C(c, k) / C(n, k) per task, averaged over tasks (no tau2 needed)."""

from __future__ import annotations

import math

import pytest

from elizapy.bench.tau2.scoring import is_success, pass_hat_k, pass_hat_k_task


def test_per_task_formula_matches_the_combinatorial_definition() -> None:
    # 4 trials, 3 successes: pass^1 = 3/4, pass^2 = C(3,2)/C(4,2) = 3/6, pass^3 = 1/4, pass^4 = 0.
    assert pass_hat_k_task(4, 3, 1) == pytest.approx(0.75)
    assert pass_hat_k_task(4, 3, 2) == pytest.approx(0.5)
    assert pass_hat_k_task(4, 3, 3) == pytest.approx(0.25)
    assert pass_hat_k_task(4, 3, 4) == 0.0
    assert pass_hat_k_task(5, 5, 5) == 1.0


def test_pass_hat_k_is_a_mean_over_tasks_and_never_increases_with_k() -> None:
    per_task = {"a": [1.0, 1.0, 0.0], "b": [0.0, 0.0, 0.0], "c": [1.0, 1.0, 1.0]}
    ks = pass_hat_k(per_task)
    assert len(ks) == 3
    expected = [(2 / 3 + 0 + 1) / 3, (math.comb(2, 2) / math.comb(3, 2) + 0 + 1) / 3, (0 + 0 + 1) / 3]
    assert ks == pytest.approx(expected)
    assert ks[0] >= ks[1] >= ks[2]


def test_success_needs_a_full_reward() -> None:
    assert is_success(1.0) and is_success(1.0 - 1e-9)
    assert not is_success(0.999) and not is_success(0.0) and not is_success(None)
    assert pass_hat_k({"t": [0.5, 1.0]}) == [0.5, 0.0]


def test_k_is_bounded_by_the_smallest_trial_count() -> None:
    assert len(pass_hat_k({"a": [1.0, 1.0, 1.0], "b": [1.0, 0.0]})) == 2
    assert len(pass_hat_k({"a": [1.0, 1.0, 1.0]}, max_k=2)) == 2
    assert pass_hat_k({}) == []
    with pytest.raises(ValueError):
        pass_hat_k_task(2, 3, 1)
    with pytest.raises(ValueError):
        pass_hat_k_task(2, 1, 3)
