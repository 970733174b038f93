"""Model gateway, provider protocol, and the shipped test doubles."""

from .base import (
    ChatMessage,
    ModelProvider,
    TextRequest,
    TextResult,
    ToolCall,
    ToolSpec,
    Usage,
    allow_model_requests,
    check_allow_model_requests,
    set_allow_model_requests,
)
from .gateway import ModelGateway
from .testing import FunctionModel, ScriptedModel, hashed_embedding, tool_calls_reply, xml_reply

__all__ = [
    "ChatMessage",
    "FunctionModel",
    "ModelGateway",
    "ModelProvider",
    "ScriptedModel",
    "TextRequest",
    "TextResult",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "allow_model_requests",
    "check_allow_model_requests",
    "hashed_embedding",
    "set_allow_model_requests",
    "tool_calls_reply",
    "xml_reply",
]
