"""The public surface is deliberate: additions must be made here too (as httpx does)."""

import elizapy

EXPECTED = {
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
}


def test_all_is_exactly_the_curated_surface():
    assert set(elizapy.__all__) == EXPECTED


def test_every_exported_name_resolves():
    for name in elizapy.__all__:
        assert getattr(elizapy, name) is not None


def test_error_tree_is_rooted():
    for name in (
        "ConfigError",
        "CharacterError",
        "PluginError",
        "RunError",
        "ModelError",
        "StoreError",
        "ActionError",
        "BridgeError",
        "RunCancelled",
    ):
        assert issubclass(getattr(elizapy, name), elizapy.ElizaError)
    assert issubclass(elizapy.CharacterError, elizapy.ConfigError)
    assert issubclass(elizapy.StoreError, elizapy.RunError)
