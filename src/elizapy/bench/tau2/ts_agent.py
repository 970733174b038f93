"""A real, unmodified ElizaOS TS 1.7.2 agent as a tau2 ``LocalAgent``: the Python end of a JSON-lines bridge.

The TS end is ``packages/plugin-python-sidekick/bench/tau2-agent.mjs``: a node process running an
AgentRuntime (plugin-bootstrap, plugin-sql on PGLite) with one TS action per tau2 tool, and for the
``ts-sidekick`` reasoner our plugin-python-sidekick, whose ``PYTHON_DELEGATE`` hands the turn to the Python
tool loop. Both legs run on the same OpenAI-compatible model, called from node.

tau2's orchestrator is synchronous and owns the environment, so a tool action in node does not run its tool:
it emits ``tool_call`` and waits. :meth:`ElizaTsTau2Agent.generate_next_message` turns those into an
assistant message with tool calls (ids echoed exactly), and answers the next call's tool messages with
``tool_result``; the turn's ``reply`` becomes the assistant's text. Calls that arrive together (the delegate
runs independent tools at once) go to tau2 as one batch.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from ...errors import ConfigError
from .agent import TURN_TIMEOUT_S, history_turns, tool_defs
from .agents import AgentSpec
from .env import load_tau2
from .session import EMPTY_REPLY_TEXT, SessionStats

load_tau2()

from tau2.agent.base import AgentError, LocalAgent  # type: ignore[import-untyped, import-not-found]  # noqa: E402
from tau2.data_model.message import (  # type: ignore[import-untyped, import-not-found]  # noqa: E402
    AssistantMessage,
    MultiToolMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)

TS_REASONERS = ("ts-xml", "ts-sidekick")
PACKAGE_DIR = Path(__file__).resolve().parents[4] / "packages" / "plugin-python-sidekick"
SCRIPT = Path("bench") / "tau2-agent.mjs"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0
BATCH_IDLE_S = 0.3
"""How long to wait for more tool calls after one arrives: the delegate's parallel calls come together."""
STDERR_TAIL_LINES = 60


# --- node -> python events ----------------------------------------------------------------------------------


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Ready(BaseModel):
    op: Literal["ready"]
    actions: list[str] = []


class Ok(BaseModel):
    op: Literal["ok"]


class ToolCallEvent(BaseModel):
    op: Literal["tool_call"]
    id: str
    name: str
    arguments: dict[str, Any] = {}


class Reply(BaseModel):
    op: Literal["reply"]
    text: str
    actions: list[str] = []
    usage: Usage = Usage()
    model_calls: int = 0


class Failed(BaseModel):
    op: Literal["error"]
    message: str
    usage: Usage = Usage()
    model_calls: int = 0


class Stopped(BaseModel):
    op: Literal["stopped"]


NodeEvent = Annotated[Ready | Ok | ToolCallEvent | Reply | Failed | Stopped, Field(discriminator="op")]
_EVENTS: TypeAdapter[NodeEvent] = TypeAdapter(NodeEvent)


class _Closed:
    """Put on the event queue when node's stdout ends."""


class NodeAgentProcess:
    """The node process and its JSON lines: a reader thread per pipe, every wait bounded.

    It also keeps the conversation's :class:`~.session.SessionStats` (the runner reads ``session.stats``).
    """

    def __init__(self, argv: list[str], *, cwd: Path, env: dict[str, str]) -> None:
        self.stats = SessionStats()
        self._events: queue.Queue[NodeEvent | _Closed] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._peeked: deque[NodeEvent] = deque()
        self._write_lock = threading.Lock()
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        threading.Thread(target=self._read_stdout, name="tau2-node-out", daemon=True).start()
        threading.Thread(target=self._read_stderr, name="tau2-node-err", daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if not line.strip():
                continue
            try:
                self._events.put(_EVENTS.validate_json(line))
            except ValidationError as exc:
                self._stderr.append(f"[bridge] undecodable line from node: {line.strip()[:300]} ({exc})")
        self._events.put(_Closed())

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line.rstrip("\n"))

    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            with self._write_lock:
                self.proc.stdin.write(json.dumps(message, ensure_ascii=False) + "\n")
                self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise self._dead(f"cannot write to the TS agent ({exc})") from exc

    def next_event(self, timeout_s: float) -> NodeEvent:
        """The next event from node; AgentError when it does not come in time or node is gone."""
        if self._peeked:
            return self._peeked.popleft()
        try:
            event = self._events.get(timeout=timeout_s)
        except queue.Empty:
            raise AgentError(f"the TS agent did not answer within {timeout_s:g}s") from None
        if isinstance(event, _Closed):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
            raise self._dead("the TS agent exited")
        return event

    def more_tool_calls(self, idle_s: float) -> list[ToolCallEvent]:
        """Tool calls that follow within ``idle_s`` of each other; any other event is kept for later."""
        out: list[ToolCallEvent] = []
        while True:
            try:
                event = self._events.get(timeout=idle_s)
            except queue.Empty:
                return out
            if isinstance(event, ToolCallEvent):
                out.append(event)
                continue
            if isinstance(event, _Closed):
                self._events.put(event)
            else:
                self._peeked.append(event)
            return out

    def _dead(self, what: str) -> Exception:
        code = self.proc.poll()
        status = "still running" if code is None else f"exit code {code}"
        error = AgentError(f"{what} ({status}); its stderr ends with:\n{self.stderr_tail()}")
        return error  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(AgentError):
                self.send({"op": "stop"})
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()


class ElizaTsTau2Agent(LocalAgent):  # type: ignore[misc]
    """One simulated conversation's agent: a fresh node process and PGLite database per :class:`AgentSpec`."""

    def __init__(
        self,
        tools: list[Any],
        domain_policy: str,
        *,
        environment: Any,
        spec: AgentSpec,
        turn_timeout_s: float = TURN_TIMEOUT_S,
        package_dir: Path = PACKAGE_DIR,
        node: str | None = None,
    ) -> None:
        super().__init__(tools=tools, domain_policy=domain_policy)
        if spec.reasoner not in TS_REASONERS:
            raise ConfigError(f"the TS agent runs reasoners {', '.join(TS_REASONERS)}, not {spec.reasoner!r}")
        node = node or shutil.which("node")
        if node is None:
            raise ConfigError("the TS agent needs node on PATH")
        if not (package_dir / "node_modules" / "@elizaos" / "core").is_dir():
            raise ConfigError(f"{package_dir}/node_modules is absent (run: scripts/setup/sidekick.sh)")
        self.spec = spec
        self.turn_timeout_s = turn_timeout_s
        self._closed = False
        self._turn_started = time.perf_counter()
        env = {**os.environ, "LOG_LEVEL": os.environ.get("TAU2_TS_LOG_LEVEL", "fatal")}
        self.session = NodeAgentProcess([node, str(SCRIPT)], cwd=package_dir, env=env)
        try:
            self._init(environment, tools)
        except BaseException:
            self.session.close()
            raise

    def _init(self, environment: Any, tools: list[Any]) -> None:
        spec = self.spec
        key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
        self.session.send(
            {
                "op": "init",
                "character": spec.character.to_wire(),
                "policy": self.domain_policy,
                "tools": [
                    {"name": d.name, "description": d.description, "parameters": d.parameters}
                    for d in tool_defs(environment, tools)
                ],
                "model_url": spec.model_url,
                "model": spec.model,
                "api_key": key,
                "temperature": spec.temperature or 0.0,
                "sidekick": spec.reasoner == "ts-sidekick",
                # The sidekick waits on node for every useModel: as long as a turn may take, not 30 s.
                "python": [
                    sys.executable,
                    "-m",
                    "elizapy.cli_sidekick",
                    "--request-timeout",
                    str(self.turn_timeout_s),
                ],
                "max_steps": spec.max_steps,
                "turn_timeout_ms": int(self.turn_timeout_s * 1000),
            }
        )
        self._expect(Ready, START_TIMEOUT_S, "start")

    def _expect(self, kind: type[Ready] | type[Ok], timeout_s: float, what: str) -> None:
        event = self.session.next_event(timeout_s)
        if isinstance(event, Failed):
            raise AgentError(f"the TS agent failed to {what}: {event.message}\n{self.session.stderr_tail()}")
        if not isinstance(event, kind):
            raise AgentError(f"the TS agent answered {event.op!r} to {what}")

    # --- tau2's agent interface -------------------------------------------------------------------------

    def get_init_state(self, message_history: list[Any] | None = None) -> dict[str, Any]:
        turns = [{"role": role, "text": text} for role, text in history_turns(message_history)]
        # The orchestrator's default greeting is history too; store it so the transcript matches tau2's.
        if turns:
            self.session.send({"op": "history", "turns": turns})
            self._expect(Ok, self.turn_timeout_s, "store the history")
        return {"turns": len(turns)}

    def set_seed(self, seed: int) -> None:
        return None

    def generate_next_message(self, message: Any, state: Any) -> tuple[Any, Any]:
        stats = self.session.stats
        if isinstance(message, UserMessage):
            self._turn_started = time.perf_counter()
            self.session.send({"op": "user", "text": str(message.content or "")})
        elif isinstance(message, ToolMessage | MultiToolMessage):
            msgs = message.tool_messages if isinstance(message, MultiToolMessage) else [message]
            for m in msgs:
                stats.tool_calls += 1
                stats.tool_errors += int(bool(m.error))
                self.session.send(
                    {"op": "tool_result", "id": m.id, "content": str(m.content or ""), "error": bool(m.error)}
                )
        else:
            raise AgentError(f"unexpected message for the agent: {type(message).__name__}")
        event = self.session.next_event(self.turn_timeout_s)
        if isinstance(event, ToolCallEvent):
            batch = [event, *self.session.more_tool_calls(BATCH_IDLE_S)]
            stats.tool_batches += 1
            calls = [
                ToolCall(id=e.id, name=e.name, arguments=e.arguments, requestor="assistant") for e in batch
            ]
            return AssistantMessage(role="assistant", content=None, tool_calls=calls), state
        if isinstance(event, Reply | Failed):
            stats.runs += 1
            stats.text_model_calls += event.model_calls
            stats.model_calls += event.model_calls
            stats.prompt_tokens += event.usage.prompt_tokens
            stats.completion_tokens += event.usage.completion_tokens
        if isinstance(event, Reply):
            stats.turn_ms.append((time.perf_counter() - self._turn_started) * 1000)
            text = event.text.strip()
            if not text:
                stats.empty_replies += 1
                text = EMPTY_REPLY_TEXT
            return AssistantMessage(role="assistant", content=text, usage=event.usage.model_dump()), state
        error = event.message if isinstance(event, Failed) else f"unexpected {event.op!r} event during a turn"
        stats.errors.append(error)
        raise AgentError(error)

    def stop(self, message: Any = None, state: Any = None) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.session.close()
