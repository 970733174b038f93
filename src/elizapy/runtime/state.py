"""State composition: run providers (in parallel, isolated), merge their values, join their text.

State is cached *per message id* (as TS does), never per room: the official Python port keyed it by room, so a
second turn reused the first turn's context. Asking for more providers for the same message reuses cached
provider results and runs only the missing ones.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio

from ..types import Memory, State
from .plugin import Provider, ProviderResult, call_flexible, coerce_provider_result

if TYPE_CHECKING:
    from .runtime import AgentRuntime

log = logging.getLogger("elizapy.state")

_CACHE_SIZE = 256


class StateComposer:
    def __init__(self, runtime: AgentRuntime) -> None:
        self._runtime = runtime
        self._cache: OrderedDict[str, dict[str, ProviderResult]] = OrderedDict()

    def forget(self, message_id: str | None) -> None:
        if message_id:
            self._cache.pop(message_id, None)

    def _select(self, include: Sequence[str] | None, only_include: bool) -> list[Provider]:
        providers = self._runtime.providers
        wanted = {n.upper() for n in include or ()}
        if only_include:
            chosen = [p for p in providers if p.name.upper() in wanted]
        else:
            chosen = [p for p in providers if (not p.private and not p.dynamic) or p.name.upper() in wanted]
        return sorted(chosen, key=lambda p: p.position)

    async def compose(
        self,
        message: Memory,
        include: Sequence[str] | None = None,
        *,
        only_include: bool = False,
        skip_cache: bool = False,
        extra_values: dict[str, Any] | None = None,
    ) -> State:
        chosen = self._select(include, only_include)
        key = message.id or ""
        cached = None if skip_cache or not key else self._cache.get(key)
        results: dict[str, ProviderResult] = dict(cached) if cached else {}
        todo = [p for p in chosen if p.name not in results]
        if todo:
            partial = State(values={**self._base_values(), **(extra_values or {})})
            if len(todo) == 1:
                results[todo[0].name] = await self._run(todo[0], message, partial)
            else:
                fresh: dict[str, ProviderResult] = {}

                async def run_one(p: Provider) -> None:
                    fresh[p.name] = await self._run(p, message, partial)

                async with anyio.create_task_group() as tg:
                    for p in todo:
                        tg.start_soon(run_one, p)
                results.update(fresh)
        if key and not skip_cache:
            self._cache[key] = results
            self._cache.move_to_end(key)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return self._assemble(chosen, results, extra_values)

    def _base_values(self) -> dict[str, Any]:
        c = self._runtime.character
        return {"agentName": c.name, "agentId": self._runtime.agent_id}

    def _assemble(
        self,
        chosen: Sequence[Provider],
        results: dict[str, ProviderResult],
        extra_values: dict[str, Any] | None,
    ) -> State:
        values: dict[str, Any] = self._base_values()
        data: dict[str, Any] = {"providers": {}}
        texts: list[str] = []
        for p in chosen:
            r = results.get(p.name)
            if r is None:
                continue
            if r.values:
                values.update(r.values)
            data["providers"][p.name] = {"text": r.text, "values": r.values, "data": r.data}
            if r.text:
                texts.append(r.text)
        if extra_values:
            values.update(extra_values)
        text = "\n\n".join(texts)
        values["providers"] = text
        return State(values=values, data=data, text=text)

    async def _run(self, provider: Provider, message: Memory, state: State) -> ProviderResult:
        """A provider that raises or hangs is isolated: logged, reported as an error event, skipped."""
        timeout = self._runtime.provider_timeout_s
        try:
            with anyio.fail_after(timeout):
                raw = await call_flexible(provider.get, self._runtime, message, state)
            return coerce_provider_result(raw)
        except Exception as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else repr(exc)
            log.warning("provider %s failed: %s", provider.name, reason)
            self._runtime.report_error("provider", provider.name, exc, message)
            return ProviderResult(data={"error": reason})
