"""The one error tree of ElizaOS-Py.

    ElizaError
    ├── ConfigError              a developer mistake: fix the input, retrying will not help
    │   ├── CharacterError       malformed character file (carries file, JSON path, expectation)
    │   └── PluginError          bad plugin definition, missing dependency
    └── RunError                 something failed while running; may be transient
        ├── ModelError           model call failed (HTTP error, no handler, bad output)
        │   └── NoModelHandler   nothing registered for a ModelType
        ├── StoreError           storage failed
        ├── ActionError          an action/tool/provider/evaluator raised (isolated, reported)
        ├── BridgeError          sidekick JSON-RPC bridge failure
        └── RunCancelled         the run was superseded or cancelled

Exceptions never log in their constructors; the layer that handles them decides.
"""

from __future__ import annotations


class ElizaError(Exception):
    """Root of every error ElizaOS-Py raises on purpose."""


class ConfigError(ElizaError):
    pass


class CharacterError(ConfigError):
    def __init__(
        self, message: str, *, file: str | None = None, path: str | None = None, expected: str | None = None
    ) -> None:
        self.file = file
        self.path = path
        self.expected = expected
        where = f"{file}: " if file else ""
        at = f"at {path}: " if path else ""
        hint = f" (expected {expected})" if expected else ""
        super().__init__(f"{where}{at}{message}{hint}")


class PluginError(ConfigError):
    pass


class RunError(ElizaError):
    pass


class ModelError(RunError):
    pass


class NoModelHandler(ModelError):
    pass


class StoreError(RunError):
    pass


class ActionError(RunError):
    pass


class BridgeError(RunError):
    pass


class RunCancelled(RunError):
    pass


__all__ = [
    "ActionError",
    "BridgeError",
    "CharacterError",
    "ConfigError",
    "ElizaError",
    "ModelError",
    "NoModelHandler",
    "PluginError",
    "RunCancelled",
    "RunError",
    "StoreError",
]
