"""Prompt templates and the ``{{variable}}`` renderer.

The default templates are our own wording; what must match ElizaOS is the *contract*: the template names a
character may override (``templates.messageHandlerTemplate``, ``templates.shouldRespondTemplate``,
``templates.replyTemplate``), the variables they can use (any ``state.values`` key, e.g. ``{{agentName}}``,
``{{providers}}``, ``{{actionNames}}``) and the XML the model answers with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_VAR = re.compile(r"\{\{\{?\s*([A-Za-z_][\w.]*)\s*\}?\}\}")


def render(template: str, values: Mapping[str, Any]) -> str:
    """Replace ``{{name}}`` / ``{{{name}}}`` (dotted paths allowed) with values; unknown names become ''."""

    def sub(m: re.Match[str]) -> str:
        cur: Any = values
        for part in m.group(1).split("."):
            if isinstance(cur, Mapping) and part in cur:
                cur = cur[part]
            else:
                return ""
        if cur is None:
            return ""
        if isinstance(cur, list | tuple):
            return ", ".join(str(x) for x in cur)
        return str(cur)

    return _VAR.sub(sub, template)


MESSAGE_HANDLER_TEMPLATE = """<task>You are {{agentName}}. Decide how {{agentName}} answers the latest message and which actions to run.</task>

<providers>
{{providers}}
</providers>

<instructions>
Think briefly about the conversation and what {{agentName}} should do next.
- Choose actions from the available actions above, in the order they must run. Plain answers use REPLY.
- When other actions are needed, put REPLY first to acknowledge, then the actions.
- Use IGNORE alone when {{agentName}} should stay silent.
- List providers only if more context is needed to answer well (for example ENTITIES, FACTS, KNOWLEDGE); otherwise leave the list empty.
- Put code in fenced code blocks with the language named.
</instructions>

<output>
Answer with exactly one XML block and nothing before or after it:
<response>
    <thought>one or two sentences of reasoning</thought>
    <actions>REPLY</actions>
    <providers></providers>
    <text>what {{agentName}} says</text>
</response>
</output>"""

SHOULD_RESPOND_TEMPLATE = """<task>Decide whether {{agentName}} should answer the latest message in this group conversation.</task>

<providers>
{{providers}}
</providers>

<rules>
- RESPOND when {{agentName}} is addressed by name, asked something, or clearly expected to take part.
- IGNORE when the message is meant for someone else, is small talk between others, or needs no answer.
- STOP when someone asks {{agentName}} to stop talking or leave the conversation.
</rules>

<output>
Answer with exactly one XML block and nothing else:
<response>
    <name>{{agentName}}</name>
    <reasoning>a short reason</reasoning>
    <action>RESPOND</action>
</response>
The action must be RESPOND, IGNORE or STOP.
</output>"""

REPLY_TEMPLATE = """<task>Write {{agentName}}'s reply to the latest message, using the results of the actions that just ran.</task>

<providers>
{{providers}}
</providers>

<output>
Answer with exactly one XML block and nothing else:
<response>
    <thought>one sentence of reasoning</thought>
    <text>the reply</text>
</response>
</output>"""

DEFAULT_TEMPLATES: dict[str, str] = {
    "messageHandlerTemplate": MESSAGE_HANDLER_TEMPLATE,
    "shouldRespondTemplate": SHOULD_RESPOND_TEMPLATE,
    "replyTemplate": REPLY_TEMPLATE,
}
