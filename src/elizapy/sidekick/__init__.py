"""The Python sidekick: Python actions, providers, evaluators, services and a tool-loop agent for a TS
ElizaOS 1.7 agent, served over JSON-RPC 2.0 to ``packages/plugin-python-sidekick``.

Layers (``docs/sidekick-protocol.md`` describes the wire):

- :mod:`.transport` — newline-delimited frames over stdio, any byte stream, or an in-memory pair;
- :mod:`.dispatcher` — ids, timeouts, cancellation, progress, in-flight bounds, exceptions → JSON-RPC errors;
- :mod:`.peer` — typed calls each way; :mod:`.proxy` — the runtime proxy handlers receive;
- :mod:`.sdk` — ``@action``/``@provider``/``@evaluator``/``@service`` and the manifest;
- :mod:`.server` — serving a module; :mod:`.delegate` — the tool loop on the TS agent's model;
- :mod:`.testing` — :class:`~.testing.FakeHost` and ``connect()`` to test a module without Node.
"""

from .errors import ConnectionClosed, FrameTooLarge, HandlerFailed, RequestTimeout, RpcError
from .proxy import CharacterView, ReplyCallback, SidekickRuntime
from .sdk import SidekickApp, action, evaluator, provider, service
from .server import serve, serve_stdio
from .wire import PROTOCOL_VERSION, ErrorCode

__all__ = [
    "PROTOCOL_VERSION",
    "CharacterView",
    "ConnectionClosed",
    "ErrorCode",
    "FrameTooLarge",
    "HandlerFailed",
    "ReplyCallback",
    "RequestTimeout",
    "RpcError",
    "SidekickApp",
    "SidekickRuntime",
    "action",
    "evaluator",
    "provider",
    "serve",
    "serve_stdio",
    "service",
]
