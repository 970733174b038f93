"""Tool sources for any reasoner: LangChain tools and ``module:attr`` references from settings."""

from __future__ import annotations

import pytest

from elizapy.connectors.direct import Conversation
from elizapy.errors import ConfigError
from elizapy.models import ScriptedModel, TextRequest, TextResult, tool_calls_reply
from elizapy.runtime import Plugin
from elizapy.tools import read_tool_sources, resolve_tools, tool_sources_plugin
from elizapy.tools.langchain import langchain_action
from elizapy.types import ModelType
from tests.agnostic.lc_tools import stock_price, wiki


def tool_messages(request: TextRequest) -> dict[str, str]:
    return {m.tool_call_id: m.content or "" for m in request.messages or []
            if m.role == "tool" and m.tool_call_id}


async def test_langchain_tool_is_called_by_the_builtin_tool_loop(make_runtime):
    model = ScriptedModel([
        tool_calls_reply(("wiki_search", {"query": "MCP", "limit": 2}), ("stock_price", {"ticker": "NOPE"})),
        lambda mt, req: TextResult(text=" | ".join(tool_messages(req).values())),
    ])
    actions = [langchain_action(wiki), langchain_action(stock_price)]
    rt = await make_runtime(model, plugins=[Plugin(name="lc", actions=actions)],
                            settings={"REASONER": "tools"})
    result = await Conversation(rt).send("search MCP and price NOPE")

    assert result.text == "2 articles about MCP | ERROR: unknown ticker NOPE"
    offered = {t.name: t.parameters for t in model.calls[0].request.tools or []}
    assert offered["wiki_search"]["properties"]["limit"]["maximum"] == 10
    assert offered["wiki_search"]["required"] == ["query"]
    # The injected argument is LangChain's business, not the model's.
    assert list(offered["stock_price"]["properties"]) == ["ticker"]


async def test_langchain_argument_errors_are_results():
    action = langchain_action(wiki)
    from elizapy.reasoning.delegate import run_standalone

    result = await run_standalone(action, {"query": "x", "limit": 99})
    assert not result.success and result.error is not None
    assert result.error.startswith("invalid arguments: limit:")


async def test_tool_sources_setting_registers_every_kind(make_runtime):
    def brain(mt: ModelType, req: TextRequest) -> TextResult:
        if not tool_messages(req):
            return tool_calls_reply(("plain_add", {"a": 2, "b": 40}), ("eliza_native", {"word": "abc"}),
                                    ("wiki_search", {"query": "q"}))
        return TextResult(text=", ".join(tool_messages(req)[f"call_{i}"] for i in (1, 2, 3)))

    rt = await make_runtime(ScriptedModel([brain, brain]), plugins=[tool_sources_plugin()],
                            settings={"REASONER": "tools", "TOOL_SOURCES": ["tests.agnostic.lc_tools:ALL"]})
    assert {"wiki_search", "stock_price", "plain_add", "eliza_native"} <= {a.name for a in rt.actions}
    result = await Conversation(rt).send("do it all")
    assert result.text == "42, cba, 3 articles about q"


def test_tool_source_settings_shapes():
    settings = {
        "TOOL_SOURCES": "tests.agnostic.lc_tools:wiki, tests/agnostic/lc_tools.py:plain_add",
        "DOCS_TOKEN": "s3cret",
        "mcp": {"timeout": 7, "servers": {
            "local": {"command": "python", "args": ["server.py"], "connectTimeout": 3},
            "docs": {"type": "streamable-http", "url": "http://127.0.0.1:9/mcp",
                     "headers": {"Authorization": "Bearer ${DOCS_TOKEN}"}, "timeout": 2, "prefix": "docs_"},
        }},
    }
    sources = read_tool_sources(settings.get)
    assert sources.python == ["tests.agnostic.lc_tools:wiki", "tests/agnostic/lc_tools.py:plain_add"]
    assert [a.name for a in resolve_tools(sources.python)] == ["wiki_search", "plain_add"]
    local, docs = sources.mcp_servers
    assert (local.type, local.command, local.args, local.timeout, local.connect_timeout) == \
        ("stdio", "python", ["server.py"], 7, 3)
    assert (docs.type, docs.timeout, docs.prefix) == ("http", 2, "docs_")
    assert docs.headers == {"Authorization": "Bearer s3cret"}


@pytest.mark.parametrize(("settings", "message"), [
    ({"mcp": {"servers": {"x": {"args": ["a"]}}}}, "give `command` .stdio. or `url`"),
    ({"mcp": {"servers": {"x": {"command": "c", "bogus": 1}}}}, "bogus: Extra inputs are not permitted"),
    ({"mcp": {"servers": {"x": {"url": "http://h/${MISSING}"}}}}, r"\$\{MISSING\}, which is not set"),
    ({"mcp": ["not", "a", "map"]}, "settings.mcp must be an object"),
    ({"TOOL_SOURCES": [1]}, "TOOL_SOURCES must be a list"),
])
def test_bad_tool_source_settings_name_the_problem(settings, message):
    with pytest.raises(ConfigError, match=message):
        read_tool_sources(settings.get)


def test_bad_references_name_the_problem():
    with pytest.raises(ConfigError, match="module 'no_such_module' not found"):
        resolve_tools(["no_such_module:x"])
    with pytest.raises(ConfigError, match="must look like"):
        resolve_tools(["just_a_name"])
    with pytest.raises(ConfigError, match="is not an action"):
        resolve_tools(["tests.agnostic.lc_tools:WikiArgs"])
