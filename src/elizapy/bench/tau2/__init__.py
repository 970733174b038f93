"""TAU-bench (tau2) harness: ElizaOS-Py agents inside tau2's official orchestrator and evaluator.

The tau2 package is optional (``scripts/setup/tau2.sh``); this package imports without it, and
:func:`~.env.tau2_available` tells whether a run is possible.
"""

from __future__ import annotations

from .agents import BUILTIN_AGENTS, AgentSpec, load_agent_spec, spec_from_dict
from .env import DOMAINS, tau2_available
from .scoring import is_success, pass_hat_k, pass_hat_k_task

__all__ = [
    "BUILTIN_AGENTS",
    "DOMAINS",
    "AgentSpec",
    "is_success",
    "load_agent_spec",
    "pass_hat_k",
    "pass_hat_k_task",
    "spec_from_dict",
    "tau2_available",
]
