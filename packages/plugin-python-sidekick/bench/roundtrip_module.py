"""The sidekick module of the round-trip benchmark: one action that does nothing."""

from elizapy.sidekick import action


@action
async def py_noop() -> str:
    """Returns at once."""
    return "ok"
