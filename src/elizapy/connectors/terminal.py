"""Terminal chat: the first connector. Reads lines, prints replies; works interactively or piped."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import anyio
from rich.console import Console
from rich.markup import escape

from ..models.factory import gateway_from_settings
from ..models.settings import SettingsSource
from ..runtime.plugin import Plugin
from ..runtime.runtime import AgentRuntime
from ..store.sqlite import SqliteStore
from ..tools import tool_sources_plugin
from ..types import Character
from .direct import Conversation

EXIT_WORDS = frozenset({"/exit", "/quit", "exit", "quit"})


async def run_terminal_chat(
    character: Character,
    *,
    env: dict[str, str],
    db_path: Path,
    user: str,
    room: str,
    console: Console,
    interactive: bool,
    plugins: Sequence[Plugin] = (),
) -> None:
    settings = SettingsSource(
        character_settings=dict(character.settings or {}),
        character_secrets=dict(character.secrets or {}),
        env=env,
    )
    t0 = time.perf_counter()
    gateway = gateway_from_settings(settings, cache_dir=env.get("ELIZAPY_CACHE_DIR"))
    runtime = AgentRuntime(
        character, store=SqliteStore(db_path), models=gateway, env=env,
        plugins=[tool_sources_plugin(), *plugins],
    )
    await runtime.initialize()
    conv = Conversation(runtime, user_name=user, room_name=room, source="terminal")
    earlier = await conv.history(count=6)
    name = character.name
    if interactive:
        console.print(
            f"[bold]{name}[/] is ready ({(time.perf_counter() - t0):.1f}s). "
            f"Type a message, or /exit to leave.",
            highlight=False,
        )
        for m in earlier:
            who = name if m.entity_id == runtime.agent_id else user
            console.print(f"[dim]{escape(who)}: {escape(m.content.text or '')}[/]", highlight=False)
    streamed: list[str] = []
    status = console.status(f"{name} is thinking…", spinner="dots")

    async def on_chunk(chunk: str) -> None:
        # Interactive sessions show the reply as the model writes it; piped output stays one line per reply.
        if not streamed:
            status.stop()
            console.print(f"[bold cyan]{escape(name)}:[/] ", end="", highlight=False)
        streamed.append(chunk)
        console.print(escape(chunk), end="", highlight=False, soft_wrap=True)

    if interactive:
        conv.stream = on_chunk
    try:
        while True:
            line = await anyio.to_thread.run_sync(_read_line, interactive, user)
            if line is None or line.strip() in EXIT_WORDS:
                break
            if not line.strip():
                continue
            streamed.clear()
            if interactive:
                status.start()
            try:
                result = await conv.send(line.strip())
            finally:
                status.stop()
            if streamed:
                console.print()
            if result.error:
                console.print(f"[red]({escape(result.error)})[/]", highlight=False)
            elif not result.responses:
                console.print(f"[dim]({escape(name)} chose not to answer)[/]", highlight=False)
            for m in result.responses[1 if streamed else 0 :]:
                console.print(
                    f"[bold cyan]{escape(name)}:[/] {escape(m.content.text or '')}",
                    highlight=False,
                    soft_wrap=True,
                )
    finally:
        await runtime.stop()
        await runtime.store.close()


def _read_line(interactive: bool, user: str) -> str | None:
    try:
        if interactive:
            return input(f"{user}> ")
        line = sys.stdin.readline()
        return line if line else None
    except EOFError:
        return None
