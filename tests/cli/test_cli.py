"""The ``elizapy`` command line, run as a user would (a subprocess), against a fake OpenAI server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.models.fake_openai import FakeOpenAI

EXAMPLES = Path(__file__).parents[2] / "examples" / "characters"


def elizapy(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "elizapy.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def test_check_valid_character_prints_one_line_with_agent_id():
    out = elizapy("check", str(EXAMPLES / "eliza.json"))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    assert "b850bc30-45f8-0041-a00a-83df46d8555d" in lines[0] and lines[0].startswith("Eliza")


def test_check_bad_character_names_field_and_fails(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"name": "X", "bio": "ok", "messageExamples": [[{"name": "a", "content": {"text": 5}}]]})
    )
    out = elizapy("check", str(bad))
    assert out.returncode != 0
    assert "bad.json" in out.stderr and "messageExamples[0][0].content.text" in out.stderr
    assert "Traceback" not in out.stderr


def test_check_invalid_json_reports_position(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"name": "X",\n "bio": [}')
    out = elizapy("check", str(bad))
    assert out.returncode != 0
    assert "broken.json" in out.stderr and "line 2" in out.stderr
    assert "Traceback" not in out.stderr


def _chat_env(fake_openai: FakeOpenAI, tmp_path: Path) -> dict[str, str]:
    """`elizapy chat` against the fake OpenAI-compatible server, data under tmp_path."""
    return {
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_EMBEDDING_DIMENSIONS": "384",
        "ELIZAPY_DATA_DIR": str(tmp_path / "data"),
        "MODEL_PROVIDER": "openai",
    }


def test_chat_persists_history_across_restarts(tmp_path, fake_openai: FakeOpenAI):
    env = _chat_env(fake_openai, tmp_path)
    fake_openai.reply(
        "<response><thought>t</thought><actions>REPLY</actions><text>Nice to meet you, Zed.</text></response>"
    )
    first = elizapy(
        "chat", "--character", str(EXAMPLES / "sage.json"), stdin="My name is Zed.\n", env=env, cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    assert "Nice to meet you, Zed." in first.stdout
    fake_openai.reply(
        "<response><thought>t</thought><actions>REPLY</actions><text>You are Zed.</text></response>"
    )
    second = elizapy(
        "chat", "--character", str(EXAMPLES / "sage.json"), stdin="What is my name?\n", env=env, cwd=tmp_path
    )
    assert second.returncode == 0, second.stderr
    assert "You are Zed." in second.stdout
    chats = [r for r in fake_openai.requests if r.path.endswith("/chat/completions")]
    last_prompt = json.dumps(chats[-1].body["messages"])
    assert "My name is Zed." in last_prompt and "Nice to meet you, Zed." in last_prompt
    assert (tmp_path / "data").is_dir()


def test_chat_without_any_model_says_what_it_needs(tmp_path):
    env = {
        "MODEL_PROVIDER": "openai",
        "OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": "",
        "ELIZAPY_DATA_DIR": str(tmp_path),
    }
    out = elizapy("chat", "--character", str(EXAMPLES / "sage.json"), stdin="hi\n", env=env, cwd=tmp_path)
    assert out.returncode != 0
    assert "OPENAI_API_KEY" in out.stderr and "Traceback" not in out.stderr


def test_chat_records_turns_and_model_calls_when_metrics_are_switched_on(tmp_path, fake_openai: FakeOpenAI):
    import sqlite3

    db = tmp_path / "live-metrics.db"
    env = {**_chat_env(fake_openai, tmp_path), "ELIZAPY_METRICS": str(db)}
    fake_openai.reply(
        "<response><thought>t</thought><actions>REPLY</actions><text>Hello there.</text></response>"
    )
    out = elizapy("chat", "--character", str(EXAMPLES / "sage.json"), stdin="Hi!\n", env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    with sqlite3.connect(db) as conn:
        runs = conn.execute("SELECT run_id, kind FROM runs").fetchall()
        turns = conn.execute("SELECT status, model_calls FROM turns").fetchall()
        calls = conn.execute("SELECT model_type, latency_ms FROM model_calls").fetchall()
    assert len(runs) == 1 and runs[0][1] == "live" and runs[0][0].startswith("live-")
    assert turns and turns[0][0] == "responded" and turns[0][1] >= 1
    assert any(t == "TEXT_LARGE" and ms is not None and ms >= 0 for t, ms in calls)
    # off by default: the same chat without the setting writes no metrics DB
    env.pop("ELIZAPY_METRICS")
    fake_openai.reply("<response><thought>t</thought><actions>REPLY</actions><text>Hi.</text></response>")
    again = elizapy("chat", "--character", str(EXAMPLES / "sage.json"), stdin="Hi\n", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert not (tmp_path / ".elizapy" / "metrics.db").exists()
