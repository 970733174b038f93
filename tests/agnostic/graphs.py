"""LangGraph graphs the tests point ``LANGGRAPH_GRAPH`` at."""

from __future__ import annotations

import json
import warnings
from collections.abc import AsyncIterator, Sequence
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import create_react_agent as _create_react_agent
from langgraph.warnings import LangGraphDeprecatedSinceV10
from pydantic import Field


def create_react_agent(model: Any, tools: Sequence[Any]) -> Any:
    """LangGraph's prebuilt ReAct agent (now ``langchain.agents.create_agent``; still in langgraph 1.x)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LangGraphDeprecatedSinceV10)
        return _create_react_agent(model, tools)


class ToolCallingFake(GenericFakeChatModel):
    """LangChain's fake chat model, made to accept tools and to stream tool calls (it replies from its script
    regardless of the tools; its own streaming drops tool calls)."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self

    async def _astream(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        self.seen.append(list(messages))
        scripted = next(self.messages)
        assert isinstance(scripted, AIMessage)
        for i, word in enumerate(str(scripted.content).split(" ") if scripted.content else []):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=(" " if i else "") + word))
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
        if scripted.tool_calls:
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[
                {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
                for i, c in enumerate(scripted.tool_calls)]))


def scripted_agent(tools: list[BaseTool]) -> Any:
    """A ReAct agent whose fake model asks for the ElizaOS tool ``convert``, then answers."""
    model = ToolCallingFake(messages=iter([
        AIMessage(content="Let me convert that.",
                  tool_calls=[{"name": "convert", "args": {"amount": 10, "currency": "EUR"}, "id": "t1",
                               "type": "tool_call"}]),
        AIMessage(content="10 USD is 9.20 EUR."),
    ]))
    return create_react_agent(model, tools)


def host_model_agent(tools: list[BaseTool], model: Any) -> Any:
    """A ReAct agent on the agent's own model (a HostChatModel)."""
    return create_react_agent(model, tools)


@tool
def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


compiled_with_own_tool = create_react_agent(
    ToolCallingFake(messages=iter([
        AIMessage(content="", tool_calls=[{"name": "shout", "args": {"text": "hi"}, "id": "s1",
                                           "type": "tool_call"}]),
        AIMessage(content="It says HI."),
    ])),
    [shout])
"""A compiled graph with its own LangChain tool (not an ElizaOS action)."""
