"""The model gateway (ElizaOS ``useModel`` routing) and the shipped test doubles."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from elizapy.errors import ModelError, NoModelHandler
from elizapy.models import (
    FunctionModel,
    ModelGateway,
    ScriptedModel,
    TextRequest,
    TextResult,
    ToolCall,
    ToolSpec,
    hashed_embedding,
    tool_calls_reply,
    xml_reply,
)
from elizapy.models.openai_compat import OpenAICompatProvider
from elizapy.types import ModelType
from tests.models.fake_openai import FakeOpenAI


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


# --- routing ----------------------------------------------------------------------------------------------


async def test_higher_priority_wins_regardless_of_order() -> None:
    gateway = ModelGateway()
    low = ScriptedModel(["from low"], name="low")
    high = ScriptedModel(["from high"], name="high")
    gateway.register_provider(low, priority=0)
    gateway.register_provider(high, priority=10)
    assert gateway.provider_name(ModelType.TEXT_LARGE) == "high"
    assert gateway.provider_for(ModelType.TEXT_LARGE) is high
    result = await gateway.generate(ModelType.TEXT_LARGE, TextRequest(prompt="x"))
    assert result.text == "from high"
    assert low.calls == []


async def test_priority_ties_go_to_the_first_registered() -> None:
    gateway = ModelGateway()
    first = ScriptedModel(["first"], name="first")
    second = ScriptedModel(["second"], name="second")
    gateway.register_provider(first, priority=3)
    gateway.register_provider(second, priority=3)
    assert (await gateway.generate("TEXT_SMALL", TextRequest(prompt="x"))).text == "first"
    assert gateway.provider_name("TEXT_SMALL") == "first"


def test_register_provider_for_some_types_only() -> None:
    gateway = ModelGateway()
    model = ScriptedModel(name="emb-only")
    gateway.register_provider(model, types=[ModelType.TEXT_EMBEDDING])
    assert gateway.has(ModelType.TEXT_EMBEDDING)
    assert gateway.has("TEXT_EMBEDDING")
    assert not gateway.has(ModelType.TEXT_LARGE)
    with pytest.raises(ValueError):
        gateway.has("NOT_A_MODEL_TYPE")


async def test_nothing_registered_raises_no_model_handler() -> None:
    gateway = ModelGateway()
    with pytest.raises(NoModelHandler, match="TEXT_LARGE"):
        await gateway.generate(ModelType.TEXT_LARGE, TextRequest(prompt="x"))
    with pytest.raises(NoModelHandler, match="TEXT_EMBEDDING"):
        await gateway.embed(["x"])
    with pytest.raises(NoModelHandler):
        await gateway.use_model(ModelType.OBJECT_SMALL, "x")
    with pytest.raises(NoModelHandler):
        gateway.provider_name(ModelType.TEXT_SMALL)
    assert issubclass(NoModelHandler, ModelError)


# --- raw ElizaOS-style handlers ---------------------------------------------------------------------------


async def test_raw_handler_registration_and_use_model() -> None:
    gateway = ModelGateway()
    seen: list[tuple[Any, dict[str, Any]]] = []

    async def handler(runtime: Any, params: dict[str, Any]) -> str:
        seen.append((runtime, params))
        return f"echo: {params['prompt']}"

    gateway.register_handler("TEXT_SMALL", handler, provider="my-plugin")
    runtime = object()
    reply = await gateway.use_model("TEXT_SMALL", {"prompt": "hi", "temperature": 0.1}, runtime=runtime)
    assert reply == "echo: hi"
    assert seen == [(runtime, {"prompt": "hi", "temperature": 0.1})]
    assert gateway.provider_name(ModelType.TEXT_SMALL) == "my-plugin"
    assert gateway.provider_for(ModelType.TEXT_SMALL) is None


async def test_generate_through_raw_handler_maps_params_to_camel_case() -> None:
    gateway = ModelGateway()
    seen: list[dict[str, Any]] = []

    async def handler(runtime: Any, params: dict[str, Any]) -> str:
        seen.append(params)
        return "done"

    gateway.register_handler(ModelType.TEXT_LARGE, handler)
    request = TextRequest(prompt="p", system="s", max_tokens=9, temperature=0.5, stop_sequences=["END"],
                          response_schema={"type": "object"})
    result = await gateway.generate(ModelType.TEXT_LARGE, request)
    assert result == TextResult(text="done")
    assert seen == [{"prompt": "p", "system": "s", "maxTokens": 9, "temperature": 0.5,
                     "stopSequences": ["END"], "schema": {"type": "object"}}]


async def test_raw_handler_with_wrong_return_type_is_a_model_error() -> None:
    gateway = ModelGateway()

    async def handler(runtime: Any, params: dict[str, Any]) -> Any:
        return {"not": "a string"}

    gateway.register_handler(ModelType.TEXT_LARGE, handler, provider="broken")
    with pytest.raises(ModelError, match="broken handler for TEXT_LARGE returned dict"):
        await gateway.generate(ModelType.TEXT_LARGE, TextRequest(prompt="x"))


async def test_raw_handler_outranks_provider_by_priority() -> None:
    gateway = ModelGateway()
    model = ScriptedModel(["typed"], name="typed")

    async def handler(runtime: Any, params: dict[str, Any]) -> str:
        return "raw"

    gateway.register_provider(model)
    gateway.register_handler(ModelType.TEXT_SMALL, handler, priority=5)
    assert await gateway.use_model(ModelType.TEXT_SMALL, "x") == "raw"
    assert await gateway.use_model(ModelType.TEXT_LARGE, "x") == "typed"


async def test_raw_embedding_handler() -> None:
    gateway = ModelGateway()
    texts: list[str] = []

    async def handler(runtime: Any, params: dict[str, Any]) -> list[float]:
        texts.append(params["text"])
        return [float(len(params["text"])), 1.0]

    gateway.register_handler(ModelType.TEXT_EMBEDDING, handler)
    assert await gateway.embed(["ab", "abcd"]) == [[2.0, 1.0], [4.0, 1.0]]
    assert await gateway.use_model(ModelType.TEXT_EMBEDDING, "xyz") == [3.0, 1.0]
    assert texts == ["ab", "abcd", "xyz"]


# --- use_model over typed providers -------------------------------------------------------------------------


async def test_use_model_returns_str_vector_and_dict() -> None:
    gateway = ModelGateway()
    model = ScriptedModel(["plain text", '```json\n{"name": "Eliza", "tags": ["a"]}\n```'], embedding_dim=16)
    gateway.register_provider(model)

    text = await gateway.use_model(ModelType.TEXT_LARGE, "say something")
    assert text == "plain text"
    obj = await gateway.use_model(ModelType.OBJECT_LARGE, {"prompt": "json", "schema": {"type": "object"}})
    assert obj == {"name": "Eliza", "tags": ["a"]}
    vector = await gateway.use_model(ModelType.TEXT_EMBEDDING, "hello world")
    assert vector == hashed_embedding("hello world", 16)
    assert model.embed_calls == 1


async def test_use_model_maps_elizaos_params_to_a_typed_request() -> None:
    gateway = ModelGateway()
    model = ScriptedModel(["ok"])
    gateway.register_provider(model)
    params = {"prompt": "p", "system": "s", "maxTokens": 77, "temperature": 0.2, "stopSequences": ["<x>"],
              "tools": [{"name": "t", "description": "d"}]}
    await gateway.use_model(ModelType.TEXT_SMALL, params)
    (call,) = model.calls
    assert call.model_type == ModelType.TEXT_SMALL
    req = call.request
    assert (req.prompt, req.system, req.max_tokens, req.temperature, req.stop_sequences) == (
        "p", "s", 77, 0.2, ["<x>"])
    assert req.tools == [ToolSpec("t", "d")]


async def test_use_model_rejects_types_without_a_typed_path() -> None:
    gateway = ModelGateway()
    gateway.register_provider(ScriptedModel(["x"]), types=[ModelType.IMAGE])
    with pytest.raises(ModelError, match="IMAGE has no typed provider path"):
        await gateway.use_model(ModelType.IMAGE, "a cat")


async def test_suite_blocks_real_requests_by_default(
        fake_openai: FakeOpenAI, make_provider: Callable[..., OpenAICompatProvider]) -> None:
    """tests/conftest.py disables real model requests; a real provider must refuse before any I/O."""
    fake_openai.reply("never sent")
    gateway = ModelGateway()
    gateway.register_provider(make_provider())
    with pytest.raises(ModelError, match="blocked"):
        await gateway.use_model(ModelType.TEXT_SMALL, "hi")
    assert fake_openai.requests == []
    assert fake_openai.pending == 1


# --- test doubles -------------------------------------------------------------------------------------------


async def test_scripted_model_records_requests_and_runs_out() -> None:
    model = ScriptedModel(["one", TextResult(text="two", finish_reason="stop")])
    r1 = await model.generate(ModelType.TEXT_SMALL, TextRequest(prompt="first prompt", system="sys"))
    r2 = await model.generate(ModelType.TEXT_LARGE, TextRequest(prompt="second"))
    assert (r1.text, r2.text) == ("one", "two")
    assert r1.usage is not None and r1.usage.prompt_tokens == 3 and r1.usage.completion_tokens == 1
    assert [c.model_type for c in model.calls] == [ModelType.TEXT_SMALL, ModelType.TEXT_LARGE]
    assert model.prompts == ["sys\nfirst prompt", "second"]
    with pytest.raises(ModelError, match=r"exhausted after 2 replies \(unexpected OBJECT_SMALL call\)"):
        await model.generate(ModelType.OBJECT_SMALL, TextRequest(prompt="third"))
    assert len(model.calls) == 3  # the failed call is recorded too


async def test_scripted_model_repeat_last_add_and_callables() -> None:
    async def async_reply(mt: ModelType, req: TextRequest) -> str:
        return f"async {mt.value}"

    model = ScriptedModel([lambda mt, req: f"sync {req.prompt}"], repeat_last=True)
    model.add(async_reply)
    assert (await model.generate(ModelType.TEXT_SMALL, TextRequest(prompt="q"))).text == "sync q"
    assert (await model.generate(ModelType.TEXT_LARGE, TextRequest(prompt="q"))).text == "async TEXT_LARGE"
    assert (await model.generate(ModelType.TEXT_SMALL, TextRequest(prompt="q"))).text == "async TEXT_SMALL"
    with pytest.raises(ModelError, match="exhausted after 0"):
        await ScriptedModel(repeat_last=True).generate(ModelType.TEXT_SMALL, TextRequest(prompt="q"))


async def test_test_doubles_stream_their_text() -> None:
    tokens: list[str] = []

    async def sink(delta: str) -> None:
        tokens.append(delta)

    model = FunctionModel(lambda mt, req: f"{mt.value}:{req.prompt}")
    result = await model.generate(ModelType.TEXT_SMALL, TextRequest(prompt="hi", on_token=sink))
    assert result.text == "TEXT_SMALL:hi"
    assert tokens == ["TEXT_SMALL:hi"]
    assert model.calls[0].request.prompt == "hi"


def test_test_doubles_serve_text_and_embeddings_but_not_media() -> None:
    types = ScriptedModel().model_types
    assert {ModelType.TEXT_SMALL, ModelType.OBJECT_LARGE, ModelType.TEXT_EMBEDDING} <= types
    assert ModelType.IMAGE not in types and ModelType.TRANSCRIPTION not in types


def test_hashed_embedding_is_deterministic_and_similarity_preserving() -> None:
    a = hashed_embedding("the cat sat on the mat")
    assert a == hashed_embedding("The cat sat on the mat!")
    assert len(a) == 384
    assert math.isclose(math.sqrt(sum(v * v for v in a)), 1.0)
    similar = hashed_embedding("a cat sat on a mat")
    unrelated = hashed_embedding("quarterly revenue projections for shipping")
    assert _cosine(a, similar) > _cosine(a, unrelated)
    empty = hashed_embedding("", dim=8)
    assert empty == [1.0] + [0.0] * 7


def test_reply_builders() -> None:
    reply = tool_calls_reply(("search", {"q": "x"}), ("open", {"n": 1}), text="working")
    assert reply.text == "working"
    assert reply.tool_calls == [ToolCall("call_1", "search", {"q": "x"}),
                                ToolCall("call_2", "open", {"n": 1})]
    xml = xml_reply("Hello!", actions=("REPLY", "FOLLOW_ROOM"), thought="greet", providers=("TIME",))
    assert "<actions>REPLY,FOLLOW_ROOM</actions>" in xml
    assert "<thought>greet</thought>" in xml
    assert "<providers>TIME</providers>" in xml
    assert "<text>Hello!</text>" in xml
