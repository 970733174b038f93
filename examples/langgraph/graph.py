"""A small LangGraph agent for ElizaOS-Py: ``LANGGRAPH_GRAPH=examples/langgraph/graph.py:build``.

``build`` is a *factory*: ElizaOS-Py calls it for each message with the agent's actions as LangChain tools
(``tools``) and the agent's own model as a LangChain chat model (``model``). The graph is the classic loop —
the model answers or asks for tools, a ToolNode runs them, back to the model — written out with StateGraph so
every piece is visible. It adds one tool of its own (``word_count``), which ElizaOS-Py does not know about.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import SystemMessage
from langchain_core.tools import BaseTool, tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition


@tool
def word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


STYLE = SystemMessage("Answer in one or two sentences. Use a tool whenever it can give an exact number.")


def build(tools: list[BaseTool], model: Any) -> Any:
    all_tools = [*tools, word_count]
    planner = model.bind_tools(all_tools)

    async def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await planner.ainvoke([STYLE, *state["messages"]])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(all_tools))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition, {"tools": "tools", END: END})
    graph.add_edge("tools", "agent")
    return graph.compile()
