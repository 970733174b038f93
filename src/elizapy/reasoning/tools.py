"""The tool-loop reasoner: native tool calling, concurrent execution, iterative replanning.

Where ElizaOS TS picks the whole action chain up front and runs it one action at a time, this loop lets the
model call tools, sees their results, and decides again. All calls the model makes in one turn are
independent by construction (it has not seen any of their results), so they run **concurrently**.

Two ways to get tool calls from a model:
- ``native``: the provider's own tool calling (OpenAI-compatible ``tools``/``tool_calls``);
- ``json``: one JSON-schema-constrained "next step" object per turn — a list of calls or a final answer — for
  models whose native tool calling is unreliable (all small local ones; llama.cpp enforces the schema).
The mode follows the provider's ``native_tools`` capability, overridable with the ``TOOL_CALLING`` setting.

Guards: a step cap with a clear final message, identical repeated calls refused, a per-tool timeout, a token
budget, and cancellation when a newer message supersedes the run (the pipeline cancels the run's scope).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Literal

import anyio

from ..models.base import ChatMessage, TextRequest, TextResult, ToolCall, ToolSpec
from ..models.parsing import extract_json_text
from ..runtime.actions import find_action, run_action
from ..runtime.plugin import Action, ActionContext, ActionOptions
from ..runtime.reasoner import Turn, TurnOutcome
from ..types import ActionResult, Content, Memory, MemoryMetadata, ModelType, new_uuid, now_ms

log = logging.getLogger("elizapy.reasoning.tools")

CallingMode = Literal["native", "json"]
NOT_TOOLS = frozenset({"REPLY", "IGNORE", "NONE"})
NOT_TOOL_PROVIDERS = frozenset({"ACTIONS"})
MAX_RESULT_CHARS = 4000
THOUGHT_MAX_CHARS = 240


@dataclass(slots=True)
class LoopLimits:
    max_steps: int = 8
    """Model turns per run; the loop ends with a clear message when reached."""
    tool_timeout_s: float = 30.0
    max_tokens: int | None = None
    """Prompt + completion tokens per run (None: unlimited)."""
    max_tool_calls: int = 32


def action_tool(action: Action) -> ToolSpec:
    params = action.parameters or {"type": "object", "properties": {}}
    return ToolSpec(name=action.name, description=action.description, parameters=params)


def inline_refs(schema: dict[str, Any], *, max_depth: int = 8) -> dict[str, Any]:
    """``schema`` with its local ``#/$defs/...`` references replaced by the definitions themselves.

    A tool's schema (pydantic writes nested models as ``$defs`` + ``$ref``) is embedded deep inside the
    next-step schema, where ``#/...`` would point at the wrong root; llama.cpp then refuses the whole
    grammar (tau2 airline's ``book_reservation`` did). Recursive definitions stop at ``max_depth`` as a
    plain object.
    """
    defs = {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}

    def resolve(node: Any, depth: int) -> Any:
        if isinstance(node, list):
            return [resolve(v, depth) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(("#/$defs/", "#/definitions/")):
            target = defs.get(ref.rsplit("/", 1)[1])
            if target is None or depth >= max_depth:
                return {"type": "object"}
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            return resolve({**target, **siblings}, depth + 1)
        return {k: resolve(v, depth) for k, v in node.items() if k not in ("$defs", "definitions")}

    out: dict[str, Any] = resolve(schema, 0)
    return out


def next_step_schema(tools: list[ToolSpec]) -> dict[str, Any]:
    """The constrained 'next step' object of the JSON mode: calls to make now, or the final answer."""
    call_variants = [
        {
            "type": "object",
            "properties": {
                "tool": {"const": t.name},
                "arguments": inline_refs(t.parameters) if t.parameters else {"type": "object"},
            },
            "required": ["tool", "arguments"],
        }
        for t in tools
    ]
    calls: dict[str, Any] = (
        {"type": "array", "items": {"anyOf": call_variants}}
        if call_variants
        else {"type": "array", "maxItems": 0}
    )
    # With no tools on offer the step can only be the answer, so it may not be empty.
    answer: dict[str, Any] = {"type": "string"} if call_variants else {"type": "string", "minLength": 1}
    return {
        "type": "object",
        "properties": {
            # bounded: small models otherwise ramble until max_tokens cuts the object in half
            "thought": {"type": "string", "maxLength": THOUGHT_MAX_CHARS},
            "tool_calls": calls,
            "final_answer": answer,
        },
        "required": ["thought", "tool_calls", "final_answer"],
    }


def _result_text(result: ActionResult) -> str:
    if not result.success:
        return f"ERROR: {result.error or 'the tool failed'}"
    if result.text:
        text = result.text
    elif result.data is not None:
        text = json.dumps(result.data, default=str, ensure_ascii=False)
    else:
        text = "ok"
    return text if len(text) <= MAX_RESULT_CHARS else text[:MAX_RESULT_CHARS] + " …(truncated)"


def _provider_texts(turn: Turn) -> tuple[list[str], list[str]]:
    """Provider texts of the turn's state, split by placement: ``position < 0`` is the agent and its world
    (stable within a conversation), ``position >= 0`` the conversation itself. ``ACTIONS`` is left out: the
    tools are the actions here, and a listing of REPLY/IGNORE/NONE only confuses small models."""
    composed = turn.state.data.get("providers") if isinstance(turn.state.data, dict) else None
    if not isinstance(composed, dict):  # a state built by hand: all of it is conversation context
        return [], [turn.state.text] if turn.state.text else []
    positions = {p.name: p.position for p in turn.runtime.providers}
    world: list[str] = []
    conversation: list[str] = []
    for name, entry in composed.items():
        text = entry.get("text") if isinstance(entry, dict) else None
        if text and name not in NOT_TOOL_PROVIDERS:
            (world if positions.get(name, 0) < 0 else conversation).append(str(text))
    return world, conversation


def _as_dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _call_key(call: ToolCall) -> str:
    return call.name + json.dumps(call.arguments, sort_keys=True, default=str)


class ToolLoopReasoner:
    name = "tools"

    def __init__(self, *, limits: LoopLimits | None = None, mode: CallingMode | None = None) -> None:
        self.limits = limits or LoopLimits()
        self.mode = mode

    # --- set-up ----------------------------------------------------------------------------------------

    def calling_mode(self, turn: Turn) -> CallingMode:
        if self.mode is not None:
            return self.mode
        setting = str(turn.runtime.get_setting("TOOL_CALLING") or "auto").lower()
        if setting in ("native", "json"):
            return setting  # type: ignore[return-value]
        provider = turn.runtime.models.provider_for(ModelType.TEXT_LARGE)
        return "native" if provider is not None and provider.native_tools else "json"

    async def _tools(self, turn: Turn) -> list[Action]:
        rt = turn.runtime
        return [
            a
            for a in rt.actions
            if a.name not in NOT_TOOLS and await a.is_valid(rt, turn.message, turn.state)
        ]

    def _system(self, turn: Turn, tools: list[ToolSpec], mode: CallingMode, world: list[str]) -> str:
        """The part of the prompt that stays the same through a conversation: who the agent is, the world
        (providers placed before 0), how to use the tools and the tool listing. Keeping it byte-stable and
        first lets a local model reuse its KV cache across turns (only the conversation is new each time)."""
        c = turn.runtime.character
        intro = c.system or f"You are {c.name}."
        parts = [*([] if any(intro in t for t in world) else [intro]), *world]
        parts.append(
            "Use the tools when they help. Call several tools at once when the calls do not depend on each "
            "other. When you have what you need, answer the user directly and concisely."
        )
        if mode == "json" and tools:
            listing = "\n".join(
                f"- {t.name}: {t.description} arguments schema: "
                f"{json.dumps(t.parameters, separators=(',', ':'))}"
                for t in tools
            )
            parts.append(
                "# Tools\n" + listing + '\n\nAnswer with one JSON object: {"thought": str, "tool_calls": '
                '[{"tool": name, "arguments": {...}}], "final_answer": str}. To call tools, list them in '
                "tool_calls and leave final_answer empty. To finish, give an empty tool_calls list and the "
                "answer in final_answer."
            )
        return "\n\n".join(p for p in parts if p)

    @staticmethod
    def _opening(turn: Turn, conversation: list[str]) -> list[ChatMessage]:
        """The per-turn context (providers placed at 0 or later: time, tool history, the conversation so far)
        as its own message after the stable system prompt, then the message to answer, alone and last."""
        context = "\n\n".join(conversation)
        text = turn.message.content.text or ""
        last = ChatMessage("user", text)
        return [ChatMessage("user", context), last] if context and context != text else [last]

    # --- the loop --------------------------------------------------------------------------------------

    async def run(self, turn: Turn) -> TurnOutcome:
        actions = await self._tools(turn)
        tools = [action_tool(a) for a in actions]
        mode = self.calling_mode(turn)
        world, conversation = _provider_texts(turn)
        messages: list[ChatMessage] = [
            ChatMessage("system", self._system(turn, tools, mode, world)),
            *self._opening(turn, conversation),
        ]
        seen: dict[str, str] = {}
        used_tokens = 0
        calls_made = 0
        context = ActionContext(previous_results=turn.action_results, step_names=turn.action_names)
        answer_now = False
        for _step in range(self.limits.max_steps):
            # A step whose calls were all refused repeats means the model is circling: the next request
            # offers no tools, so it must answer with what it has instead of burning the step budget.
            result = await self._ask(turn, messages, [] if answer_now else tools, mode)
            if result.usage:
                used_tokens += result.usage.total_tokens
            calls, final, thought = self._decode(result, mode, actions)
            if not calls and not final.strip() and calls_made and not answer_now:
                # Tools ran but the model closed with nothing to say: ask once more, answer only.
                answer_now = True
                messages.append(ChatMessage("assistant", result.text or "(no answer)"))
                messages.append(ChatMessage("user", "Now write your answer to the user from the results."))
                continue
            if not calls:
                return await self._finish(turn, final, thought)
            if self.limits.max_tokens is not None and used_tokens >= self.limits.max_tokens:
                return await self._stop(turn, f"the token budget ({self.limits.max_tokens}) was used up")
            if calls_made + len(calls) > self.limits.max_tool_calls:
                return await self._stop(
                    turn, f"the tool-call budget ({self.limits.max_tool_calls}) was used up"
                )
            calls_made += len(calls)
            answer_now = all(_call_key(c) in seen for c in calls)
            outputs = await self._execute(turn, calls, actions, seen, context)
            self._append(messages, mode, result, calls, outputs, thought)
        return await self._stop(turn, f"the step limit ({self.limits.max_steps} model turns) was reached")

    async def _ask(
        self, turn: Turn, messages: list[ChatMessage], tools: list[ToolSpec], mode: CallingMode
    ) -> TextResult:
        if mode == "native":
            request = TextRequest(
                messages=list(messages), tools=tools or None, tool_choice="auto" if tools else None,
                on_token=turn.stream,
            )
        else:
            request = TextRequest(messages=list(messages), response_schema=next_step_schema(tools))
        return await turn.runtime.generate(ModelType.TEXT_LARGE, request)

    def _decode(
        self, result: TextResult, mode: CallingMode, actions: list[Action]
    ) -> tuple[list[ToolCall], str, str]:
        if mode == "native" or result.tool_calls:
            return result.tool_calls, result.text, ""
        found = extract_json_text(result.text)
        if found is None:
            return [], result.text.strip(), ""
        try:
            obj = json.loads(found)
        except json.JSONDecodeError:
            return [], result.text.strip(), ""
        if not isinstance(obj, dict):
            return [], result.text.strip(), ""
        raw_calls = obj.get("tool_calls") or []
        if isinstance(obj.get("tool"), str):  # a bare single call object
            raw_calls = [obj]
        calls = [
            ToolCall(
                id=f"call_{new_uuid()[:8]}",
                name=str(c.get("tool") or c.get("name")),
                arguments=_as_dict(c.get("arguments")),
            )
            for c in raw_calls
            if isinstance(c, dict) and (c.get("tool") or c.get("name"))
        ]
        return calls, str(obj.get("final_answer") or ""), str(obj.get("thought") or "")

    async def _execute(
        self,
        turn: Turn,
        calls: list[ToolCall],
        actions: list[Action],
        seen: dict[str, str],
        context: ActionContext,
    ) -> list[str]:
        """Run one turn's calls concurrently; each failure becomes an error result the model will see."""
        reaching = [c for c in calls if _call_key(c) not in seen and find_action(actions, c.name) is not None]
        await self.before_tool_batch(turn, reaching)
        try:
            return await self._run_batch(turn, calls, actions, seen, context)
        finally:
            await self.after_tool_batch(turn)

    async def before_tool_batch(self, turn: Turn, calls: list[ToolCall]) -> None:
        """Hook: the calls of one model turn that will really execute (known tools, not refused repeats),
        announced before any of them starts. Harnesses that must see a turn's calls as one batch (tau2)
        override this instead of the loop."""

    async def after_tool_batch(self, turn: Turn) -> None:
        """Hook: the batch announced by :meth:`before_tool_batch` has finished (or failed)."""

    async def _run_batch(
        self,
        turn: Turn,
        calls: list[ToolCall],
        actions: list[Action],
        seen: dict[str, str],
        context: ActionContext,
    ) -> list[str]:
        outputs: list[str] = [""] * len(calls)
        results: list[ActionResult | None] = [None] * len(calls)

        async def one(i: int, call: ToolCall) -> None:
            key = _call_key(call)
            if key in seen:
                outputs[i] = (
                    "REFUSED: this exact call was already made in this run; its result was: "
                    + seen[key]
                    + ". Use it instead of calling again."
                )
                return
            action = find_action(actions, call.name)
            if action is None:
                result = ActionResult(success=False, error=f"unknown tool {call.name!r}")
            else:
                options = ActionOptions(action_context=context, parameters=dict(call.arguments))
                timeout = action.timeout_s or self.limits.tool_timeout_s
                with anyio.move_on_after(timeout) as scope:
                    result = await run_action(
                        turn.runtime,
                        action,
                        turn.message,
                        turn.state,
                        options,
                        turn.callback,
                        run_id=turn.run_id,
                    )
                if scope.cancelled_caught:
                    result = ActionResult(
                        success=False, error=f"tool {call.name} timed out after {timeout:g}s"
                    )
            results[i] = result
            outputs[i] = _result_text(result)
            seen[key] = outputs[i]

        async with anyio.create_task_group() as tg:
            for i, call in enumerate(calls):
                tg.start_soon(one, i, call)
        for call, result in zip(calls, results, strict=True):
            if result is not None:
                turn.action_results.append(result)
                turn.action_names.append(call.name)
        await self._record(turn, calls, outputs, results)
        return outputs

    async def _record(
        self, turn: Turn, calls: list[ToolCall], outputs: list[str], results: list[ActionResult | None]
    ) -> None:
        """Store each call as an ``actions`` memory so providers, evaluators and later turns can see it."""
        rt = turn.runtime
        for call, output, result in zip(calls, outputs, results, strict=True):
            memory = Memory(
                id=new_uuid(),
                entity_id=rt.agent_id,
                agent_id=rt.agent_id,
                room_id=turn.message.room_id,
                world_id=turn.message.world_id,
                created_at=now_ms(),
                content=Content(
                    text=output,
                    actions=[call.name],
                    in_reply_to=turn.message.id,
                    source="tool",
                    toolCallId=call.id,
                    arguments=call.arguments,
                    success=bool(result and result.success),
                    runId=turn.run_id,
                ),
                metadata=MemoryMetadata(type="custom", source="tool"),
            )
            await rt.store.memories.create(memory, "actions")

    def _append(
        self,
        messages: list[ChatMessage],
        mode: CallingMode,
        result: TextResult,
        calls: list[ToolCall],
        outputs: list[str],
        thought: str,
    ) -> None:
        if mode == "native":
            messages.append(ChatMessage("assistant", result.text or None, tool_calls=calls))
            for call, output in zip(calls, outputs, strict=True):
                messages.append(ChatMessage("tool", output, tool_call_id=call.id, name=call.name))
            return
        asked = json.dumps(
            {
                "thought": thought,
                "tool_calls": [{"tool": c.name, "arguments": c.arguments} for c in calls],
                "final_answer": "",
            }
        )
        messages.append(ChatMessage("assistant", asked))
        lines = [
            f"- {c.name}({json.dumps(c.arguments, ensure_ascii=False)}) -> {o}"
            for c, o in zip(calls, outputs, strict=True)
        ]
        messages.append(
            ChatMessage(
                "user",
                "Tool results:\n"
                + "\n".join(lines)
                + "\nContinue: call more tools if needed, otherwise give the final answer.",
            )
        )

    async def _finish(self, turn: Turn, text: str, thought: str) -> TurnOutcome:
        names = list(dict.fromkeys(turn.action_names))
        content = Content(thought=thought or None, text=text, actions=["REPLY", *names])
        if text:
            await turn.callback(Content(thought=thought or None, text=text, actions=["REPLY"]))
        return TurnOutcome(content=content, mode="tools", action_results=list(turn.action_results))

    async def _stop(self, turn: Turn, why: str) -> TurnOutcome:
        done = [
            f"{n}: {'ok' if r.success else 'failed'}"
            for n, r in zip(turn.action_names, turn.action_results, strict=False)
        ]
        text = f"I stopped before finishing because {why}."
        if done:
            text += " Tool calls made: " + "; ".join(done[-8:]) + "."
        content = Content(text=text, actions=["REPLY"])
        await turn.callback(content)
        return TurnOutcome(content=content, mode="tools", action_results=list(turn.action_results))
