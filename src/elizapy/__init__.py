"""ElizaOS-Py: a Python-native ElizaOS runtime.

The curated public surface lives here; everything else is reachable through its subpackage
(``elizapy.store``, ``elizapy.models``, ``elizapy.reasoning``…).
``tests/test_public_api.py`` notices accidental
additions.
"""

from .character import describe_character, load_character, parse_character
from .connectors.direct import Conversation
from .errors import (
    ActionError,
    BridgeError,
    CharacterError,
    ConfigError,
    ElizaError,
    ModelError,
    PluginError,
    RunCancelled,
    RunError,
    StoreError,
)
from .models import FunctionModel, ModelGateway, ScriptedModel
from .reasoning import ToolLoopReasoner, XmlReasoner, tool
from .runtime import (
    Action,
    AgentRuntime,
    Evaluator,
    MessageResult,
    Plugin,
    Provider,
    ProviderResult,
    action,
    evaluator,
    provider,
)
from .store.sqlite import SqliteStore
from .types import (
    ActionResult,
    ChannelType,
    Character,
    Content,
    EventType,
    Memory,
    ModelType,
    State,
    create_unique_uuid,
    string_to_uuid,
)

__version__ = "0.1.0"

__all__ = [
    "Action",
    "ActionError",
    "ActionResult",
    "AgentRuntime",
    "BridgeError",
    "ChannelType",
    "Character",
    "CharacterError",
    "ConfigError",
    "Content",
    "Conversation",
    "ElizaError",
    "Evaluator",
    "EventType",
    "FunctionModel",
    "Memory",
    "MessageResult",
    "ModelError",
    "ModelGateway",
    "ModelType",
    "Plugin",
    "PluginError",
    "Provider",
    "ProviderResult",
    "RunCancelled",
    "RunError",
    "ScriptedModel",
    "SqliteStore",
    "State",
    "StoreError",
    "ToolLoopReasoner",
    "XmlReasoner",
    "__version__",
    "action",
    "create_unique_uuid",
    "describe_character",
    "evaluator",
    "load_character",
    "parse_character",
    "provider",
    "string_to_uuid",
    "tool",
]
