"""A LangGraph graph as the TS agent's ``PYTHON_DELEGATE``, chosen by character settings alone.

``langgraph_character.json`` sets::

    "PYTHON_DELEGATE_BACKEND": "langgraph",
    "PYTHON_DELEGATE_GRAPH": "langgraph_graph.py:build"

(a file path is read relative to the sidekick's working directory, ``PYTHON_SIDEKICK_CWD``; a dotted
``module:attr`` on its ``sys.path`` works too), and the sidekick calls :func:`build` for every
``PYTHON_DELEGATE`` run with

- ``tools``: the sidekick's Python actions plus the TS agent's own actions (``PYTHON_DELEGATE_TOOLS``), as
  LangChain tools; calling a TS one runs it in the TS runtime (``runtime/invokeAction``);
- ``model``: the TS agent's own model (its ``useModel(TEXT_LARGE)``) as a LangChain chat model. TS text
  models take a prompt, so ``bind_tools`` is served by the JSON "next step" object; any model plugin works.

The graph is the plain agent loop written out with ``StateGraph``: the model answers or asks for tools, a
``ToolNode`` runs them, back to the model. Swap ``model`` for any LangChain chat model of your own (a
``ChatOpenAI``, say) and the TS side does not change.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import SystemMessage
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

STYLE = SystemMessage("You are the LangGraph delegate. Use a tool whenever it can give an exact answer.")


def build(tools: list[BaseTool], model: Any) -> Any:
    planner = model.bind_tools(tools) if tools else model

    async def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await planner.ainvoke([STYLE, *state["messages"]])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_edge(START, "agent")
    if tools:
        graph.add_node("tools", ToolNode(tools))
        graph.add_conditional_edges("agent", tools_condition, {"tools": "tools", END: END})
        graph.add_edge("tools", "agent")
    else:
        graph.add_edge("agent", END)
    return graph.compile()
