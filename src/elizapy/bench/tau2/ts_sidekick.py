"""The sidekick module the "TS + sidekick" tau2 leg serves: no components, only ``delegate/run``.

The leg measures the TS agent handing its turn to the Python tool loop with the TS tool actions as the
loop's tools, so the sidekick must add nothing of its own (no actions the planner could pick, no provider
text in the prompts); an explicit, empty :class:`~elizapy.sidekick.SidekickApp` is served as it is.
"""

from __future__ import annotations

from ...sidekick import SidekickApp

sidekick_app = SidekickApp(name="tau2-delegate")
