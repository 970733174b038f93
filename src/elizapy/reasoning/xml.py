"""The ElizaOS-compatible single-shot reasoner.

One TEXT_LARGE call with the message-handler template; the model answers
``<response><thought/><actions/><providers/><text/></response>``. ``[REPLY]`` alone is sent directly (one
model
call per simple reply); otherwise actions run **sequentially** in the listed order, each seeing earlier
results
(``options.action_context.previous_results``) and their ``values`` merged into its state — exactly the TS
contract, so ElizaOS templates and plugins behave the same here.
"""

from __future__ import annotations

import logging
import re

from ..models.base import TextRequest
from ..runtime.actions import find_action, run_action
from ..runtime.plugin import ActionContext, ActionOptions
from ..runtime.reasoner import Turn, TurnOutcome
from ..runtime.templates import DEFAULT_TEMPLATES, render
from ..types import ActionResult, Content, Memory, ModelType, State
from .streaming import XmlTextStreamer
from .xml_parse import parse_key_value_xml

log = logging.getLogger("elizapy.reasoning.xml")

_PLAIN_PREFIX = re.compile(r"^(?:\*\*)?(?:REPLY|RESPONSE|TEXT|ANSWER)(?:\*\*)?\s*:\s*", re.IGNORECASE)
SIMPLE_ACTIONS = frozenset({"REPLY", "NONE"})
SILENT_ACTIONS = frozenset({"IGNORE"})


class XmlReasoner:
    name = "xml"

    def __init__(self, *, max_retries: int = 3) -> None:
        self.max_retries = max_retries

    async def plan(self, turn: Turn) -> Content | None:
        rt = turn.runtime
        template = (rt.character.templates or {}).get("messageHandlerTemplate") or DEFAULT_TEMPLATES[
            "messageHandlerTemplate"
        ]
        prompt = render(template, turn.state.values)
        raw = ""
        for attempt in range(self.max_retries):
            streamer = XmlTextStreamer(turn.stream) if turn.stream is not None and attempt == 0 else None
            request = TextRequest(prompt=prompt, on_token=streamer.feed if streamer else None)
            raw = (await rt.generate(ModelType.TEXT_LARGE, request)).text
            content = self._content(raw)
            if content is not None:
                return content
        log.warning("no usable XML after %d attempts: %r", self.max_retries, raw[:200])
        return None

    @staticmethod
    def _content(raw: str) -> Content | None:
        parsed = parse_key_value_xml(raw)
        if parsed and (parsed.get("actions") or parsed.get("text")):
            actions = parsed.get("actions") or []
            text = str(parsed.get("text", ""))
            if not actions:
                actions = ["REPLY"] if text else ["IGNORE"]
            extra = {k: v for k, v in parsed.items() if k not in ("thought", "actions", "providers", "text")}
            return Content(
                thought=str(parsed.get("thought", "")),
                actions=[str(a) for a in actions],
                providers=[str(p) for p in parsed.get("providers") or []],
                text=text,
                **extra,
            )
        plain = _PLAIN_PREFIX.sub("", raw.strip()).strip()
        if plain and "<" not in plain:
            # Small local models sometimes answer in plain prose; retrying costs a whole generation and
            # rarely does better, so the prose is the reply.
            log.info("model answered without XML; treating the text as a REPLY")
            return Content(thought="", actions=["REPLY"], providers=[], text=plain)
        return None

    async def run(self, turn: Turn) -> TurnOutcome:
        content = await self.plan(turn)
        if content is None:
            return TurnOutcome(content=None, mode="none")
        actions = [a.upper() for a in content.actions or []]
        if not actions or set(actions) <= SILENT_ACTIONS:
            return TurnOutcome(content=content, mode="none")
        if len(actions) == 1 and actions[0] in SIMPLE_ACTIONS:
            if content.text:
                await turn.callback(Content(thought=content.thought, text=content.text, actions=["REPLY"]))
            return TurnOutcome(content=content, mode="simple")
        results = await self.run_actions(turn, content)
        return TurnOutcome(content=content, mode="actions", action_results=results)

    async def run_actions(self, turn: Turn, content: Content) -> list[ActionResult]:
        rt = turn.runtime
        state = turn.state
        if content.providers:
            state = await rt.compose_state(turn.message, content.providers)
        planned = Memory(
            id=turn.message.id,
            entity_id=rt.agent_id,
            agent_id=rt.agent_id,
            room_id=turn.message.room_id,
            content=content,
        )
        context = ActionContext(previous_results=turn.action_results, step_names=turn.action_names)
        merged: dict[str, object] = {}
        for name in content.actions or []:
            if not turn.is_current():
                break
            action = find_action(rt.actions, name)
            if action is None or name.upper() in SILENT_ACTIONS:
                if action is None:
                    result = ActionResult(success=False, error=f"unknown action {name!r}")
                    turn.action_results.append(result)
                    turn.action_names.append(name)
                continue
            step_state = State(
                values={**state.values, **merged},
                data={**state.data, "actionResults": list(turn.action_results)},
                text=state.text,
            )
            result = await run_action(
                rt,
                action,
                turn.message,
                step_state,
                ActionOptions(action_context=context),
                turn.callback,
                [planned],
                run_id=turn.run_id,
            )
            turn.action_results.append(result)
            turn.action_names.append(action.name)
            if result.values:
                merged.update(result.values)
        return turn.action_results
