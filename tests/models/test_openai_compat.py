"""The OpenAI-compatible provider, over real HTTP against the fake server; and settings resolution."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import openai
import pytest

from elizapy.errors import ConfigError, ModelError
from elizapy.models import (
    ChatMessage,
    ModelGateway,
    TextRequest,
    ToolCall,
    ToolSpec,
    allow_model_requests,
)
from elizapy.models.openai_compat import (
    NO_KEY_PLACEHOLDER,
    OpenAICompatProvider,
    from_settings,
    parse_tool_arguments,
)
from elizapy.models.settings import SettingsSource, load_env_file
from elizapy.types import ModelType
from tests.models.fake_openai import TEST_API_KEY, FakeOpenAI

MakeProvider = Callable[..., OpenAICompatProvider]

WEATHER = ToolSpec("get_weather", "Current weather for a city",
                   {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
TIME = ToolSpec("get_time", "Current time in a timezone",
                {"type": "object", "properties": {"tz": {"type": "string"}}})


@pytest.fixture(autouse=True)
def _allow() -> Iterator[None]:
    with allow_model_requests():
        yield


# --- plain text ---------------------------------------------------------------------------------------------


async def test_text_reply(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    fake_openai.reply("Hello there, friend.", usage=(12, 5))
    result = await make_provider().generate(ModelType.TEXT_LARGE, TextRequest(prompt="hi"))

    assert result.text == "Hello there, friend."
    assert result.tool_calls == []
    assert result.finish_reason == "stop"
    assert result.model == "large-model"
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (12, 5)

    sent = fake_openai.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {TEST_API_KEY}"
    assert sent.body["model"] == "large-model"
    assert sent.body["messages"] == [{"role": "user", "content": "hi"}]
    for absent in ("tools", "tool_choice", "response_format", "stream", "stop", "max_tokens", "temperature"):
        assert absent not in sent.body


async def test_system_prompt_and_sampling_options_are_sent(fake_openai: FakeOpenAI,
                                                           make_provider: MakeProvider) -> None:
    fake_openai.reply("ok")
    request = TextRequest(prompt="What is 2+2?", system="You are terse.", max_tokens=50, temperature=0.25,
                          stop_sequences=["</end>", "\n\n"])
    await make_provider().generate(ModelType.TEXT_SMALL, request)

    body = fake_openai.last
    assert body["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is 2+2?"},
    ]
    assert body["max_tokens"] == 50
    assert "max_completion_tokens" not in body
    assert body["temperature"] == 0.25
    assert body["stop"] == ["</end>", "\n\n"]


@pytest.mark.parametrize(("model_type", "expected"), [
    (ModelType.TEXT_SMALL, "small-model"),
    (ModelType.REASONING_SMALL, "small-model"),
    (ModelType.OBJECT_SMALL, "small-model"),
    (ModelType.TEXT_LARGE, "large-model"),
    (ModelType.REASONING_LARGE, "large-model"),
    (ModelType.TEXT_COMPLETION, "large-model"),
    (ModelType.OBJECT_LARGE, "large-model"),
])
async def test_model_type_picks_small_or_large_model(fake_openai: FakeOpenAI, make_provider: MakeProvider,
                                                     model_type: ModelType, expected: str) -> None:
    fake_openai.reply("{}")
    await make_provider().generate(model_type, TextRequest(prompt="x"))
    assert fake_openai.last["model"] == expected


def test_served_types_and_flags(make_provider: MakeProvider) -> None:
    provider = make_provider()
    assert ModelType.TEXT_EMBEDDING in provider.model_types
    assert ModelType.IMAGE not in provider.model_types
    assert provider.native_tools is True
    assert make_provider(native_tools=False).native_tools is False


async def test_unsupported_type_is_rejected_without_a_request(fake_openai: FakeOpenAI,
                                                              make_provider: MakeProvider) -> None:
    provider = make_provider()
    with pytest.raises(ModelError, match="IMAGE"):
        await provider.generate(ModelType.IMAGE, TextRequest(prompt="a cat"))
    with pytest.raises(ModelError, match="TEXT_EMBEDDING"):
        await provider.generate(ModelType.TEXT_EMBEDDING, TextRequest(prompt="a cat"))
    with pytest.raises(ModelError, match="TEXT_LARGE"):
        await provider.embed(ModelType.TEXT_LARGE, ["a cat"])
    assert fake_openai.requests == []



async def test_caller_supplied_http_client_is_used_and_left_open(fake_openai: FakeOpenAI,
                                                                 make_provider: MakeProvider) -> None:
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async with httpx.AsyncClient(timeout=5, event_hooks={"request": [hook]}) as client:
        provider = make_provider(http_client=client)
        fake_openai.reply("via my client")
        result = await provider.generate(ModelType.TEXT_SMALL, TextRequest(prompt="x"))
        assert result.text == "via my client"
        await provider.aclose()
        assert not client.is_closed
    assert seen == ["/v1/chat/completions"]

# --- tools --------------------------------------------------------------------------------------------


async def test_two_tool_calls_are_parsed_with_ids(fake_openai: FakeOpenAI,
                                                  make_provider: MakeProvider) -> None:
    fake_openai.reply(tool_calls=[("call_abc", "get_weather", {"city": "Paris"}),
                                  ("call_def", "get_time", {"tz": "Europe/Paris"})])
    request = TextRequest(prompt="Weather and time in Paris?", tools=[WEATHER, TIME], tool_choice="required")
    result = await make_provider().generate(ModelType.TEXT_LARGE, request)

    assert result.text == ""
    assert result.finish_reason == "tool_calls"
    assert result.tool_calls == [ToolCall("call_abc", "get_weather", {"city": "Paris"}),
                                 ToolCall("call_def", "get_time", {"tz": "Europe/Paris"})]
    body = fake_openai.last
    assert body["tool_choice"] == "required"
    assert body["tools"] == [
        {"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city",
                                          "parameters": WEATHER.parameters}},
        {"type": "function", "function": {"name": "get_time", "description": "Current time in a timezone",
                                          "parameters": TIME.parameters}},
    ]


async def test_malformed_tool_arguments_are_kept_raw(fake_openai: FakeOpenAI,
                                                     make_provider: MakeProvider) -> None:
    fake_openai.reply(tool_calls=[("c1", "get_weather", '{"city": "Par'), ("c2", "get_time", "[1, 2]"),
                                  ("c3", "get_time", "")])
    result = await make_provider().generate(ModelType.TEXT_LARGE, TextRequest(prompt="x", tools=[WEATHER]))
    assert [tc.arguments for tc in result.tool_calls] == [{"_raw": '{"city": "Par'}, {"_raw": "[1, 2]"}, {}]


def test_parse_tool_arguments() -> None:
    assert parse_tool_arguments('{"a": 1}') == {"a": 1}
    assert parse_tool_arguments("not json") == {"_raw": "not json"}
    assert parse_tool_arguments('"just a string"') == {"_raw": '"just a string"'}
    assert parse_tool_arguments(None) == {}
    assert parse_tool_arguments("  ") == {}


async def test_tool_results_round_trip(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    provider = make_provider()
    fake_openai.reply(tool_calls=[("call_1", "get_weather", {"city": "Oslo"}),
                                  ("call_2", "get_weather", {"city": "Bergen"})])
    history = [ChatMessage("user", "Weather in Oslo and Bergen?")]
    first = await provider.generate(ModelType.TEXT_LARGE, TextRequest(messages=history, tools=[WEATHER],
                                                                      system="Use tools."))

    fake_openai.reply("Oslo is 3°C, Bergen is 7°C.")
    history += [
        ChatMessage("assistant", None, tool_calls=first.tool_calls),
        ChatMessage("tool", "3°C, cloudy", tool_call_id="call_1"),
        ChatMessage("tool", "7°C, rain", tool_call_id="call_2"),
    ]
    second = await provider.generate(ModelType.TEXT_LARGE, TextRequest(messages=history, tools=[WEATHER],
                                                                       system="Use tools."))
    assert second.text == "Oslo is 3°C, Bergen is 7°C."

    messages = fake_openai.last["messages"]
    assert messages[0] == {"role": "system", "content": "Use tools."}
    assert messages[1] == {"role": "user", "content": "Weather in Oslo and Bergen?"}
    assistant = messages[2]
    assert assistant["role"] == "assistant"
    assert assistant.get("content") is None
    assert [(c["id"], c["type"], c["function"]["name"], json.loads(c["function"]["arguments"]))
            for c in assistant["tool_calls"]] == [("call_1", "function", "get_weather", {"city": "Oslo"}),
                                                  ("call_2", "function", "get_weather", {"city": "Bergen"})]
    assert messages[3:] == [
        {"role": "tool", "tool_call_id": "call_1", "content": "3°C, cloudy"},
        {"role": "tool", "tool_call_id": "call_2", "content": "7°C, rain"},
    ]


async def test_raw_arguments_are_sent_back_unchanged(fake_openai: FakeOpenAI,
                                                     make_provider: MakeProvider) -> None:
    fake_openai.reply("fine")
    raw_call = ToolCall("c9", "get_time", {"_raw": "{oops"})
    history = [ChatMessage("assistant", "let me check", tool_calls=[raw_call]),
               ChatMessage("tool", "error: bad arguments", tool_call_id="c9")]
    await make_provider().generate(ModelType.TEXT_SMALL, TextRequest(messages=history))
    assistant = fake_openai.last["messages"][0]
    assert assistant["content"] == "let me check"
    assert assistant["tool_calls"][0]["function"]["arguments"] == "{oops"


async def test_tool_message_without_id_is_rejected(fake_openai: FakeOpenAI,
                                                   make_provider: MakeProvider) -> None:
    with pytest.raises(ModelError, match="tool_call_id"):
        await make_provider().generate(ModelType.TEXT_SMALL,
                                       TextRequest(messages=[ChatMessage("tool", "result")]))
    assert fake_openai.requests == []


async def test_tools_not_sent_when_native_tools_off(fake_openai: FakeOpenAI,
                                                    make_provider: MakeProvider) -> None:
    fake_openai.reply("plain")
    request = TextRequest(prompt="x", tools=[WEATHER], tool_choice="auto")
    await make_provider(native_tools=False).generate(ModelType.TEXT_LARGE, request)
    assert "tools" not in fake_openai.last
    assert "tool_choice" not in fake_openai.last


async def test_tool_choice_needs_tools(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    fake_openai.reply("plain")
    await make_provider().generate(ModelType.TEXT_LARGE, TextRequest(prompt="x", tool_choice="none"))
    assert "tool_choice" not in fake_openai.last


# --- streaming --------------------------------------------------------------------------------------------


async def test_streaming_delivers_deltas_in_order(fake_openai: FakeOpenAI,
                                                  make_provider: MakeProvider) -> None:
    fake_openai.reply("The quick brown fox jumps.", usage=(9, 6), chunk_delay_s=0.03)
    seen: list[tuple[str, float]] = []

    async def on_token(delta: str) -> None:
        seen.append((delta, time.monotonic()))

    result = await make_provider().generate(ModelType.TEXT_SMALL, TextRequest(prompt="go", on_token=on_token))

    deltas = [d for d, _ in seen]
    assert deltas == ["The ", "quick ", "brown ", "fox ", "jumps."]
    assert result.text == "".join(deltas) == "The quick brown fox jumps."
    # Deltas arrived while the server was still sending, not all at once at the end.
    assert seen[-1][1] - seen[0][1] > 0.06
    assert result.finish_reason == "stop"
    assert result.model == "small-model"
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (9, 6)
    body = fake_openai.last
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


async def test_streamed_tool_calls_are_assembled(fake_openai: FakeOpenAI,
                                                 make_provider: MakeProvider) -> None:
    calls: list[tuple[str, str, str | dict[str, object]]] = [
        ("call_x", "get_weather", {"city": "San Francisco", "units": "metric"}),
        ("call_y", "get_time", {"tz": "America/Los_Angeles"}),
    ]
    fake_openai.reply("Checking.", tool_calls=calls)
    tokens: list[str] = []

    async def on_token(delta: str) -> None:
        tokens.append(delta)

    result = await make_provider().generate(
        ModelType.TEXT_LARGE, TextRequest(prompt="?", tools=[WEATHER, TIME], on_token=on_token))
    assert "".join(tokens) == "Checking." == result.text
    assert result.finish_reason == "tool_calls"
    assert result.tool_calls == [
        ToolCall("call_x", "get_weather", {"city": "San Francisco", "units": "metric"}),
        ToolCall("call_y", "get_time", {"tz": "America/Los_Angeles"}),
    ]


async def test_streaming_and_plain_results_match(fake_openai: FakeOpenAI,
                                                 make_provider: MakeProvider) -> None:
    provider = make_provider()
    for _ in range(2):
        fake_openai.reply("Sure: calling.", tool_calls=[("id1", "get_time", {"tz": "UTC"})], usage=(4, 2))
    plain = await provider.generate(ModelType.TEXT_LARGE, TextRequest(prompt="t", tools=[TIME]))

    async def sink(_: str) -> None:
        return None

    streamed = await provider.generate(ModelType.TEXT_LARGE,
                                       TextRequest(prompt="t", tools=[TIME], on_token=sink))
    assert streamed == plain


async def test_stream_error_becomes_model_error(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    fake_openai.fail(503, "overloaded")

    async def sink(_: str) -> None:
        return None

    with pytest.raises(ModelError, match="HTTP 503: overloaded"):
        await make_provider().generate(ModelType.TEXT_SMALL, TextRequest(prompt="x", on_token=sink))


async def test_stream_stalling_mid_way_is_bounded_by_timeout(fake_openai: FakeOpenAI,
                                                             make_provider: MakeProvider) -> None:
    fake_openai.reply("first then nothing", chunks=["first ", "then nothing"], chunk_delay_s=3.0)
    tokens: list[str] = []

    async def sink(delta: str) -> None:
        tokens.append(delta)

    started = time.monotonic()
    with pytest.raises(ModelError, match="timed out"):
        await make_provider(timeout_s=0.3).generate(ModelType.TEXT_SMALL,
                                                    TextRequest(prompt="x", on_token=sink))
    assert tokens == ["first "]
    assert time.monotonic() - started < 2.0



async def test_error_event_mid_stream_becomes_model_error(fake_openai: FakeOpenAI,
                                                          make_provider: MakeProvider) -> None:
    fake_openai.reply("partial answer", stream_error="upstream model crashed")
    tokens: list[str] = []

    async def sink(delta: str) -> None:
        tokens.append(delta)

    with pytest.raises(ModelError, match="upstream model crashed") as info:
        await make_provider().generate(ModelType.TEXT_SMALL, TextRequest(prompt="x", on_token=sink))
    assert tokens == ["partial ", "answer"]
    assert isinstance(info.value.__cause__, openai.APIError)

# --- structured output ------------------------------------------------------------------------------------


async def test_object_with_schema_sends_json_schema(fake_openai: FakeOpenAI,
                                                    make_provider: MakeProvider) -> None:
    schema = {"title": "Person card", "type": "object",
              "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name"]}
    fake_openai.reply('{"name": "Ada", "age": 36}')
    result = await make_provider().generate(ModelType.OBJECT_LARGE,
                                            TextRequest(prompt="Describe Ada", response_schema=schema))
    assert json.loads(result.text) == {"name": "Ada", "age": 36}
    assert fake_openai.last["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "Person_card", "schema": schema}}


async def test_object_without_schema_sends_json_object(fake_openai: FakeOpenAI,
                                                       make_provider: MakeProvider) -> None:
    fake_openai.reply('{"ok": true}')
    await make_provider().generate(ModelType.OBJECT_SMALL, TextRequest(prompt="json please"))
    assert fake_openai.last["response_format"] == {"type": "json_object"}


async def test_text_type_with_schema_is_constrained(fake_openai: FakeOpenAI,
                                                    make_provider: MakeProvider) -> None:
    fake_openai.reply('{"plan": []}')
    schema = {"type": "object", "properties": {"plan": {"type": "array"}}}
    await make_provider().generate(ModelType.TEXT_LARGE, TextRequest(prompt="plan", response_schema=schema))
    assert fake_openai.last["response_format"]["json_schema"] == {"name": "response", "schema": schema}


async def test_gateway_use_model_through_provider(fake_openai: FakeOpenAI,
                                                  make_provider: MakeProvider) -> None:
    gateway = ModelGateway()
    gateway.register_provider(make_provider())
    fake_openai.reply("pong")
    fake_openai.reply('```json\n{"mood": "happy"}\n```')
    assert await gateway.use_model(ModelType.TEXT_SMALL, "ping") == "pong"
    assert await gateway.use_model(ModelType.OBJECT_SMALL, {"prompt": "mood?"}) == {"mood": "happy"}
    vector = await gateway.use_model(ModelType.TEXT_EMBEDDING, "hello")
    assert vector == [5.0, 0.0, 0.5]


# --- embeddings -------------------------------------------------------------------------------------------


async def test_embeddings_without_dimensions(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    vectors = await make_provider().embed(ModelType.TEXT_EMBEDDING, ["a", "bcd"])
    assert vectors == [[1.0, 0.0, 0.5], [3.0, 1.0, 0.5]]
    sent = fake_openai.requests[0]
    assert sent.path == "/v1/embeddings"
    assert sent.body["model"] == "embed-model"
    assert sent.body["input"] == ["a", "bcd"]
    assert sent.body["encoding_format"] == "float"
    assert "dimensions" not in sent.body


async def test_embeddings_with_dimensions(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    vectors = await make_provider(embedding_dimensions=6).embed(ModelType.TEXT_EMBEDDING, ["xy"])
    assert fake_openai.last["dimensions"] == 6
    assert len(vectors) == 1 and len(vectors[0]) == 6


async def test_embeddings_edge_cases(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    provider = make_provider()
    assert await provider.embed(ModelType.TEXT_EMBEDDING, []) == []
    assert fake_openai.requests == []
    fake_openai.embeddings([[0.1, 0.2]])
    with pytest.raises(ModelError, match="1 vectors for 2 inputs"):
        await provider.embed(ModelType.TEXT_EMBEDDING, ["one", "two"])


# --- failures ---------------------------------------------------------------------------------------------


async def test_http_500_becomes_model_error(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    fake_openai.fail(500, "The server had an error while processing your request.")
    with pytest.raises(ModelError) as info:
        await make_provider().generate(ModelType.TEXT_LARGE, TextRequest(prompt="x"))
    message = str(info.value)
    assert "HTTP 500" in message
    assert "The server had an error" in message
    assert TEST_API_KEY not in message
    assert isinstance(info.value.__cause__, openai.APIStatusError)


async def test_http_401_does_not_leak_the_key(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    fake_openai.fail(401, "Incorrect API key provided")
    with pytest.raises(ModelError) as info:
        await make_provider().generate(ModelType.TEXT_LARGE, TextRequest(prompt="x"))
    # The fake quotes the key back, as real servers may; the error must not repeat it, nor a prefix of it.
    cause = info.value.__cause__
    assert isinstance(cause, openai.AuthenticationError)
    assert TEST_API_KEY in str(cause.body)
    message = str(info.value)
    assert "HTTP 401" in message and "Incorrect API key provided" in message
    assert TEST_API_KEY not in message
    assert TEST_API_KEY[:12] not in message


async def test_embedding_http_error(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    fake_openai.fail(400, "input too long")
    with pytest.raises(ModelError, match="HTTP 400: input too long"):
        await make_provider().embed(ModelType.TEXT_EMBEDDING, ["x"])


async def test_retries_are_bounded_by_max_retries(fake_openai: FakeOpenAI,
                                                  make_provider: MakeProvider) -> None:
    fake_openai.fail(503, "busy", headers={"retry-after-ms": "1"})
    fake_openai.reply("second time lucky")
    result = await make_provider(max_retries=1).generate(ModelType.TEXT_SMALL, TextRequest(prompt="x"))
    assert result.text == "second time lucky"
    assert len(fake_openai.requests) == 2


async def test_hung_server_is_bounded_by_timeout(fake_openai: FakeOpenAI,
                                                 make_provider: MakeProvider) -> None:
    fake_openai.hang(3.0)
    started = time.monotonic()
    with pytest.raises(ModelError, match=r"timed out after 0\.2s"):
        await make_provider(timeout_s=0.2).generate(ModelType.TEXT_SMALL, TextRequest(prompt="x"))
    assert time.monotonic() - started < 2.0


async def test_unreachable_server(make_provider: MakeProvider) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = make_provider(base_url=f"http://user:hunter2@127.0.0.1:{port}/v1")
    with pytest.raises(ModelError, match=r"could not connect to http://127\.0\.0\.1:") as info:
        await provider.generate(ModelType.TEXT_SMALL, TextRequest(prompt="x"))
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in repr(provider)


async def test_requests_blocked_when_disabled(fake_openai: FakeOpenAI, make_provider: MakeProvider) -> None:
    fake_openai.reply("never")
    provider = make_provider()
    with allow_model_requests(False):
        with pytest.raises(ModelError, match="blocked"):
            await provider.generate(ModelType.TEXT_SMALL, TextRequest(prompt="x"))
        with pytest.raises(ModelError, match="blocked"):
            await provider.embed(ModelType.TEXT_EMBEDDING, ["x"])
    assert fake_openai.requests == []


@pytest.mark.parametrize("timeout_s", [0, -1, float("inf"), float("nan"), 10_000])
def test_timeout_must_be_bounded(timeout_s: float) -> None:
    with pytest.raises(ConfigError, match="timeout_s"):
        OpenAICompatProvider(api_key="k", timeout_s=timeout_s)


def test_repr_hides_the_key(make_provider: MakeProvider) -> None:
    text = repr(make_provider())
    assert TEST_API_KEY not in text
    assert "small-model" in text


# --- from_settings ----------------------------------------------------------------------------------------


def test_from_settings_none_when_unconfigured() -> None:
    nothing: dict[str, str] = {}
    assert from_settings(nothing.get) is None
    assert from_settings({"OPENAI_API_KEY": "", "OPENAI_BASE_URL": "https://api.openai.com/v1/"}.get) is None


def test_from_settings_defaults() -> None:
    provider = from_settings({"OPENAI_API_KEY": "sk-real"}.get)
    assert provider is not None
    assert provider.base_url == "https://api.openai.com/v1"
    assert (provider.small_model, provider.large_model) == ("gpt-4o-mini", "gpt-4o")
    assert provider.embedding_model == "text-embedding-3-small"
    assert provider.embedding_dimensions is None
    assert provider.timeout_s == 120.0


def test_from_settings_model_name_priority() -> None:
    settings = {"OPENAI_API_KEY": "sk-real", "SMALL_MODEL": "generic-small", "LARGE_MODEL": "generic-large",
                "OPENAI_LARGE_MODEL": "openai-large", "OPENAI_EMBEDDING_MODEL": "emb",
                "OPENAI_EMBEDDING_DIMENSIONS": " 512 "}
    provider = from_settings(settings.get)
    assert provider is not None
    assert provider.small_model == "generic-small"
    assert provider.large_model == "openai-large"
    assert provider.embedding_model == "emb"
    assert provider.embedding_dimensions == 512


def test_from_settings_bad_dimensions() -> None:
    with pytest.raises(ConfigError, match="OPENAI_EMBEDDING_DIMENSIONS"):
        from_settings({"OPENAI_API_KEY": "k", "OPENAI_EMBEDDING_DIMENSIONS": "lots"}.get)


async def test_from_settings_local_server_needs_no_key(fake_openai: FakeOpenAI) -> None:
    source = SettingsSource({"OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_SMALL_MODEL": "llama3.2:1b"},
                            None)
    provider = from_settings(source.get_str)
    assert provider is not None
    try:
        fake_openai.reply("local hello")
        result = await provider.generate(ModelType.TEXT_SMALL, TextRequest(prompt="hi"))
    finally:
        await provider.aclose()
    assert result.text == "local hello"
    assert fake_openai.requests[0].headers["authorization"] == f"Bearer {NO_KEY_PLACEHOLDER}"
    assert fake_openai.last["model"] == "llama3.2:1b"


# --- SettingsSource -----------------------------------------------------------------------------------------


def test_settings_lookup_order(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("K=from-env-file\nONLY_FILE=file\n")
    layers = [
        ("character.secrets", {"K": "secret"}),
        ("character.settings", {"K": "setting"}),
        ("character.settings.secrets", {"K": "nested"}),
        ("runtime", {"K": "runtime"}),
        ("env", {"K": "env"}),
    ]
    expected = ["secret", "setting", "nested", "runtime", "env", "from-env-file"]
    for skip in range(len(layers) + 1):
        present = dict(layers[skip:])
        settings: dict[str, object] = dict(present.get("character.settings", {}))
        if "character.settings.secrets" in present:
            settings["secrets"] = present["character.settings.secrets"]
        source = SettingsSource(settings, present.get("character.secrets"), present.get("runtime"),
                                present.get("env"), env_file=env_file)
        assert source.get("K") == expected[skip], skip
    source = SettingsSource(None, None, env_file=env_file)
    assert source.get("ONLY_FILE") == "file"
    assert source.source_of("ONLY_FILE") == "env_file"
    assert source.get("MISSING") is None
    assert source.get("MISSING", "dflt") == "dflt"
    assert source.get_str("MISSING") is None


def test_settings_empty_string_falls_through() -> None:
    source = SettingsSource({"K": "from-settings"}, {"K": ""})
    assert source.get("K") == "from-settings"
    assert source.source_of("K") == "character.settings"


def test_settings_boolean_coercion() -> None:
    source = SettingsSource({"A": "true", "B": "FALSE", "C": " True ", "D": "yes", "E": 3, "F": False}, None,
                            env={"G": "false"})
    assert source.get("A") is True
    assert source.get("B") is False
    assert source.get("C") is True
    assert source.get("D") == "yes"
    assert source.get("E") == 3
    assert source.get("F") is False
    assert source.get("G") is False
    assert source.get_str("A") == "true"
    assert source.get_str("E") == "3"
    assert source("B") == "false"


def test_settings_do_not_read_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELIZAPY_TEST_ONLY_IN_ENVIRON", "x")
    assert SettingsSource(None, None).get("ELIZAPY_TEST_ONLY_IN_ENVIRON") is None
    assert SettingsSource(None, None, env={"ELIZAPY_TEST_ONLY_IN_ENVIRON": "y"}).get(
        "ELIZAPY_TEST_ONLY_IN_ENVIRON") == "y"


def test_load_env_file(tmp_path: Path) -> None:
    assert load_env_file(tmp_path / "absent.env") == {}
    path = tmp_path / ".env"
    path.write_text('# comment\nA=1\nexport B="two words"\nNO_VALUE\n')
    assert load_env_file(path) == {"A": "1", "B": "two words"}


def test_settings_redaction() -> None:
    source = SettingsSource(
        {"OPENAI_API_KEY": "sk-settings-leak", "MODEL": "gpt-4o", "DATABASE_URL": "postgres://u:pw123@db/x",
         "voice": {"model": "tts-1", "ACCESS_TOKEN": "tok-leak"}, "secrets": {"plain_name": "nested-leak"}},
        {"innocent": "secret-leak"},
        {"DISCORD_PASSWORD": "pw-leak", "PORT": 3000},
        env={"GITHUB_TOKEN": "env-leak", "HOME": "/home/me"},
    )
    redacted = source.redacted()
    text = repr(source)
    leaks = ("sk-settings-leak", "tok-leak", "nested-leak", "secret-leak", "pw-leak", "pw123", "env-leak")
    for leak in leaks:
        assert leak not in text
        assert leak not in str(redacted)
    assert redacted["MODEL"] == "gpt-4o"
    assert redacted["PORT"] == 3000
    assert redacted["voice"]["model"] == "tts-1"
    assert redacted["OPENAI_API_KEY"] == "***"
    assert redacted["innocent"] == "***"
    assert redacted["plain_name"] == "***"
    assert redacted["DATABASE_URL"] == "postgres://u:***@db/x"
    assert "HOME" not in redacted
    with_env = source.redacted(include_env=True)
    assert with_env["HOME"] == "/home/me"
    assert with_env["GITHUB_TOKEN"] == "***"
    # Values are still there for code that asks for them.
    assert source.get("innocent") == "secret-leak"

